"""Delivery through a real SMTP server on loopback."""
import base64
import datetime as dt

import pytest

import crmkit

pytestmark = pytest.mark.plugins("notify_email")

LATER = dt.timedelta(hours=7)   # past any backoff


def _state(crm, message):
    found = [m for m in crm.outbox.messages(limit=1000) if m.id == message.id]
    return found[0]


def test_message_arrives_whole_with_headers(crm, smtp_server):
    pdf = b"%PDF-1.4 tiny"
    msg = crm.outbox.queue(
        "email", "Ivan Sidorov <Sidorov@Altair.Example>", subject="Прайс-лист на ноябрь",
        text="Добрый день!\nНаправляем прайс-лист.", html="<p>Добрый день!</p>", key="price-1",
        meta={"list_unsubscribe": "https://shop.example/u/1, mailto:unsub@shop.example",
              "list_unsubscribe_post": True, "reply_to": "Sales <sales@shop.example>",
              "headers": {"X-Campaign": "november"},
              "attachments": [{"filename": "price.pdf", "content_type": "application/pdf",
                               "content_b64": base64.b64encode(pdf).decode()}]})
    assert crm.outbox.deliver() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    assert _state(crm, msg).state == "sent"
    [mail] = smtp_server.handler.parsed()
    assert smtp_server.handler.envelopes == [("crm@shop.example", ["sidorov@altair.example"])]
    assert mail["Message-ID"].startswith(f"<crmkit.{msg.id}.") and mail["Message-ID"].endswith("@mail.shop.example>")
    assert mail["Date"] and mail["From"] == "CRM <crm@shop.example>"
    assert mail["To"].addresses[0].addr_spec == "sidorov@altair.example"
    assert str(mail["Subject"]) == "Прайс-лист на ноябрь"
    assert mail["Reply-To"] == "Sales <sales@shop.example>"
    assert mail["List-Unsubscribe"] == "<https://shop.example/u/1>, <mailto:unsub@shop.example>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["X-Campaign"] == "november"
    assert mail.get_content_type() == "multipart/mixed"
    alternative = mail.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert "Направляем прайс-лист." in mail.get_body(("plain",)).get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "price.pdf" and attachment.get_content() == pdf


def test_one_connection_for_a_run(crm, smtp_server):
    for i in range(5):
        crm.outbox.queue("email", f"c{i}@client.example", subject="hi", text="x", key=f"k{i}")
    assert crm.outbox.deliver()["sent"] == 5
    assert len(smtp_server.handler.received) == 5
    assert smtp_server.handler.sessions == 1
    ids = {m["Message-ID"] for m in smtp_server.handler.parsed()}
    assert len(ids) == 5


def test_server_down_then_up_nothing_lost(crm, smtp_env, smtp_server_class):
    SmtpServer = smtp_server_class
    msg = crm.outbox.queue("email", "a@client.example", subject="s", text="t", key="down")
    assert crm.outbox.deliver()["retry"] == 1
    stored = _state(crm, msg)
    assert stored.state == "queued" and stored.attempts == 1 and "connect" in stored.last_error
    assert crm.outbox.deliver()["retry"] == 0          # not due yet: backoff
    server = SmtpServer(smtp_env)
    server.start()
    try:
        assert crm.outbox.deliver(now=crmkit.utcnow() + LATER)["sent"] == 1
        assert len(server.handler.received) == 1
    finally:
        server.stop()


def test_451_then_250(crm, smtp_server):
    smtp_server.handler.rcpt_script = ["451 4.3.0 greylisted, try later"]
    msg = crm.outbox.queue("email", "a@client.example", subject="s", text="t", key="grey")
    assert crm.outbox.deliver()["retry"] == 1
    stored = _state(crm, msg)
    assert stored.state == "queued" and "451" in stored.last_error
    assert crm.outbox.deliver(now=crmkit.utcnow() + LATER)["sent"] == 1
    first_id = smtp_server.handler.parsed()[0]["Message-ID"]
    assert first_id.startswith(f"<crmkit.{msg.id}.")


def test_550_fails_without_retry_and_repeated_bounces_suppress(crm, smtp_server):
    smtp_server.handler.rcpt_script = ["550 5.1.1 no such user", "550 5.1.1 no such user"]
    first = crm.outbox.queue("email", "gone@client.example", subject="s", text="t", key="b1")
    assert crm.outbox.deliver()["failed"] == 1
    stored = _state(crm, first)
    assert stored.state == "failed" and stored.last_error.startswith("hard bounce: 550")
    assert crm.outbox.deliver(now=crmkit.utcnow() + LATER) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    assert not crm.outbox.is_suppressed("email", "gone@client.example")
    crm.outbox.queue("email", "gone@client.example", subject="s", text="t", key="b2")
    assert crm.outbox.deliver()["failed"] == 1
    assert crm.outbox.is_suppressed("email", "Gone <GONE@client.example>")
    third = crm.outbox.queue("email", "GONE@Client.Example", subject="s", text="t", key="b3")
    assert crm.outbox.deliver()["skipped"] == 1
    assert _state(crm, third).state == "skipped"
    assert smtp_server.handler.received == []


def test_data_refused_permanently_is_not_a_bounce(crm, smtp_server):
    smtp_server.handler.data_script = ["554 5.7.1 content rejected"]
    msg = crm.outbox.queue("email", "a@client.example", subject="s", text="t", key="d1")
    assert crm.outbox.deliver()["failed"] == 1
    assert _state(crm, msg).last_error.startswith("message refused: 554")
    from crmkit_notify_email import models as m
    assert m.Bounce.select().count() == 0
    # the connection is still usable for the next message after the refusal
    crm.outbox.queue("email", "b@client.example", subject="s", text="t", key="d2")
    assert crm.outbox.deliver()["sent"] == 1


@pytest.mark.parametrize("meta, field", [
    ({"headers": {"X-Bad": "a\r\nBcc: victim@x.example"}}, "headers.X-Bad"),
    ({"headers": {"Bcc": "victim@x.example"}}, "headers"),
    ({"reply_to": "a@x.example\nBcc: v@x.example"}, "reply_to"),
    ({"from": "not an address"}, "from"),
    ({"attachments": [{"filename": "a.txt", "content_b64": "***"}]}, "attachments.0.content_b64"),
    ({"list_unsubscribe": "javascript:alert(1)"}, "list_unsubscribe"),
])
def test_bad_meta_fails_permanently_naming_the_field(crm, smtp_server, meta, field):
    msg = crm.outbox.queue("email", "a@client.example", subject="s", text="t", key="bad", meta=meta)
    assert crm.outbox.deliver()["failed"] == 1
    assert field in _state(crm, msg).last_error
    assert smtp_server.handler.received == []


def test_crlf_in_subject_rejected_at_queue_time(crm):
    with pytest.raises(crmkit.ValidationError) as info:
        crm.outbox.queue("email", "a@client.example", subject="hi\r\nBcc: x@y.example", text="t")
    assert "subject" in info.value.errors
    assert crm.outbox.messages() == []


def test_check_meta_names_the_field():
    from crmkit_notify_email.compose import check_meta
    with pytest.raises(crmkit.ValidationError) as info:
        check_meta({"reply_to": "x\r\ny"})
    assert "reply_to" in info.value.errors
    check_meta({"reply_to": ["a@x.example", "B <b@x.example>"], "list_unsubscribe": ["https://u.example/1"]})


def test_delivered_email_gives_its_interaction_the_message_id(crm, smtp_server):
    partner = crm.create("core.partner", {"name": "Альтаир", "kind": "company"})
    logged = crm.create("core.interaction", {"kind": "email", "direction": "outgoing", "date": crmkit.utcnow(),
                                             "partner": partner.id, "topic": "Предложение"})
    crm.outbox.queue("email", "sidorov@altair.example", subject="Предложение", text="t", key="i1",
                     partner_id=partner.id, meta={"interaction_id": logged.id})
    crm.outbox.queue("email", "sidorov@altair.example", subject="Второе", text="t2", key="i2",
                     partner_id=partner.id, meta={"log_interaction": True})
    assert crm.outbox.deliver()["sent"] == 2
    first, second = smtp_server.handler.parsed()
    assert crm.get("core.interaction", logged.id).external_id == first["Message-ID"]
    [auto] = crm.find("core.interaction", external_id=second["Message-ID"])
    assert auto.direction == "outgoing" and auto.partner_id == partner.id and auto.topic == "Второе"


def test_a_delivery_run_closes_its_connection():
    """The kernel opens the channel's session once per run; leaving it closes the SMTP connection."""
    from crmkit_notify_email import smtp
    closed = []
    original = smtp.close_connections
    smtp.close_connections = lambda: closed.append(True)
    try:
        with smtp.run_session(None):
            assert closed == []
    finally:
        smtp.close_connections = original
    assert closed == [True]


def test_a_bounce_earlier_in_the_run_stops_a_later_send(crm, smtp_server, monkeypatch):
    """The suppression list is read per message: the second message to an
    address that hard-bounced a moment before, in the same batch, is skipped."""
    monkeypatch.setenv("CRMKIT_EMAIL_BOUNCE_LIMIT", "1")
    smtp_server.handler.rcpt_script = ["550 5.1.1 no such user"]
    crm.outbox.queue("email", "gone@client.example", subject="one", text="t", key="g1")
    crm.outbox.queue("email", "ok@client.example", subject="between", text="t", key="ok")
    crm.outbox.queue("email", "Gone@Client.example", subject="two", text="t", key="g2")
    assert crm.outbox.deliver() == {"sent": 1, "retry": 0, "failed": 1, "skipped": 1}
    assert [e[1] for e in smtp_server.handler.envelopes] == [["ok@client.example"]]
