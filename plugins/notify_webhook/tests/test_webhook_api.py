"""Subscriptions managed over HTTP: the same actions as ``crmkit webhook``,
administrators only, the secret shown once in the answer."""
import pytest

pytest.importorskip("crmkit_web")
from crmkit_web.testing import Client, Server, make_token  # noqa: E402


@pytest.fixture
def api(db_url, crm, tmp_path):
    crm.create("core.user", {"login": "boss", "name": "Boss", "roles": "administrator"})
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    tokens = {login: make_token(crm, login) for login in ("boss", "orlov")}
    crm.close()
    server = Server(db_url, workers=1, log=tmp_path / "server.log")
    yield {login: Client(f"{server.base}/api/v1", token) for login, token in tokens.items()}
    server.stop()


def test_subscriptions_over_http(api):
    boss, orlov = api["boss"], api["orlov"]
    base = "/notify_webhook.subscription"
    body = {"url": "https://erp.example.com/crm-hook", "events": "deals.deal.won, core.partner.*"}
    assert orlov.post(f"{base}/actions/notify_webhook.subscribe", body).status == 403
    bad = boss.post(f"{base}/actions/notify_webhook.subscribe", {**body, "events": "core.nothing.happened"})
    assert bad.status == 422 and "events" in bad.body.decode()
    r = boss.post(f"{base}/actions/notify_webhook.subscribe", body)
    assert r.status == 200, r
    sub = r.json["result"]
    assert sub["secret"].startswith("whsec_")
    assert sub["secret"] not in boss.get(f"{base}/{sub['id']}").body.decode()      # shown once, never again
    r = boss.post(f"{base}/{sub['id']}/actions/notify_webhook.rotate_secret", {"grace": 1})
    assert r.status == 200 and r.json["result"]["secret"] != sub["secret"]
    r = boss.post(f"{base}/{sub['id']}/actions/notify_webhook.disable", {"reason": "maintenance"})
    assert r.status == 200 and r.json["result"]["record"]["active"] is False
    assert orlov.post(f"{base}/{sub['id']}/actions/notify_webhook.enable", {}).status in (403, 404)
    assert boss.post(f"{base}/{sub['id']}/actions/notify_webhook.remove", {}).status == 200
    assert boss.get(f"{base}/{sub['id']}").status == 404
