"""Two ``mailing send`` of one mailing at the same moment: one queues it,
the other is told it was already sent (or that the database is busy);
never a second set of recipient rows, never a raw database error."""
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.plugins("marketing", "notify_email")

WORKER = """
import sys, time, crmkit
from crmkit_marketing import mailings
crm = crmkit.open(sys.argv[1], plugins=["marketing", "notify_email"])
start = float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
try:
    mailings.send(crm, int(sys.argv[2]))
    print("sent")
except crmkit.ValidationError as exc:
    print("refused", exc)
except crmkit.Busy:
    print("busy")
"""


def test_two_simultaneous_sends_make_one_set_of_recipients(crm, db_url, tmp_path):
    from crmkit_marketing import models as m
    from crmkit_marketing.api import subscribe
    group = crm.create("marketing.mailing_group", {"name": "Новости", "mode": "subscription"})
    template = crm.create("marketing.template", {"name": "Новость", "purpose": "mailing", "group": group.id,
                                                 "subject": "Новости", "body_text": "Текст"})
    n = 60
    for i in range(n):
        partner = crm.create("core.partner", {"name": f"Клиент {i}"})
        crm.create("core.contact_info", {"partner": partner.id, "kind": "email", "value": f"c{i}@client.example"})
        subscribe(crm, group.id, "email", partner=partner.id, method="web form")
    crm.create("core.partner", {"name": "Без адреса"})   # a skipped addressee has a key too
    mailing = crm.create("marketing.mailing", {"name": "Новости", "group": group.id, "template": template.id,
                                               "audience": "subscribers"})
    script = tmp_path / "send.py"
    script.write_text(WORKER)
    start = time.time() + 3
    workers = [subprocess.Popen([sys.executable, str(script), db_url, str(mailing.id), str(start)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [w.communicate(timeout=120) for w in workers]
    for (out, err), w in zip(results, workers):
        assert w.returncode == 0, err           # no traceback: only success, "already sent" or busy
    outcomes = sorted(out.split()[0] for out, _ in results)
    assert outcomes in (["refused", "sent"], ["busy", "sent"]), results
    rows = m.MailingRecipient.select().where(m.MailingRecipient.mailing == mailing.id).count()
    assert rows == n
    assert crm.outbox.counts(source=f"marketing.mailing:{mailing.id}") == {"queued": n}


def test_queueing_one_key_twice_at_once_is_one_message(crm, db_url, tmp_path):
    """The outbox's idempotent insert under a race (the root of the
    UniqueViolation traceback): two processes queue the same key."""
    script = tmp_path / "queue.py"
    script.write_text("""
import sys, time, crmkit
crm = crmkit.open(sys.argv[1], plugins=["marketing", "notify_email"])
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
ids = [crm.outbox.queue("email", f"c{i}@client.example", text="t", key=f"race-{i}").id for i in range(200)]
print(len(set(ids)))
""")
    start = time.time() + 3
    workers = [subprocess.Popen([sys.executable, str(script), db_url, str(start)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), results
    assert crm.outbox.counts() == {"queued": 200}
