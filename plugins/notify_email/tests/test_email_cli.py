"""The command line: outbox and email groups, and the demo."""
import json
from pathlib import Path

import pytest


pytestmark = pytest.mark.plugins("notify_email")
MAIL = Path(__file__).with_name("mail")


def test_outbox_list_deliver_retry_purge(crm, cli, smtp_server):
    smtp_server.handler.rcpt_script = ["550 5.1.1 unknown user"]
    crm.outbox.queue("email", "gone@client.example", subject="one", text="t", key="c1")
    crm.outbox.queue("email", "ok@client.example", subject="two", text="t", key="c2")
    result = cli("outbox", "deliver")
    assert result.exit_code == 0 and "sent=1" in result.output and "failed=1" in result.output
    rows = json.loads(cli("outbox", "list", "--state", "failed", "--format", "json").output)
    assert [r["recipient"] for r in rows] == ["gone@client.example"]
    assert rows[0]["last_error"].startswith("hard bounce: 550")
    assert "requeued 1 messages" in cli("outbox", "retry", rows[0]["id"]).output
    assert "sent=1" in cli("outbox", "deliver").output
    assert len(smtp_server.handler.received) == 2
    assert "nothing to purge" in cli("outbox", "purge", "--yes").output
    assert "deleted 0 older than 30 days" in cli("outbox", "purge", "--days", "30", "--yes").output
    assert "deleted 2 older than 0 days" in cli("outbox", "purge", "--days", "0", "--yes").output
    assert cli("outbox", "list").output.strip() == "(nothing)"


def test_outbox_purge_follows_retention_rules_of_other_plugins(crm):
    from crmkit import hookimpl
    from crmkit_notify_email.retention import purge

    class Marketing:
        @hookimpl
        def crmkit_outbox_retention(self, crm):
            return [("marketing.mailing:1", 0)]

    crm.pm.register(Marketing(), name="fake_marketing")
    try:
        for key, source in (("m1", "marketing.mailing:1"), ("o1", "claims.claim:3")):
            msg = crm.outbox.queue("email", "a@b.example", subject="s", text="t", key=key, source=source)
            type(msg).update(state="sent").where(type(msg).id == msg.id).execute()
        assert purge(crm) == {"marketing.mailing:1": (0, 1)}
        assert [m.source for m in crm.outbox.messages()] == ["claims.claim:3"]
        # a general --days never undercuts a rule asking to keep longer
        crm.pm.unregister(name="fake_marketing")
    finally:
        if crm.pm.get_plugin("fake_marketing"):
            crm.pm.unregister(name="fake_marketing")


def test_outbox_commands_need_an_administrator(crm, cli):
    crm.create("core.user", {"login": "orlov", "name": "Orlov", "roles": "manager"})
    result = cli("outbox", "deliver", user="orlov")
    assert result.exit_code == 1 and "administrators only" in result.output
    assert cli("outbox", "purge", "--days", "1", "--yes", user="orlov").exit_code == 1


def test_email_settings_mask_secrets(cli, monkeypatch, smtp_env):
    monkeypatch.setenv("CRMKIT_SMTP_USER", "robot")
    monkeypatch.setenv("CRMKIT_SMTP_PASSWORD", "s3cr3t-pass")
    monkeypatch.setenv("CRMKIT_IMAP_PASSWORD", "imap-secret")
    result = cli("email", "settings")
    assert result.exit_code == 0
    assert "s3cr3t" not in result.output and "imap-secret" not in result.output
    assert "********" in result.output and "robot" in result.output and str(smtp_env) in result.output


def test_bad_settings_are_named(cli, monkeypatch):
    monkeypatch.setenv("CRMKIT_SMTP_SECURITY", "tls-please")
    result = cli("email", "settings")
    assert result.exit_code == 1 and "security" in result.output
    monkeypatch.setenv("CRMKIT_SMTP_SECURITY", "plain")
    monkeypatch.setenv("CRMKIT_SMTP_PORT", "twenty-five")
    result = cli("email", "settings")
    assert result.exit_code == 1 and "port" in result.output


def test_email_test_sends_one_message(cli, smtp_server):
    result = cli("email", "test", "me@shop.example", "--subject", "ping")
    assert result.exit_code == 0 and "sent <crmkit.0." in result.output
    [mail] = smtp_server.handler.parsed()
    assert str(mail["Subject"]) == "ping"


def test_email_fetch_unknown_assign(crm, cli):
    partner = crm.create("core.partner", {"name": "Альтаир", "kind": "company"})
    assert cli("email", "fetch").exit_code == 2           # no folder given
    result = cli("email", "fetch", "--folder", str(MAIL))
    assert result.exit_code == 0 and "unknown=" in result.output and "malformed=1" in result.output
    rows = json.loads(cli("email", "unknown", "--format", "json").output)
    senders = {r["sender"] for r in rows}
    assert "stranger@nowhere.example" in senders
    stranger = next(r for r in rows if r["sender"] == "stranger@nowhere.example")
    result = cli("email", "assign", stranger["id"], partner.code)
    assert result.exit_code == 0 and "registered as interaction" in result.output
    [record] = crm.find("core.interaction", external_id="<s1@nowhere.example>")
    assert record.partner_id == partner.id
    assert cli("email", "assign", stranger["id"], partner.code).exit_code == 1


def test_demo(crm):
    from crmkit.core.demo import load as core_demo
    from crmkit_notify_email.demo import load
    core_demo(crm)
    assert load(crm) == []
    dal = crm.get("core.partner", "00-00000035")
    [forum] = crm.find("core.interaction", external_id="<forum-1@dalstroy.example>")
    assert forum.partner_id == dal.id and forum.contact.name == "Смирнов Олег Иванович"
    assert forum.topic == "Бизнес-форум 1С:ERP 2015" and forum.responsible.login == "orlov"
    [reply] = crm.find("core.interaction", external_id="<price-reply@electromarket.example>")
    assert reply.reply_to.topic == "Прайс-лист на ноябрь"
    assert reply.partner.code == "00-00000001" and "прайс-лист получили" in reply.text
    from crmkit_notify_email.incoming import visible_inbound
    assert [r.sender for r in visible_inbound(crm, "unknown")] == ["buyer@mail.example"]
