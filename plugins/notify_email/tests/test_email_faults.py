"""Delivery against an SMTP server that refuses, defers, drops, stalls, greets
forever or never: every message ends in a recorded state, none is sent twice
without a crash, and no run hangs."""
import datetime as dt
import os
import subprocess
import sys
import time

import pytest

import crmkit

from faultsmtp import FaultSmtp

pytestmark = pytest.mark.plugins("notify_email")
LATER = dt.timedelta(hours=7)


@pytest.fixture
def fault(monkeypatch, smtp_env):
    """A FaultSmtp the email settings point at; ``fault.mode`` set per test."""
    with FaultSmtp() as server:
        monkeypatch.setenv("CRMKIT_SMTP_PORT", str(server.port))
        monkeypatch.setenv("CRMKIT_SMTP_TIMEOUT", "1")
        yield server


def _queue(crm, n, prefix="m", text="t"):
    return [crm.outbox.queue("email", f"{prefix}{i}@client.example", subject="s", text=text, key=f"{prefix}{i}")
            for i in range(n)]


def _states(crm):
    return crm.outbox.counts()


@pytest.mark.parametrize("mode, outcome, state, error", [
    ("refuse_rcpt", "failed", "failed", "hard bounce: 550"),
    ("defer_rcpt", "retry", "queued", "451"),
    ("defer_data", "retry", "queued", "451"),
])
def test_refusal_and_deferral(crm, fault, mode, outcome, state, error):
    fault.mode = mode
    [msg] = _queue(crm, 1)
    assert crm.outbox.deliver()[outcome] == 1
    stored = crm.outbox.get(msg.id)
    assert stored.state == state and error in stored.last_error
    assert fault.taken == []


def test_drop_mid_data_of_a_large_message_is_retried(crm, fault):
    """The server hangs up while the message is still being written: it
    cannot have taken it, so the message is retried (and arrives once)."""
    fault.mode = "drop_mid_data"
    [msg] = _queue(crm, 1, text="x" * 8_000_000)
    counts = crm.outbox.deliver()
    assert counts["retry"] == 1, counts
    assert crm.outbox.get(msg.id).state == "queued"
    fault.mode = "ok"
    assert crm.outbox.deliver(now=crmkit.utcnow() + LATER)["sent"] == 1
    assert fault.duplicates() == 0 and len(fault.taken) == 1


def test_drop_after_the_whole_message_was_written_is_unknown(crm, fault):
    """A small message is wholly written before the server hangs up: whether
    it took it cannot be known, so it is recorded ``unknown``, not resent."""
    fault.mode = "drop_mid_data"
    [msg] = _queue(crm, 1)
    assert crm.outbox.deliver().get("unknown") == 1
    stored = crm.outbox.get(msg.id)
    assert stored.state == "unknown" and "may have accepted" in stored.last_error
    fault.mode = "ok"
    assert crm.outbox.deliver(now=crmkit.utcnow() + LATER)["sent"] == 0   # not retried by itself
    assert crm.outbox.retry() == 0                                       # nor by a bulk retry
    assert crm.outbox.retry([msg.id]) == 1                               # the operator decides
    assert crm.outbox.deliver()["sent"] == 1


def test_slow_final_dot_reply_is_waited_for_not_resent(crm, fault, monkeypatch):
    """The issue's case: a 3 s reply to the final dot with a 1 s timeout.
    The final dot has its own long timeout: every message arrives once."""
    fault.mode, fault.delay = "slow_dot", 2.5
    monkeypatch.setenv("CRMKIT_SMTP_DATA_TIMEOUT", "20")
    _queue(crm, 3)
    assert crm.outbox.deliver()["sent"] == 3
    assert fault.duplicates() == 0 and len(fault.taken) == 3


def test_final_dot_timeout_is_unknown_and_never_duplicated(crm, fault, monkeypatch):
    fault.mode, fault.delay = "slow_dot", 3
    monkeypatch.setenv("CRMKIT_SMTP_DATA_TIMEOUT", "1")
    [msg] = _queue(crm, 1)
    assert crm.outbox.deliver().get("unknown") == 1
    assert crm.outbox.get(msg.id).state == "unknown"
    for later in (LATER, 2 * LATER):
        crm.outbox.deliver(now=crmkit.utcnow() + later)
    assert fault.duplicates() == 0 and len(fault.taken) == 1


def test_message_deadline_bounds_a_slow_server(crm, fault, monkeypatch):
    fault.mode, fault.delay = "slow_dot", 5
    monkeypatch.setenv("CRMKIT_SMTP_DATA_TIMEOUT", "60")
    monkeypatch.setenv("CRMKIT_OUTBOX_MESSAGE_DEADLINE", "1")
    [msg] = _queue(crm, 1)
    started = time.monotonic()
    assert crm.outbox.deliver().get("unknown") == 1
    assert time.monotonic() - started < 4
    assert "deadline" in crm.outbox.get(msg.id).last_error


@pytest.mark.parametrize("mode", ["endless_greeting", "no_greeting"])
def test_a_server_that_never_greets_trips_the_breaker(crm, fault, mode):
    """Three connection failures in a row stop the channel for the run; the
    rest of the claim is given back untouched (no attempt counted)."""
    fault.mode = mode
    msgs = _queue(crm, 8)
    started = time.monotonic()
    counts = crm.outbox.deliver()
    took = time.monotonic() - started
    assert counts["retry"] == 3 and counts["released"] == 5, counts
    assert took < 8, took                    # 3 x the 1 s connection bound, not forever
    assert _states(crm) == {"queued": 8}     # nothing left "sending"
    attempts = sorted(crm.outbox.get(m.id).attempts for m in msgs)
    assert attempts == [0] * 5 + [1] * 3
    assert "greeting" in crm.outbox.get(msgs[0].id).last_error or "connect" in crm.outbox.get(msgs[0].id).last_error


def test_run_deadline_stops_claiming_and_gives_back_the_rest(crm, fault):
    fault.mode, fault.delay = "slow_dot", 0.4
    _queue(crm, 10)
    counts = crm.outbox.deliver(deadline_s=1)
    assert 1 <= counts["sent"] <= 4 and counts["sent"] + counts["released"] == 10, counts
    assert _states(crm) == {"sent": counts["sent"], "queued": 10 - counts["sent"]}
    assert fault.duplicates() == 0


WORKER = """
import sys, crmkit
crm = crmkit.open(sys.argv[1], plugins=["notify_email"])
print(crm.outbox.deliver(), flush=True)
"""


def test_lease_is_renewed_while_sending_two_deliverers_no_duplicates(crm, fault, db_url, monkeypatch, tmp_path):
    """The issue's case scaled down: a slow sink (0.1 s a message), a lease
    of 0.6 s, run A starts, run B starts 1 s later (A's lease would have
    expired without renewal), both deliver. Every message arrives exactly once."""
    fault.mode, fault.delay = "slow_dot", 0.1
    monkeypatch.setenv("CRMKIT_OUTBOX_LEASE", "0.6")
    msgs = _queue(crm, 80)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    a = subprocess.Popen([sys.executable, str(script), db_url], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    time.sleep(1.0)
    b = subprocess.Popen([sys.executable, str(script), db_url], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    out_a, err_a = a.communicate(timeout=120)
    out_b, err_b = b.communicate(timeout=120)
    assert a.returncode == 0 and b.returncode == 0, err_a + err_b
    ids = fault.message_ids()
    print("two deliverers:", out_a.strip(), "|", out_b.strip(), "| duplicates", fault.duplicates())
    assert fault.duplicates() == 0, ids
    assert len(ids) == 80
    assert _states(crm) == {"sent": 80}
    assert all(crm.outbox.get(m.id).attempts == 1 for m in msgs)


def test_the_operator_settles_unknown_messages_from_the_cli(crm, cli, fault):
    fault.mode = "drop_mid_data"
    first, second = _queue(crm, 2)
    fault.mode = "drop_mid_data"
    cli("outbox", "deliver")
    assert {crm.outbox.get(m.id).state for m in (first, second)} == {"unknown"}
    assert "unknown" in cli("outbox", "list", "--state", "unknown").output
    assert "settled 1 messages as sent" in cli("outbox", "settle", str(first.id), "--sent").output
    assert "requeued 0" in cli("outbox", "retry").output
    assert "requeued 1" in cli("outbox", "retry", "--unknown").output
    assert cli("outbox", "settle", str(first.id), "--sent", user="nobody").exit_code != 0
    fault.mode = "ok"
    cli("outbox", "deliver")
    assert crm.outbox.get(second.id).state == "sent" and crm.outbox.get(first.id).state == "sent"
    assert len(fault.taken) == 1
