"""Mailings, notifications, opt-outs at send time, unsubscribe tokens, template safety."""
import base64
import json

import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins("marketing")


@pytest.fixture
def base(mcrm):
    crm = mcrm
    p = {name: crm.create("core.partner", {"name": name}).id for name in ("Дальстрой", "Альтаир", "Протон")}
    crm.create("core.contact_info", {"partner": p["Дальстрой"], "kind": "email", "label": "office",
                                     "value": "Info@Dalstroy.example"})
    crm.create("core.contact_info", {"partner": p["Дальстрой"], "kind": "phone", "value": "+7 423 240-11-22"})
    crm.create("core.contact_info", {"partner": p["Альтаир"], "kind": "email", "value": "sales@altair.example"})
    crm.create("core.contact_info", {"partner": p["Протон"], "kind": "email", "value": "proton@proton.example"})
    group = crm.create("marketing.mailing_group", {"name": "Отмечаем юбилей", "mode": "subscription",
                                                   "partner_email_label": "office"})
    template = crm.create("marketing.template", {
        "name": "Приглашение", "purpose": "mailing", "group": group.id,
        "subject": "#ПредставлениеПартнера#, приглашаем на юбилей",
        "body_text": "Добрый день, #ПредставлениеПартнера#.\nОтписаться: #СсылкаОтписки#",
        "body_html": "<p>Добрый день, #ПредставлениеПартнера#.</p>"})
    from crmkit_marketing.api import subscribe
    subscribe(crm, group.id, "email", partner=p["Дальстрой"], method="web form")
    subscribe(crm, group.id, "email", partner=p["Альтаир"], method="web form")
    mailing = crm.create("marketing.mailing", {"name": "Юбилей", "group": group.id, "template": template.id,
                                               "audience": "subscribers"})
    return crm, p, group, template, mailing


def test_mailing_send_stats_and_list_unsubscribe(base, sent):
    crm, p, group, template, mailing = base
    from crmkit_marketing import mailings
    preview = mailings.preview(crm, mailing.id)
    assert [r["address"] for r in preview] == ["info@dalstroy.example", "sales@altair.example"]
    assert preview[0]["subject"] == "Дальстрой, приглашаем на юбилей"
    test = mailings.test_send(crm, mailing.id, "me@crmkit.example", partner=p["Протон"])
    assert test.subject == "Протон, приглашаем на юбилей" and test.source.startswith("marketing.mailing-test:")
    assert crm.get("marketing.mailing", mailing.id).state == "draft"
    result = mailings.send(crm, mailing.id)
    assert (result["recipients"], result["queued"]) == (2, 2)
    with pytest.raises(ValidationError) as err:  # a mailing is sent once
        mailings.send(crm, mailing.id)
    assert "state" in err.value.errors
    crm.outbox.deliver()
    assert sorted(m.recipient for m in sent) == ["info@dalstroy.example", "me@crmkit.example",
                                                 "sales@altair.example"]
    sent[:] = [m for m in sent if m.source == f"marketing.mailing:{mailing.id}"]
    meta = json.loads(sent[0].meta)
    assert meta["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
    assert meta["list_unsubscribe"].startswith("<https://") and "?t=" in meta["list_unsubscribe"]
    assert "?t=" in sent[0].body_text  # the #СсылкаОтписки# parameter
    assert mailings.status(crm, mailing.id)["sent"] == 2
    assert sent[0].source == f"marketing.mailing:{mailing.id}"


def test_opt_out_after_queueing_is_skipped_at_send_time(base, sent):
    crm, p, group, template, mailing = base
    from crmkit_marketing import mailings
    from crmkit_marketing.api import opt_out
    mailings.send(crm, mailing.id)
    opt_out(crm, "email", partner=p["Альтаир"], group=group.id, method="phone call")
    counts = crm.outbox.deliver()
    assert counts["sent"] == 1 and counts["skipped"] == 1
    assert [m.recipient for m in sent] == ["info@dalstroy.example"]
    status = mailings.status(crm, mailing.id)
    assert (status["sent"], status["skipped"]) == (1, 1)
    assert any(reason.startswith("opted out") for reason in status["reasons"])
    ledger = crm.find("marketing.consent", action="opt_out")
    assert ledger[0].method == "phone call" and ledger[0].given_by == "system"


def test_unsubscribe_token_and_tampering(base, sent):
    crm, p, group, template, mailing = base
    from crmkit_marketing import mailings
    from crmkit_marketing.api import make_token, read_token, unsubscribe
    mailings.send(crm, mailing.id)
    token = make_token("email", "info@dalstroy.example", group.id)
    assert read_token(token)["address"] == "info@dalstroy.example"
    body, sig = token.split(".")
    forged_body = make_token("email", "someone@else.example", group.id).split(".")[0]
    tampered = sig[:-2] + ("BA" if sig[-2] == "A" else "AA")   # sig[-2] carries six bits of the MAC
    for bad in (f"{forged_body}.{sig}", f"{body}.{tampered}", "garbage", f"{body}."):
        with pytest.raises(ValidationError) as err:
            unsubscribe(crm, bad)
        assert "token" in err.value.errors
    # the same MAC bytes spelt with other unused bits in the last character
    alias = sig[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(sig[-1]) ^ 1]
    assert base64.urlsafe_b64decode(alias + "=") == base64.urlsafe_b64decode(sig + "=")
    with pytest.raises(ValidationError):
        unsubscribe(crm, f"{body}.{alias}")
    assert crm.count("marketing.consent", action="opt_out") == 0
    unsubscribe(crm, token)  # one click
    crm.outbox.deliver()
    assert [m.recipient for m in sent] == ["sales@altair.example"]


def test_global_opt_out_suppresses_the_address(base, sent):
    crm, p, group, template, mailing = base
    from crmkit_marketing import mailings
    from crmkit_marketing.api import opt_out
    opt_out(crm, "email", address="SALES@altair.example", method="letter")
    assert crm.outbox.is_suppressed("email", "sales@altair.example")
    result = mailings.send(crm, mailing.id)  # known at queue time: not queued at all
    assert (result["queued"], result["skipped"]) == (1, 1)


def test_partner_named_like_a_template_is_shown_literally(base, sent):
    crm, p, group, template, mailing = base
    from crmkit_marketing import mailings
    crm.update("core.partner", p["Дальстрой"], {"name": "{{7*7}}", "public_name": "{{7*7}} <b>"})
    mailings.send(crm, mailing.id)
    crm.outbox.deliver()
    message = next(m for m in sent if m.recipient == "info@dalstroy.example")
    assert message.subject == "{{7*7}} <b>, приглашаем на юбилей"
    greeting = message.body_text.split("Отписаться")[0]   # the random token after it may hold "49"
    assert "49" not in greeting and "{{7*7}} <b>" in greeting
    assert "{{7*7}} &lt;b&gt;" in message.body_html


PAYLOADS = ["{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}",
            "{{ 'x'|attr('format') }}", "{{ ''|attr('__class__') }}", "{% include '/etc/passwd' %}",
            "{% for i in range(10**9) %}x{% endfor %}", "{{ partner.delete_instance() }}",
            "{{ partner._record }}"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_template_injection_is_harmless_or_refused(base, payload):
    crm, p, group, template, mailing = base
    try:
        crm.update("marketing.template", template.id, {"body_text": payload})
    except ValidationError as exc:
        assert "body_text" in exc.errors
        return
    from crmkit_marketing import mailings
    try:
        rows = mailings.preview(crm, mailing.id)
    except ValidationError as exc:
        assert "body_text" in exc.errors
        return
    for row in rows:
        text = row.get("text", "")
        assert "root:" not in text and "__globals__" not in text and "<class" not in text
        assert "built-in method" not in text and "bound method" not in text
    assert crm.get("core.partner", p["Дальстрой"]).name == "Дальстрой"


def test_cr_lf_in_subject_rejected(base):
    crm, p, group, template, mailing = base
    for subject in ("Hello\r\nBcc: victim@example.com", "line\nbreak"):
        with pytest.raises(ValidationError) as err:
            crm.update("marketing.template", template.id, {"subject": subject})
        assert "subject" in err.value.errors
    # a partner name carrying a line break cannot smuggle a header either
    crm.update("core.partner", p["Альтаир"], {"public_name": "Альтаир\r\nBcc: x@example.com"})
    from crmkit_marketing import mailings
    result = mailings.send(crm, mailing.id)
    assert result["queued"] == 1
    assert any("line break" in reason for reason in result["reasons"])


def test_notify_by_subscription(base, sent):
    crm, p, group, template, mailing = base
    from crmkit_marketing.api import notify, subscribe
    kind = crm.create("marketing.notification_kind", {"code": "claims.status_changed", "name": "Статус претензии",
                                                      "group": group.id, "based_on": "core.partner"})
    crm.create("marketing.template", {
        "name": "Статус", "kind": kind.id, "email": True, "sms": True,
        "subject": "Заказ #ПредставлениеЗаказа#: #СтатусЗаказа#",
        "body_text": "Добрый день, #ПредставлениеПартнера#. Статус: #СтатусЗаказа#.\n#ТаблицаНоменклатуры#",
        "sms_text": "#ПредставлениеПартнера#: #СтатусЗаказа#"})
    crm.update("marketing.mailing_group", group.id, {"send_sms": True})
    subscribe(crm, group.id, "sms", partner=p["Дальстрой"], kind=kind.id, method="cli")
    record = crm.get("core.partner", p["Дальстрой"])
    context = {"status": "Удовлетворена", "lines": [{"name": "Телевизор", "quantity": 2}]}
    messages = notify(crm, "claims.status_changed", "core.partner", record, partner=record, context=context)
    assert sorted(m.channel for m in messages) == ["email", "sms"]
    email = next(m for m in messages if m.channel == "email")
    assert email.subject == "Заказ Дальстрой: Удовлетворена" and "Телевизор 2" in email.body_text
    sms = next(m for m in messages if m.channel == "sms")
    assert sms.recipient == "+74232401122" and sms.body_text == "Дальстрой: Удовлетворена"
    again = notify(crm, "claims.status_changed", "core.partner", record, partner=record, context=context)
    assert {m.id for m in again} == {m.id for m in messages}  # idempotent for the same content
    changed = notify(crm, "claims.status_changed", "core.partner", record, partner=record,
                     context={"status": "Не удовлетворена"})
    assert not {m.id for m in changed} & {m.id for m in messages}
    assert notify(crm, "claims.status_changed", "core.partner", crm.get("core.partner", p["Протон"]),
                  partner=p["Протон"]) == []  # not subscribed
    assert notify(crm, "no.such_kind", "core.partner", record, partner=record) == []


def test_bad_input_is_rejected_and_nothing_written(base):
    crm, p, group, template, mailing = base
    before = crm.count("marketing.subscription")
    with pytest.raises(ValidationError) as err:
        crm.create("marketing.subscription", {"group": group.id, "channel": "email"})
    assert "partner" in err.value.errors
    with pytest.raises(ValidationError) as err:
        crm.create("marketing.subscription", {"group": group.id, "partner": p["Протон"], "address": "not-an-email"})
    assert "address" in err.value.errors
    assert crm.count("marketing.subscription") == before
    entry = crm.find("marketing.consent")[0]
    with pytest.raises(ValidationError):
        crm.update("marketing.consent", entry.id, {"comment": "rewritten"})
    with pytest.raises(ValidationError):
        crm.mark_deleted("marketing.consent", entry.id)
    with pytest.raises(ValidationError) as err:
        crm.create("marketing.event", {"name": "X", "planned_start": "2015-05-01", "planned_end": "2015-04-01"})
    assert "planned_end" in err.value.errors
    with pytest.raises(ValidationError) as err:
        crm.create("marketing.mailing", {"name": "X", "group": group.id, "template": template.id,
                                         "audience": "segment"})
    assert "segment" in err.value.errors
    with pytest.raises(ValidationError) as err:
        crm.create("marketing.template", {"name": "X", "kind": None, "purpose": "notification"})
    assert "kind" in err.value.errors


def test_notify_forced_group_tells_the_partner_itself(base, sent):
    crm, p, group, template, mailing = base
    from crmkit_marketing.api import notify
    forced = crm.create("marketing.mailing_group", {"name": "Претензии", "mode": "forced"})
    kind = crm.create("marketing.notification_kind", {"code": "claims.status_changed", "name": "Статус",
                                                      "group": forced.id})
    crm.create("marketing.template", {"name": "Статус", "kind": kind.id, "subject": "Статус: #СтатусЗаказа#",
                                      "body_text": "{{ record.name }}: {{ status_label }}"})
    contact = crm.create("core.contact", {"partner": p["Протон"], "name": "Кузнецов"})  # no email of his own
    record = crm.get("core.partner", p["Протон"])
    messages = notify(crm, "claims.status_changed", "core.partner", record, partner=p["Протон"],
                      contact=contact.id, context={"status": "Удовлетворена", "status_label": "удовлетворена"})
    assert [(m.recipient, m.subject, m.body_text) for m in messages] == [
        ("proton@proton.example", "Статус: Удовлетворена", "Протон: удовлетворена")]
    assert "list_unsubscribe" not in json.loads(messages[0].meta)  # a service message, not a mailing
    crm.outbox.deliver()
    assert [m.recipient for m in sent] == ["proton@proton.example"]


@pytest.fixture
def finished(open_crm, sent):
    """A session whose listener records every crmkit_mailing_finished."""
    import types
    from crmkit import ChannelSpec, PermanentFailure, PluginMeta, hookimpl
    seen = []
    listener = types.ModuleType("mailing_listener")
    listener.PLUGIN = PluginMeta(name="mailing_listener", requires=("marketing",))

    def deliver(crm, message):
        if message.recipient == "sales@altair.example":
            raise PermanentFailure("550 no such mailbox")
        sent.append(message)

    @hookimpl
    def crmkit_register_channels(register):
        register(ChannelSpec("email", deliver, address_kind="email"))

    @hookimpl
    def crmkit_mailing_finished(crm, mailing, counts):
        seen.append((mailing.id, counts))

    listener.crmkit_register_channels = crmkit_register_channels
    listener.crmkit_mailing_finished = crmkit_mailing_finished
    return open_crm(extra=[listener]), seen


def _mailing(crm, partners, audience="subscribers"):
    group = crm.create("marketing.mailing_group", {"name": "G", "mode": "subscription"})
    template = crm.create("marketing.template", {"name": "T", "purpose": "mailing", "group": group.id,
                                                 "subject": "S", "body_text": "B"})
    from crmkit_marketing.api import subscribe
    for pid, address in partners:
        crm.create("core.contact_info", {"partner": pid, "kind": "email", "value": address})
        subscribe(crm, group.id, "email", partner=pid, method="web form")
    return crm.create("marketing.mailing", {"name": "M", "group": group.id, "template": template.id,
                                            "audience": audience}), group


def test_a_mailing_finishes_once_when_its_last_message_has_an_outcome(finished):
    crm, seen = finished
    from crmkit_marketing import mailings
    from crmkit_marketing.api import opt_out
    ps = [(crm.create("core.partner", {"name": n}).id, a) for n, a in
          (("A", "a@a.example"), ("B", "sales@altair.example"), ("C", "c@c.example"))]
    mailing, group = _mailing(crm, ps)
    mailings.send(crm, mailing.id)
    opt_out(crm, "email", partner=ps[2][0], group=group.id, method="phone call")   # the last is skipped
    assert seen == []
    counts = crm.outbox.deliver()
    assert (counts["sent"], counts["failed"], counts["skipped"]) == (1, 1, 1)
    assert seen == [(mailing.id, {"recipients": 3, "sent": 1, "failed": 1, "skipped": 1})]
    crm.outbox.deliver()
    assert len(seen) == 1


def test_a_mailing_with_nothing_to_send_finishes_at_once(finished):
    crm, seen = finished
    from crmkit_marketing import mailings
    group = crm.create("marketing.mailing_group", {"name": "G", "mode": "subscription"})
    template = crm.create("marketing.template", {"name": "T", "purpose": "mailing", "group": group.id,
                                                 "subject": "S", "body_text": "B"})
    mailing = crm.create("marketing.mailing", {"name": "M", "group": group.id, "template": template.id,
                                               "audience": "subscribers"})
    mailings.send(crm, mailing.id)
    assert seen == [(mailing.id, {"recipients": 0, "sent": 0, "failed": 0, "skipped": 0})]


def test_list_unsubscribe_points_at_the_public_one_click_endpoint(base, sent, monkeypatch):
    from crmkit_marketing import mailings
    crm, p, group, template, mailing = base
    monkeypatch.setenv("CRMKIT_PUBLIC_URL", "https://crm.example.org/")
    mailings.send(crm, mailing.id)
    crm.outbox.deliver()
    meta = json.loads(next(m for m in sent if m.source == f"marketing.mailing:{mailing.id}").meta)
    assert meta["list_unsubscribe"].startswith("<https://crm.example.org/u/")
    assert meta["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
