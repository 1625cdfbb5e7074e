"""The kernel outbox: durable, idempotent, retried with backoff, leased."""
import datetime as dt
import types

import pytest

import crmkit
from crmkit import PermanentFailure, TemporaryFailure, ValidationError

pytestmark = pytest.mark.plugins()


def channel_plugin(behaviour):
    """A channel whose deliver() follows ``behaviour(message)``."""
    mod = types.ModuleType("flaky")
    mod.PLUGIN = crmkit.PluginMeta(name="flaky")
    mod.sent = []

    @crmkit.hookimpl
    def crmkit_register_channels(register):
        def deliver(crm, message):
            behaviour(message)
            mod.sent.append(message.recipient)
        register(crmkit.ChannelSpec("pigeon", deliver))

    mod.crmkit_register_channels = crmkit_register_channels
    return mod


def test_queue_is_idempotent_and_checks_input(open_crm):
    crm = open_crm(extra=[channel_plugin(lambda m: None)])
    a = crm.outbox.queue("pigeon", "loft-1", subject="hi", text="t", key="k1")
    b = crm.outbox.queue("pigeon", "loft-1", subject="hi", text="t", key="k1")
    assert a.id == b.id and crm.outbox.counts() == {"queued": 1}
    with pytest.raises(ValidationError) as exc:
        crm.outbox.queue("pigeon", "loft-1", subject="a\r\nBcc: x@y.z", text="t")
    assert "subject" in exc.value.errors
    with pytest.raises(ValidationError):
        crm.outbox.queue("telegraph", "x", text="t")
    assert crm.outbox.counts() == {"queued": 1}


def test_temporary_failures_back_off_then_succeed(open_crm):
    attempts = []

    def behaviour(message):
        attempts.append(1)
        if len(attempts) < 3:
            raise TemporaryFailure("451 try later")

    crm = open_crm(extra=[channel_plugin(behaviour)])
    crm.outbox.queue("pigeon", "loft-1", text="t", key="k")
    assert crm.outbox.deliver() == {"sent": 0, "retry": 1, "failed": 0, "skipped": 0}
    assert crm.outbox.deliver() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}  # not due yet
    later = crmkit.utcnow() + dt.timedelta(hours=1)
    assert crm.outbox.deliver(now=later)["retry"] == 1
    assert crm.outbox.deliver(now=later + dt.timedelta(hours=1))["sent"] == 1
    msg = crm.outbox.messages()[0]
    assert (msg.state, msg.attempts, msg.last_error) == ("sent", 3, "")


def test_permanent_failure_is_not_retried(open_crm):
    def behaviour(message):
        raise PermanentFailure("550 no such user")
    crm = open_crm(extra=[channel_plugin(behaviour)])
    crm.outbox.queue("pigeon", "ghost", text="t", key="k")
    assert crm.outbox.deliver()["failed"] == 1
    msg = crm.outbox.messages()[0]
    assert msg.state == "failed" and "550" in msg.last_error
    assert crm.outbox.deliver(now=crmkit.utcnow() + dt.timedelta(days=1))["failed"] == 0
    assert crm.outbox.retry() == 1 and crm.outbox.messages()[0].state == "queued"


def test_suppression_is_checked_at_send_time(open_crm):
    crm = open_crm(extra=[channel_plugin(lambda m: None)])
    crm.outbox.queue("pigeon", "Loft-9", text="t", key="k")
    crm.outbox.suppress("pigeon", "loft-9", "opted out")
    assert crm.outbox.deliver()["skipped"] == 1


def test_a_crashed_sending_claim_is_retried_after_its_lease(open_crm):
    crm = open_crm(extra=[channel_plugin(lambda m: None)])
    msg = crm.outbox.queue("pigeon", "loft-1", text="t", key="k")
    from crmkit.kernel.models import OutboxMessage
    OutboxMessage.update(state="sending", claimed_at=crmkit.utcnow()).where(OutboxMessage.id == msg.id).execute()
    assert crm.outbox.deliver()["sent"] == 0  # lease still held by the "dead" process
    assert crm.outbox.deliver(now=crmkit.utcnow() + dt.timedelta(minutes=10))["sent"] == 1


def test_purge_keeps_unsent(open_crm):
    crm = open_crm(extra=[channel_plugin(lambda m: None)])
    crm.outbox.queue("pigeon", "a", text="t", key="1")
    crm.outbox.deliver()
    crm.outbox.queue("pigeon", "b", text="t", key="2")
    from crmkit.kernel.models import OutboxMessage
    OutboxMessage.update(created_at=crmkit.utcnow() - dt.timedelta(days=40)).execute()
    assert crm.outbox.purge(30) == 1
    assert crm.outbox.counts() == {"queued": 1}


def test_channel_session_opens_once_per_run(open_crm):
    import contextlib
    events = []

    @contextlib.contextmanager
    def session(crm):
        events.append("open")
        yield
        events.append("close")

    mod = channel_plugin(lambda m: events.append("send"))
    original = mod.crmkit_register_channels

    @crmkit.hookimpl
    def crmkit_register_channels(register):
        original(lambda spec: register(crmkit.ChannelSpec(spec.name, spec.deliver, session=session)))

    mod.crmkit_register_channels = crmkit_register_channels
    crm = open_crm(extra=[mod])
    for i in range(3):
        crm.outbox.queue("pigeon", f"loft-{i}", text="t", key=str(i))
    assert crm.outbox.deliver()["sent"] == 3
    assert events == ["open", "send", "send", "send", "close"]
    assert crm.outbox.get(crm.outbox.messages()[0].id).state == "sent"
