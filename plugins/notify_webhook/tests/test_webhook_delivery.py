"""Delivery to a real receiver on loopback: signatures, outcomes, retries
with the same webhook-id, disabling, timeouts, keep-alive, bounded reads."""
import json

import pytest

from crmkit_notify_webhook import models as m
from crmkit_notify_webhook import signing

from webhook_fixtures import later, receiver, subscribe  # noqa: F401 (receiver: a fixture)

pytestmark = pytest.mark.plugins("notify_webhook")

ENTITY = "notify_webhook.subscription"


def partner(crm, name="Дальстрой"):
    return crm.create("core.partner", {"name": name, "kind": "company"})


def states(crm):
    return sorted((msg.state, msg.attempts) for msg in crm.outbox.messages(channel="webhook"))


def test_a_created_record_arrives_signed_as_the_standard_says(crm, receiver):
    subscribe(crm, receiver, "core.partner.created")
    p = partner(crm)
    assert crm.outbox.deliver(channel="webhook")["sent"] == 1
    assert receiver.all_valid()
    (req,) = receiver.requests
    headers = req["headers"]
    assert headers["webhook-id"].startswith("msg_") and headers["webhook-signature"].startswith("v1,")
    assert headers["Content-Type"] == "application/json"
    # the signature is base64(HMAC-SHA256(key, id.timestamp.body)), checked here by hand too
    import base64, hashlib, hmac
    key = base64.b64decode(receiver.secrets[0].removeprefix("whsec_"))
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + req["body"]
    assert headers["webhook-signature"] == "v1," + base64.b64encode(
        hmac.new(key, content, hashlib.sha256).digest()).decode()
    body = json.loads(req["body"])
    assert body["type"] == "core.partner.created" and body["actor"] == "system"
    assert body["data"]["id"] == p.id and body["data"]["code"] == p.code
    assert body["data"]["fields"]["name"] == "Дальстрой"
    assert states(crm) == [("sent", 1)]


def test_a_tampered_body_or_old_timestamp_fails_verification():
    secret = signing.new_secret()
    h = signing.headers([secret], "msg_1", b'{"a":1}')
    assert signing.verify(secret, h, b'{"a":1}')
    assert not signing.verify(secret, h, b'{"a":2}')
    assert not signing.verify(signing.new_secret(), h, b'{"a":1}')
    old = signing.headers([secret], "msg_1", b"{}", timestamp=1_000_000)
    assert not signing.verify(secret, old, b"{}")
    with pytest.raises(ValueError, match="whsec_"):
        signing.secret_key("not-a-secret")


def test_5xx_is_retried_with_the_same_id_and_body(crm, receiver):
    subscribe(crm, receiver, "core.partner.*")
    partner(crm)
    receiver.script = [{"status": 500}, {"status": 503}]
    assert crm.outbox.deliver(channel="webhook")["retry"] == 1
    assert later(crm)["retry"] == 1
    assert later(crm)["sent"] == 1
    assert len(receiver.requests) == 3 and receiver.all_valid()
    assert len(set(receiver.ids())) == 1 and receiver.duplicates() == {receiver.ids()[0]: 3}
    assert len({r["body"] for r in receiver.requests}) == 1
    sub = m.Subscription.get()
    assert sub.failure_count == 0 and sub.last_success_at is not None   # a success clears the count


def test_a_timeout_is_temporary_and_the_resend_is_a_duplicate_the_receiver_can_drop(crm, receiver, monkeypatch):
    monkeypatch.setenv("CRMKIT_WEBHOOK_TIMEOUT", "0.5")
    subscribe(crm, receiver, "core.partner.created")
    partner(crm)
    receiver.script = [{"sleep": 1.0}]          # it got the event, but answered too late
    counts = crm.outbox.deliver(channel="webhook")
    assert counts["retry"] == 1
    assert "timeout" in crm.outbox.messages(channel="webhook")[0].last_error
    assert later(crm)["sent"] == 1
    assert list(receiver.duplicates().values()) == [2]


def test_a_receiver_dripping_its_answer_is_cut_at_the_total_deadline(crm, receiver, monkeypatch):
    import time
    monkeypatch.setenv("CRMKIT_WEBHOOK_TIMEOUT", "0.6")
    subscribe(crm, receiver, "core.partner.created")
    partner(crm)
    receiver.script = [{"drip": 0.1, "body": b"x" * 100}]     # 10 s if read to the end
    started = time.monotonic()
    assert crm.outbox.deliver(channel="webhook")["retry"] == 1
    assert time.monotonic() - started < 3


def test_410_disables_the_subscription_and_its_waiting_messages_are_skipped(crm, receiver):
    sub = subscribe(crm, receiver, "core.partner.created")
    partner(crm, "A")
    partner(crm, "B")
    receiver.script = [{"status": 410}]
    counts = crm.outbox.deliver(channel="webhook")
    assert counts["failed"] == 1 and counts["skipped"] == 1 and len(receiver.requests) == 1
    row = crm.get(ENTITY, sub.id)
    assert not row.active and "410" in row.disabled_reason and row.disabled_at is not None
    partner(crm, "C")                            # no new messages for a disabled subscription
    assert len(crm.outbox.messages(channel="webhook")) == 2
    assert [h.action for h in crm.history(ENTITY, sub.id)][-1] == "disable"


@pytest.mark.parametrize("status, outcome", [(400, "failed"), (404, "failed"), (301, "failed"),
                                             (408, "retry"), (429, "retry"), (502, "retry")])
def test_status_codes_map_to_outcomes(crm, receiver, status, outcome):
    subscribe(crm, receiver, "core.partner.created")
    partner(crm)
    receiver.script = [{"status": status, "headers": {"Location": f"{receiver.url}/elsewhere"}}]
    assert crm.outbox.deliver(channel="webhook")[outcome] == 1
    assert [r["path"] for r in receiver.requests] == ["/hook"]   # a redirect is never followed
    assert str(status) in crm.outbox.messages(channel="webhook")[0].last_error


def test_repeated_failures_disable_the_subscription(crm, receiver, monkeypatch):
    monkeypatch.setenv("CRMKIT_WEBHOOK_DISABLE_AFTER", "3")
    sub = subscribe(crm, receiver, "core.partner.created")
    for name in "ABCD":
        partner(crm, name)
    receiver.script = [{"status": 500}] * 10
    counts = crm.outbox.deliver(channel="webhook")
    assert counts == {"sent": 0, "retry": 3, "failed": 0, "skipped": 1}
    row = crm.get(ENTITY, sub.id)
    assert not row.active and row.failure_count == 3 and "3 failed deliveries" in row.disabled_reason
    assert later(crm)["skipped"] == 3
    # enabled again, it starts afresh
    from crmkit_notify_webhook.subscriptions import set_active
    row = set_active(crm, sub.id, True)
    assert row.active and row.failure_count == 0 and row.disabled_at is None


def test_the_retry_cap_of_the_outbox_applies(crm, receiver):
    subscribe(crm, receiver, "core.partner.created")
    partner(crm)
    receiver.script = [{"status": 500}] * 10
    outcomes = [later(crm) for _ in range(6)]
    assert [o["retry"] for o in outcomes] == [1, 1, 1, 1, 1, 0] and outcomes[-1]["failed"] == 1
    assert len(receiver.requests) == 6 and len(set(receiver.ids())) == 1
    assert "gave up after 6 attempts" in crm.outbox.messages(channel="webhook")[0].last_error


def test_one_keep_alive_connection_per_host_in_a_run(crm, receiver):
    subscribe(crm, receiver, "core.partner.created")
    for i in range(20):
        partner(crm, f"P{i}")
    assert crm.outbox.deliver(channel="webhook")["sent"] == 20
    assert receiver.connections == 1 and len(receiver.requests) == 20


def test_a_large_answer_is_read_only_up_to_the_bound(crm, receiver, monkeypatch):
    monkeypatch.setenv("CRMKIT_WEBHOOK_MAX_RESPONSE", "1000")
    subscribe(crm, receiver, "core.partner.created")
    partner(crm, "A")
    partner(crm, "B")
    receiver.script = [{"status": 500, "body": b"e" * 5_000_000}]
    assert crm.outbox.deliver(channel="webhook") == {"sent": 1, "retry": 1, "failed": 0, "skipped": 0}
    msg = [x for x in crm.outbox.messages(channel="webhook") if x.state == "queued"][0]
    assert len(msg.last_error) < 400
    assert receiver.connections == 2          # the connection with an unread rest was not reused


def test_a_receiver_down_is_temporary(crm, receiver):
    sub = subscribe(crm, receiver, "core.partner.created")
    receiver.server.shutdown()
    receiver.server.server_close()
    partner(crm)
    assert crm.outbox.deliver(channel="webhook")["retry"] == 1
    assert crm.get(ENTITY, sub.id).failure_count == 1


def test_rotation_signs_with_both_secrets_during_the_grace_period(crm, receiver):
    from crmkit_notify_webhook.subscriptions import rotate_secret
    sub = subscribe(crm, receiver, "core.partner.created")
    old = receiver.secrets[0]
    _, new = rotate_secret(crm, sub.id, grace_hours=1)
    receiver.secrets = [new]
    partner(crm)
    crm.outbox.deliver(channel="webhook")
    (req,) = receiver.requests
    assert len(req["headers"]["webhook-signature"].split()) == 2
    assert signing.verify(old, req["headers"], req["body"]) and signing.verify(new, req["headers"], req["body"])
    _, newest = rotate_secret(crm, sub.id, grace_hours=0)
    partner(crm, "B")
    crm.outbox.deliver(channel="webhook")
    last = receiver.requests[-1]
    assert last["headers"]["webhook-signature"].count("v1,") == 1
    assert signing.verify(newest, last["headers"], last["body"]) and not signing.verify(new, last["headers"],
                                                                                       last["body"])


def test_a_subscription_of_an_owner_who_lost_the_administrator_role_stops(open_crm, receiver):
    crm = open_crm()
    crm.create("core.user", {"login": "boss", "name": "Boss", "roles": "administrator"})
    boss = crm.as_user("boss")
    sub = subscribe(boss, receiver, "core.partner.created")
    assert sub.owner == "boss"
    crm.update("core.user", crm.get("core.user", 1).id, {"roles": "manager"})
    partner(crm)
    assert crm.outbox.deliver(channel="webhook")["skipped"] == 1
    assert receiver.requests == []
    assert "no longer an active administrator" in crm.get(ENTITY, sub.id).disabled_reason


def test_a_malformed_webhook_message_fails_alone(crm, receiver):
    subscribe(crm, receiver, "core.partner.created")
    crm.outbox.queue("webhook", "http://127.0.0.1/x", subject="x", text="{}", key="bad", meta={"nothing": 1})
    partner(crm)
    counts = crm.outbox.deliver(channel="webhook")
    assert counts["failed"] == 1 and counts["sent"] == 1
    assert "not a webhook message" in [x for x in crm.outbox.messages(channel="webhook") if x.state == "failed"][0] \
        .last_error


def test_the_outbox_message_deadline_bounds_a_request(crm, receiver, monkeypatch):
    import time
    monkeypatch.setenv("CRMKIT_WEBHOOK_TIMEOUT", "10")
    monkeypatch.setenv("CRMKIT_OUTBOX_MESSAGE_DEADLINE", "0.5")
    subscribe(crm, receiver, "core.partner.created")
    partner(crm)
    receiver.script = [{"sleep": 2}]
    started = time.monotonic()
    assert crm.outbox.deliver(channel="webhook")["retry"] == 1
    assert time.monotonic() - started < 1.8
    assert "timeout after 0.5" in crm.outbox.messages(channel="webhook")[0].last_error


def test_one_receiver_down_does_not_stop_the_others(crm, receiver):
    dead = subscribe(crm, receiver, "core.partner.created", path="/dead")
    crm.update("notify_webhook.subscription", dead.id, {"url": "http://127.0.0.1:9/dead"})   # nothing listens
    subscribe(crm, receiver, "core.partner.created")
    for name in "ABCDE":
        partner(crm, name)
    counts = crm.outbox.deliver(channel="webhook")
    assert counts["retry"] == 5 and counts["sent"] == 5      # no circuit breaker across subscriptions
