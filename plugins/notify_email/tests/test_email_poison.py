"""Poison messages: a header value with any line break the email package
knows, bad meta, bad addresses. Each fails alone, recorded ``failed`` with
the field named; the run never crashes and a good message queued after them
is sent in the same run."""
import json

import pytest

import crmkit
from crmkit.kernel.models import OutboxMessage

pytestmark = pytest.mark.plugins("notify_email")

# Every character str.splitlines() breaks at, found by asking it (not listed by hand).
LINE_BREAKS = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1]


def test_the_line_breaks_are_the_ones_python_knows():
    assert {f"U+{ord(c):04X}" for c in LINE_BREAKS} == {
        "U+000A", "U+000B", "U+000C", "U+000D", "U+001C", "U+001D", "U+001E", "U+0085", "U+2028", "U+2029"}


@pytest.mark.parametrize("char", LINE_BREAKS + ["\x00", "\x1b", "\x7f"], ids=lambda c: f"U+{ord(c):04X}")
def test_queue_refuses_a_line_break_or_control_character_in_a_header(crm, char):
    for field in ("subject", "recipient_name"):
        with pytest.raises(crmkit.ValidationError) as info:
            crm.outbox.queue("email", "a@client.example", text="t", **{field: f"Acme{char}X-Injected: yes"})
        assert field in info.value.errors
    with pytest.raises(crmkit.ValidationError) as info:
        crm.outbox.queue("email", f"a{char}@client.example", text="t")
    assert "recipient" in info.value.errors
    assert crm.outbox.messages() == []


@pytest.mark.parametrize("field", ["text", "html"])
def test_queue_refuses_nul_in_a_body_on_every_database(crm, field):
    with pytest.raises(crmkit.ValidationError) as info:
        crm.outbox.queue("email", "a@client.example", subject="s", **{"text": "t", field: "a\x00b"})
    assert field in info.value.errors
    assert crm.outbox.messages() == []


def _poison_rows(db_url):
    """(what, row fields, the field the failure must name): written straight
    into the table, as rows queued before the check existed or by SQL
    (PostgreSQL text cannot hold NUL at all)."""
    rows = []
    for char in LINE_BREAKS + ["\x1b"] + (["\x00"] if db_url.startswith("sqlite") else []):
        name = f"U+{ord(char):04X}"
        rows.append((f"subject {name}", {"subject": f"Acme{char}X-Injected: yes"}, "subject"))
        rows.append((f"non-ascii subject {name}", {"subject": f"Заказ{char}X-Injected: yes"}, "subject"))
        rows.append((f"recipient_name {name}", {"recipient_name": f"Ivan{char}Bcc: v@x.example"}, "recipient_name"))
        rows.append((f"recipient {name}", {"recipient": f"a@client.example{char}Bcc: v@x.example"}, "recipient"))
        rows.append((f"header {name}", {"meta": json.dumps({"headers": {"X-Note": f"a{char}b"}})}, "headers.X-Note"))
        rows.append((f"from {name}", {"meta": json.dumps({"from": f"CRM{char} <crm@shop.example>"})}, "from"))
        rows.append((f"message_id {name}", {"meta": json.dumps({"message_id": f"<a{char}b@x>"})}, "message_id"))
        rows.append((f"attachment {name}", {"meta": json.dumps({"attachments": [
            {"filename": f"a{char}.pdf", "content_type": "application/pdf", "content_b64": ""}]})},
            "attachments.0.filename"))
        rows.append((f"raw line in the header block {name}",
                     {"meta": json.dumps({"headers": {"X-Raw": f"ok{char}{char}<html>body"}})}, "headers.X-Raw"))
    rows += [
        ("meta not JSON", {"meta": "{not json"}, "meta"),
        ("meta a list", {"meta": "[1, 2]"}, "meta"),
        ("header name", {"meta": json.dumps({"headers": {"X Bad:": "v"}})}, "headers"),
        ("recipient not an address", {"recipient": "nobody"}, "recipient"),
        ("attachment not base64", {"meta": json.dumps({"attachments": [{"filename": "a", "content_b64": "%%"}]})},
         "attachments.0.content_b64"),
    ]
    return rows


def test_a_queue_of_poison_before_a_good_message(crm, cli, smtp_server, db_url):
    poison = _poison_rows(db_url)
    ids = {}
    for i, (what, fields, _) in enumerate(poison):
        row = {"channel": "email", "recipient": "a@client.example", "subject": "s", "body_text": "t",
               "idempotency_key": f"poison-{i}", "next_attempt_at": crmkit.utcnow(), "created_at": crmkit.utcnow(),
               **fields}
        ids[what] = OutboxMessage.insert(**row).execute()
    good = crm.outbox.queue("email", "good@client.example", subject="Заказ готов", text="t", key="good")
    result = cli("outbox", "deliver")           # the operator's path: it must not crash
    assert result.exit_code == 0, result.output
    assert f"sent=1 retry=0 failed={len(poison)} skipped=0" in result.output
    assert crm.outbox.get(good.id).state == "sent"
    [mail] = smtp_server.handler.parsed()
    assert mail["To"].addresses[0].addr_spec == "good@client.example"
    for what, _, field in poison:
        stored = crm.outbox.get(ids[what])
        assert stored.state == "failed", what
        assert field in stored.last_error, (what, stored.last_error)
    assert crm.outbox.counts() == {"sent": 1, "failed": len(poison)}   # nothing left "sending"
    later = crmkit.utcnow() + __import__("datetime").timedelta(days=1)
    assert crm.outbox.deliver(now=later) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}


def test_a_channel_that_raises_anything_fails_that_message_alone(crm, smtp_server, monkeypatch):
    """The mechanism under the composer's checks: whatever a channel raises
    (a bug, an error of a library) is that message's failure, not the run's."""
    import attrs
    spec = crm.registry.channels["email"]

    def deliver(crm_, message):
        if message.subject == "boom":
            raise RuntimeError("a bug in a channel")
        spec.deliver(crm_, message)

    crm.registry.channels["email"] = attrs.evolve(spec, deliver=deliver)
    bad = crm.outbox.queue("email", "a@client.example", subject="boom", text="t", key="boom")
    good = crm.outbox.queue("email", "b@client.example", subject="fine", text="t", key="fine")
    assert crm.outbox.deliver() == {"sent": 1, "retry": 0, "failed": 1, "skipped": 0}
    assert "RuntimeError: a bug in a channel" in crm.outbox.get(bad.id).last_error
    assert crm.outbox.get(good.id).state == "sent"
