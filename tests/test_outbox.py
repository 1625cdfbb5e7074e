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


def test_a_result_is_recorded_only_by_the_claims_owner(open_crm):
    """Run A stalls inside a send past its lease; run B takes the message
    over and records it. A's late result is refused (the claim token is a
    fencing token): the message is sent, with B's single attempt."""
    nested, started = [], []

    def behaviour(message):
        if not started:                 # A, stalled: B runs "10 minutes later"
            started.append(True)
            nested.append(crm.outbox.deliver(now=crmkit.utcnow() + dt.timedelta(minutes=10)))

    mod = channel_plugin(behaviour)
    crm = open_crm(extra=[mod])
    msg = crm.outbox.queue("pigeon", "loft-1", text="t", key="k")
    outer = crm.outbox.deliver()
    assert nested == [{"sent": 1, "retry": 0, "failed": 0, "skipped": 0}]
    assert outer == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "lost": 1}
    stored = crm.outbox.get(msg.id)
    assert (stored.state, stored.attempts, stored.claim_token) == ("sent", 1, None)


def _moving_clock(monkeypatch):
    """Lets a test move the outbox's lease clock forward (``moved[0]`` seconds)."""
    from crmkit.kernel import outbox
    real, moved = outbox._clock, [0.0]
    monkeypatch.setattr(outbox, "_clock", lambda: real() + moved[0])
    return moved


def test_a_taken_over_message_is_not_sent_by_the_old_owner(open_crm, monkeypatch):
    """A run takes a message over only when its lease expired (the claim's
    condition); the old owner, whose own clock then says the same, asks the
    database before its next send and sends nothing it lost."""
    monkeypatch.setenv("CRMKIT_OUTBOX_LEASE", "60")
    moved = _moving_clock(monkeypatch)
    crm = open_crm(extra=[channel_plugin(lambda m: None)])
    first, second = (crm.outbox.queue("pigeon", f"loft-{i}", text="t", key=str(i)) for i in range(2))
    mod_sent = crm.registry.channels["pigeon"]
    calls, taken = [], []

    def deliver(crm_, message):
        calls.append(message.id)
        if message.id == first.id:
            # while the lease holds, no other run can take the second message ...
            assert crm.outbox._claim(None, crmkit.utcnow(), 1, first.id, None, set(), 60)[1] == []
            # ... a minute later (its heartbeat stalled) another run's claim takes it
            moved[0] = 61
            later = crmkit.utcnow() + dt.timedelta(seconds=61)
            taken.extend(m.id for m in crm.outbox._claim(None, later, 1, first.id, None, set(), 60)[1])
        mod_sent.deliver(crm_, message)

    import attrs
    crm.registry.channels["pigeon"] = attrs.evolve(mod_sent, deliver=deliver)
    assert crm.outbox.deliver() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0, "lost": 1}
    assert taken == [second.id] and calls == [first.id]


def test_an_owner_whose_lease_ran_out_sends_nothing_more(open_crm, monkeypatch):
    """Run A's lease runs out during its first send (by its own clock and
    the database's); run B takes the claim over and sends all three. A asks
    before its next send, finds nothing is its own any more, sends nothing
    more and records nothing: every message is sent once more at most (the
    one in flight), never the ones after it."""
    monkeypatch.setenv("CRMKIT_OUTBOX_LEASE", "60")
    moved = _moving_clock(monkeypatch)
    nested, started = [], []

    def behaviour(message):
        if not started:
            started.append(True)
            moved[0] = 61
            nested.append(crm.outbox.deliver(now=crmkit.utcnow() + dt.timedelta(seconds=61)))

    mod = channel_plugin(behaviour)
    crm = open_crm(extra=[mod])
    msgs = [crm.outbox.queue("pigeon", f"loft-{i}", text="t", key=str(i)) for i in range(3)]
    outer = crm.outbox.deliver()
    assert nested == [{"sent": 3, "retry": 0, "failed": 0, "skipped": 0}]
    assert outer == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "lost": 3}
    assert mod.sent == ["loft-0", "loft-1", "loft-2", "loft-0"]     # B's three, then A's one in flight
    assert [crm.outbox.get(m.id).attempts for m in msgs] == [1, 1, 1]


def test_an_owner_renews_its_lease_when_it_nears_the_end(open_crm, monkeypatch):
    """Near its lease's end (less than the safety margin left, by its own
    clock) a run renews the lease before its next send -- nobody took the
    messages, they are still its own -- and goes on."""
    from crmkit.kernel.models import OutboxMessage
    monkeypatch.setenv("CRMKIT_OUTBOX_LEASE", "60")
    moved = _moving_clock(monkeypatch)
    leases = []

    def behaviour(message):
        leases.append(OutboxMessage.get_by_id(last.id).claimed_at)
        if len(leases) == 1:
            moved[0] = 45

    mod = channel_plugin(behaviour)
    crm = open_crm(extra=[mod])
    *_, last = [crm.outbox.queue("pigeon", f"loft-{i}", text="t", key=str(i)) for i in range(3)]
    assert crm.outbox.deliver() == {"sent": 3, "retry": 0, "failed": 0, "skipped": 0}
    assert leases[1] > leases[0] and leases[2] == leases[1]    # renewed once, before the second send
    assert mod.sent == ["loft-0", "loft-1", "loft-2"]


def test_suppression_is_checked_per_message_within_a_batch(open_crm):
    """An address suppressed while a batch is being sent (a bounce recorded
    for an earlier message) is not sent to later in the same batch."""
    def behaviour(message):
        if message.recipient == "loft-1":
            crm.outbox.suppress("pigeon", "loft-2", "hard bounce a moment ago")

    mod = channel_plugin(behaviour)
    crm = open_crm(extra=[mod])
    for i in (1, 2, 3):
        crm.outbox.queue("pigeon", f"loft-{i}", text="t", key=str(i))
    assert crm.outbox.deliver() == {"sent": 2, "retry": 0, "failed": 0, "skipped": 1}
    assert mod.sent == ["loft-1", "loft-3"]


def test_a_suppression_by_another_process_counts_from_the_runs_next_check(open_crm, monkeypatch):
    """A suppression written by another process (here: straight into the
    table) during a run is read at the run's next check, at most
    ``CHECK_EVERY_S`` later: the later messages to it are skipped."""
    from crmkit.kernel.models import Suppression
    moved = _moving_clock(monkeypatch)

    def behaviour(message):
        if message.recipient == "loft-1":
            Suppression.insert(channel="pigeon", address="loft-3", reason="opted out elsewhere",
                               created_at=crmkit.utcnow()).execute()
            moved[0] += 1.5                       # the next send comes after the next check

    mod = channel_plugin(behaviour)
    crm = open_crm(extra=[mod])
    for i in (1, 2, 3):
        crm.outbox.queue("pigeon", f"loft-{i}", text="t", key=str(i))
    assert crm.outbox.deliver() == {"sent": 2, "retry": 0, "failed": 0, "skipped": 1}
    assert mod.sent == ["loft-1", "loft-2"]


@pytest.mark.sqlite_only
def test_busy_database_during_delivery_leaves_nothing_sending_and_no_duplicate(open_crm, db_url):
    """Another process holds SQLite's write lock (an import) for 1.5 s in the
    middle of a run, longer than this connection waits: result writes are
    retried, nothing is left ``sending``, nothing is sent twice."""
    import sqlite3
    import threading
    import time
    from crmkit.kernel.db import database
    path = db_url.split(":///", 1)[1]
    locker = []

    def hold_the_lock():
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locker.append("held")
        time.sleep(1.5)
        other.execute("COMMIT")
        other.close()

    def behaviour(message):
        if message.recipient == "loft-3" and not locker:
            thread = threading.Thread(target=hold_the_lock)
            thread.start()
            while not locker:
                time.sleep(0.01)

    mod = channel_plugin(behaviour)
    crm = open_crm(extra=[mod])
    for i in range(8):
        crm.outbox.queue("pigeon", f"loft-{i}", text="t", key=str(i))
    database.obj.execute_sql("PRAGMA busy_timeout = 50")
    try:
        counts = crm.outbox.deliver()
    finally:
        database.obj.execute_sql("PRAGMA busy_timeout = 15000")
    assert counts == {"sent": 8, "retry": 0, "failed": 0, "skipped": 0}
    assert crm.outbox.counts() == {"sent": 8}
    assert sorted(mod.sent) == [f"loft-{i}" for i in range(8)]     # each once


def test_unknown_outcome_is_kept_for_the_operator(open_crm):
    def behaviour(message):
        raise crmkit.UnknownOutcome("the connection broke after the final dot")

    crm = open_crm(extra=[channel_plugin(behaviour)])
    msg = crm.outbox.queue("pigeon", "loft-1", text="t", key="k")
    assert crm.outbox.deliver() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "unknown": 1}
    assert crm.outbox.deliver(now=crmkit.utcnow() + dt.timedelta(days=1))["sent"] == 0
    assert crm.outbox.retry() == 0 and crm.outbox.get(msg.id).state == "unknown"
    assert crm.outbox.settle([msg.id], "sent") == 1
    assert crm.outbox.get(msg.id).state == "sent"


def test_delivery_is_for_administrators(open_crm):
    crm = open_crm(extra=[channel_plugin(lambda m: None)])
    crm.create("core.user", {"login": "mk", "name": "Marketer", "roles": "manager"})
    with pytest.raises(crmkit.AccessDenied):
        crm.as_user("mk").outbox.deliver()
    with pytest.raises(crmkit.AccessDenied):
        crm.as_user("mk").outbox.deliver(source="marketing.mailing:1")
