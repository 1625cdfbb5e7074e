"""``crmkit webhook ...`` against a real receiver."""
import json
import re

import pytest

from crmkit_notify_webhook import signing

from webhook_fixtures import receiver  # noqa: F401 (a fixture)

pytestmark = pytest.mark.plugins("notify_webhook")


def test_add_list_test_disable_enable_rotate_remove(cli, crm, receiver):
    result = cli("webhook", "add", receiver.url, "--events", "core.partner.created", "--description", "ERP")
    assert result.exit_code == 0, result.output
    secret = re.search(r"whsec_\S+", result.output).group(0)
    signing.secret_key(secret)
    receiver.secrets.append(secret)
    listed = json.loads(cli("webhook", "list", "--format", "json").output)
    assert [(r["id"], r["url"], r["active"], r["owner"]) for r in listed] == [(1, receiver.url, True, "system")]
    assert secret not in cli("webhook", "list").output and secret not in cli("webhook", "show", "1").output
    assert secret not in cli("list", "notify_webhook.subscription", "--format", "json").output

    result = cli("webhook", "test", "1")
    assert result.exit_code == 0 and "delivered" in result.output
    assert receiver.all_valid() and receiver.bodies()[0]["type"] == "notify_webhook.ping"

    assert cli("webhook", "disable", "1", "--reason", "maintenance").exit_code == 0
    assert crm.get("notify_webhook.subscription", 1).disabled_reason == "maintenance"
    assert cli("webhook", "enable", "1").exit_code == 0
    assert crm.get("notify_webhook.subscription", 1).active

    rotated = cli("webhook", "rotate-secret", "1", "--grace", "0")
    new = re.search(r"whsec_\S+", rotated.output).group(0)
    assert new != secret
    receiver.secrets = [new]
    cli("webhook", "test", "1")
    assert receiver.requests[-1]["valid"] == [True]

    receiver.script = [{"status": 500}]
    failed = cli("webhook", "test", "1")
    assert failed.exit_code != 0 and "temporary" in failed.output and "500" in failed.output

    assert cli("webhook", "remove", "1").exit_code == 0
    assert crm.find("notify_webhook.subscription", include_marked=True) == []


def test_events_and_settings_are_listed(cli):
    rows = json.loads(cli("webhook", "events", "--format", "json").output)
    names = {r["event"] for r in rows}
    assert {"core.partner.created", "core.partner.updated", "core.partner.deleted"} <= names
    assert not any(n.startswith("notify_webhook.") for n in names)
    assert "CRMKIT_WEBHOOK_TIMEOUT" in cli("webhook", "settings").output


def test_bad_input_and_non_administrators(cli, crm):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    result = cli("webhook", "add", "https://example.com/h", "--events", "core.nothing.happened")
    assert result.exit_code != 0 and "events" in result.output and "matches no event" in result.output
    result = cli("webhook", "add", "https://example.com/h", "--events", "*", "--secret", "whsec_short")
    assert result.exit_code != 0 and "secret" in result.output
    assert crm.find("notify_webhook.subscription") == []
    for args in (("add", "https://example.com/h", "--events", "*"), ("list",), ("test", "1"),
                 ("rotate-secret", "1"), ("disable", "1")):
        result = cli("webhook", *args, user="orlov")
        assert result.exit_code != 0 and "administrator" in result.output, args
