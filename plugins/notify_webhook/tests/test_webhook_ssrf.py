"""No delivery to loopback, private, link-local or reserved addresses unless
allowed; the address checked is the address connected to; no redirects."""
import ipaddress
import socket

import pytest

from crmkit import ValidationError
from crmkit_notify_webhook.transport import Pool, Refused, resolve

from webhook_fixtures import receiver, subscribe  # noqa: F401 (receiver: a fixture)

pytestmark = pytest.mark.plugins("notify_webhook")

REFUSED = ["http://127.0.0.1/", "http://127.8.9.10:8080/x", "http://[::1]/", "http://10.1.2.3/",
           "http://172.16.0.1/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/",
           "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/", "http://100.64.0.1/",
           "http://[fe80::1]/", "http://[fc00::1]/", "http://224.0.0.1/", "http://[64:ff9b::7f00:1]/",
           "http://localhost/", "http://2130706433/"]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_addresses_are_refused_without_the_allowance(url):
    with pytest.raises((Refused, OSError)):
        resolve(url, ())


def test_a_public_address_passes():
    assert resolve("https://93.184.216.34/hook", ()).address == "93.184.216.34"


def test_a_host_name_is_refused_when_any_address_it_resolves_to_is_internal():
    def resolver(host, port, *args):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]
    with pytest.raises(Refused, match="10.0.0.7"):
        resolve("https://mixed.example/hook", (), resolver=resolver)


def test_the_allowance_is_exactly_the_networks_named():
    from crmkit_notify_webhook.settings import parse_networks
    allowed = parse_networks("127.0.0.1/32, 10.1.0.0/16")
    assert resolve("http://127.0.0.1:9/", allowed).address == "127.0.0.1"
    assert resolve("http://10.1.200.3/", allowed).address == "10.1.200.3"
    for url in ("http://127.0.0.2/", "http://10.2.0.1/", "http://[::1]/", "http://169.254.169.254/"):
        with pytest.raises(Refused):
            resolve(url, allowed)
    with pytest.raises(ValidationError, match="not-a-net"):
        parse_networks("not-a-net")


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/",
                                 "http:///nohost", "http://exa mple.com/", "gopher://example.com/"])
def test_bad_urls_are_refused(url):
    with pytest.raises(Refused):
        resolve(url, ())


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(receiver):
    """DNS rebinding: the name resolves once (here to loopback, allowed); a
    second lookup would fail, since the name exists nowhere else."""
    def resolver(host, port, *args):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
    target = resolve(f"http://rebind.invalid:{receiver.port}/hook", (ipaddress.ip_network("127.0.0.1/32"),),
                     resolver=resolver)
    pool = Pool()
    try:
        resp = pool.post(target, b"{}", {"Content-Type": "application/json"}, connect_timeout=1, timeout=2,
                         max_response=100)
    finally:
        pool.close()
    assert resp.status == 200
    assert receiver.requests[0]["headers"]["Host"] == f"rebind.invalid:{receiver.port}"


def test_without_the_allowance_nothing_reaches_the_loopback_receiver(crm, receiver, monkeypatch):
    monkeypatch.setenv("CRMKIT_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32")
    subscribe(crm, receiver, "core.partner.created")
    monkeypatch.delenv("CRMKIT_WEBHOOK_ALLOW_NETWORKS")
    crm.create("core.partner", {"name": "P"})
    assert crm.outbox.deliver(channel="webhook")["failed"] == 1
    assert receiver.requests == []
    assert "loopback, private" in crm.outbox.messages(channel="webhook")[0].last_error


def test_a_url_naming_an_internal_address_is_refused_when_saved(crm, monkeypatch):
    monkeypatch.delenv("CRMKIT_WEBHOOK_ALLOW_NETWORKS", raising=False)
    for url in ("http://127.0.0.1/hook", "http://[::1]/hook", "http://169.254.169.254/"):
        with pytest.raises(ValidationError) as exc:
            crm.create("notify_webhook.subscription", {"url": url, "events": "*"})
        assert "url" in exc.value.errors
    assert crm.find("notify_webhook.subscription") == []


def test_a_redirect_to_an_internal_address_is_not_followed(crm, receiver):
    subscribe(crm, receiver, "core.partner.created")
    receiver.script = [{"status": 307, "headers": {"Location": "http://169.254.169.254/latest/meta-data/"}}]
    crm.create("core.partner", {"name": "P"})
    assert crm.outbox.deliver(channel="webhook")["failed"] == 1
    assert len(receiver.requests) == 1
    assert "redirects are not followed" in crm.outbox.messages(channel="webhook")[0].last_error
