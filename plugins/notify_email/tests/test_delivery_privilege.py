"""Who may deliver what: every delivery path, as a marketer, a readonly
user and an administrator. ``outbox deliver`` sends everyone's messages and
is for administrators; a marketer's ``mailing send --deliver`` (and
``mailing test --deliver``) sends that mailing's messages and nothing else."""
import pytest

import crmkit

pytestmark = pytest.mark.plugins("marketing", "notify_email", "notify_sms")


@pytest.fixture
def world(crm, smtp_server, monkeypatch):
    from crmkit_marketing.api import subscribe
    monkeypatch.setenv("CRMKIT_SMS_URL", "http://127.0.0.1:9/nowhere")   # nothing listens: a retry if tried
    crm.create("core.user", {"login": "mk", "name": "Marketer", "roles": "marketer"})
    crm.create("core.user", {"login": "ro", "name": "Readonly", "roles": "readonly"})
    partner = crm.create("core.partner", {"name": "Дальстрой"})
    crm.create("core.contact_info", {"partner": partner.id, "kind": "email", "value": "info@dalstroy.example"})
    group = crm.create("marketing.mailing_group", {"name": "Новости", "mode": "subscription"})
    template = crm.create("marketing.template", {"name": "Новость", "purpose": "mailing", "group": group.id,
                                                 "subject": "Новости", "body_text": "Текст"})
    subscribe(crm, group.id, "email", partner=partner.id, method="web form")
    mine = crm.create("marketing.mailing", {"name": "Моя", "group": group.id, "template": template.id,
                                            "audience": "subscribers"})
    # the rest of the outbox: a claims notice, another user's mailing, the SMS queue
    others = [crm.outbox.queue("email", "claims@client.example", subject="Претензия", text="t",
                               source="claims.claim:1", key="claim-notice"),
              crm.outbox.queue("email", "other@client.example", subject="Чужая", text="t",
                               source="marketing.mailing:999", key="other-mailing"),
              crm.outbox.queue("sms", "+79161234567", text="Заказ", source="deals.deal:1", key="sms")]
    return crm, mine, others


def _untouched(crm, others):
    for message in others:
        stored = crm.outbox.get(message.id)
        assert (stored.state, stored.attempts) == ("queued", 0), stored.source


def test_outbox_verbs_are_for_administrators(world, cli):
    crm, mine, others = world
    for user in ("mk", "ro"):
        for args in (("outbox", "deliver"), ("outbox", "deliver", "--channel", "sms"), ("outbox", "retry"),
                     ("outbox", "purge", "--days", "1"), ("email", "test", "x@client.example"),
                     ("sms", "test", "+79161234567", "hi")):
            result = cli(*args, user=user)
            assert result.exit_code != 0 and "administrator" in result.output, (user, args, result.output)
        with pytest.raises(crmkit.AccessDenied):
            crm.as_user(user).outbox.deliver()
        with pytest.raises(crmkit.AccessDenied):   # naming a source does not widen the right
            crm.as_user(user).outbox.deliver(source="claims.claim:1")
    _untouched(crm, others)


def test_a_marketers_send_deliver_sends_only_that_mailing(world, cli, smtp_server):
    crm, mine, others = world
    result = cli("marketing", "mailing", "test", str(mine.id), "me@shop.example", "--deliver", user="mk")
    assert result.exit_code == 0 and "sent=1" in result.output, result.output
    result = cli("marketing", "mailing", "send", str(mine.id), "--deliver", user="mk")
    assert result.exit_code == 0, result.output
    recipients = sorted(rcpt for _, rcpts in smtp_server.handler.envelopes for rcpt in rcpts)
    assert recipients == ["info@dalstroy.example", "me@shop.example"]
    _untouched(crm, others)
    from crmkit_marketing import mailings
    assert mailings.status(crm, mine.id)["sent"] == 1


def test_readonly_cannot_deliver_a_mailing(world, cli):
    crm, mine, others = world
    from crmkit_marketing import mailings
    with pytest.raises(crmkit.AccessDenied):
        mailings.deliver(crm.as_user("ro"), mine.id)
    _untouched(crm, others)


def test_the_administrators_outbox_deliver_sends_everything(world, cli, smtp_server):
    crm, mine, others = world
    result = cli("outbox", "deliver")
    assert result.exit_code == 0 and "sent=2" in result.output and "retry=1" in result.output, result.output
