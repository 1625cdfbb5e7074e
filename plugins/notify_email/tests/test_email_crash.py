"""A delivery process killed after the server accepted the message: the
message is sent again, once, with the same Message-ID."""
import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import crmkit

pytestmark = pytest.mark.plugins("notify_email")


def test_killed_after_data_resends_once_with_same_message_id(crm, smtp_server, db_url):
    msg = crm.outbox.queue("email", "a@client.example", subject="s", text="t", key="crash")
    worker = subprocess.Popen([sys.executable, str(Path(__file__).with_name("crash_worker.py")), db_url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        line = worker.stdout.readline()          # blocks until accepted, or EOF if the worker died
        assert line.startswith("ACCEPTED"), worker.stderr.read()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert len(smtp_server.handler.received) == 1
    [stored] = [m for m in crm.outbox.messages() if m.id == msg.id]
    assert stored.state == "sending"             # the crash left it claimed, not sent
    assert crm.outbox.deliver()["sent"] == 0     # the lease still holds
    later = crmkit.utcnow() + dt.timedelta(minutes=10)
    assert crm.outbox.deliver(now=later)["sent"] == 1
    assert crm.outbox.deliver(now=later + dt.timedelta(minutes=10))["sent"] == 0
    first, second = smtp_server.handler.parsed()
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Date"] == second["Date"]
    [stored] = [m for m in crm.outbox.messages() if m.id == msg.id]
    assert stored.state == "sent"
