"""Crashes: a process SIGKILLed in the middle of an import, a mailing send,
an outbox delivery run, a classification run and a migration leaves either
the old or the new state; running the job again finishes it with nothing
lost and nothing doubled.

The work runs in a subprocess (``crash_driver.py``) that prints ``tick``
each time it has written a unit of work (inside the transaction, before the
commit) and then pauses; the test kills it after a few ticks.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import crmkit

from . import crashkit
from .conftest import needs

pytestmark = pytest.mark.plugins()

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra):
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def kill_after(ticks, *args, **env):
    """Run the driver; SIGKILL it once it has printed ``ticks`` ticks."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.adversarial.crash_driver", *map(str, args)],
                            cwd=ROOT, env=_env(CRASH_PAUSE="0.2", **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0
    for line in proc.stdout:
        if line.startswith("tick"):
            seen += 1
            if seen >= ticks:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"finished before the kill: {proc.stderr.read()[-2000:]}"
    return seen


def run_to_end(*args, **env):
    proc = subprocess.run([sys.executable, "-m", "tests.adversarial.crash_driver", *map(str, args)],
                          cwd=ROOT, env=_env(CRASH_PAUSE="0", **env), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.rstrip().endswith("done"), proc.stdout[-1000:]
    return proc.stdout


def codes(crm, entity="core.partner", field="code"):
    model = crm.model(entity)
    return [c for (c,) in model.select(getattr(model, field)).tuples()]


# -- import -----------------------------------------------------------------

def test_killed_import_leaves_nothing_and_rerun_imports_once(crm, db_url, tmp_path):
    crm.create("core.partner", {"name": "before"})
    rows = 10_000
    path = tmp_path / "partners.csv"
    path.write_text("name,kind,comment\n" + "".join(f"Партнёр {i},company,row {i}\n" for i in range(rows)),
                    encoding="utf-8")
    assert kill_after(2, "import", db_url, path) == 2          # two chunks of 2000 written, then killed
    assert crm.count("core.partner", include_marked=True) == 1  # the old state
    assert f"\n{rows}\n" in run_to_end("import", db_url, path)
    assert crm.count("core.partner", include_marked=True) == rows + 1
    names = [p.name for p in crm.find("core.partner", limit=None)]
    assert len(set(names)) == rows + 1
    all_codes = codes(crm)
    assert len(set(all_codes)) == rows + 1
    assert crm.create("core.partner", {"name": "after"}).code not in all_codes


# -- outbox delivery ---------------------------------------------------------

def test_killed_delivery_run_loses_nothing_and_doubles_at_most_the_message_in_flight(open_crm, db_url, tmp_path):
    crm = open_crm(extra=[crashkit.channel_plugin()])
    total = 60
    for i in range(total):
        crm.outbox.queue("pigeon", f"loft-{i}", text=f"message {i}", key=f"k{i}")
    log = tmp_path / "delivered.log"
    kill_after(10, "deliver", db_url, "", CRASH_LOG=str(log))
    states = crm.outbox.counts()
    assert sum(states.values()) == total and states.get("sent", 0) <= 10
    # a restart honours the lease of the dead run's claims, then takes them over
    later = crmkit.utcnow() + dt.timedelta(minutes=10)
    run_to_end("deliver", db_url, later.isoformat(), CRASH_LOG=str(log))
    delivered = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    ids = [int(i) for i, _ in delivered]
    assert set(ids) == {m.id for m in crm.outbox.messages(limit=1000)}, "a message was lost"
    doubled = {i for i in ids if ids.count(i) > 1}
    assert len(doubled) <= 1, f"delivered twice: {sorted(doubled)}"
    assert crm.outbox.counts() == {"sent": total}


# -- mailing send ----------------------------------------------------------

@needs("marketing")
@pytest.mark.plugins("marketing")
def test_killed_mailing_send_queues_nothing_and_rerun_queues_each_once(open_crm, db_url, tmp_path):
    import pandas as pd
    crm = open_crm(plugins=["marketing"], extra=[crashkit.channel_plugin()])
    n = 40
    crm.import_frame("core.partner", pd.DataFrame({"name": [f"Клиент {i}" for i in range(n)]}))
    partners = crm.find("core.partner", limit=None)
    crm.import_frame("core.contact_info", pd.DataFrame({
        "partner": [p.id for p in partners], "kind": ["email"] * n,
        "value": [f"client{p.id}@mail.example" for p in partners]}))
    segment = crm.create("core.segment", {"name": "все"})
    from crmkit.core.segments import add_members
    add_members(crm, segment.id, [p.id for p in partners])
    group = crm.create("marketing.mailing_group", {"name": "Новости", "mode": "forced"})
    template = crm.create("marketing.template", {"name": "t", "purpose": "mailing", "group": group.id,
                                                 "subject": "Здравствуйте, #ПредставлениеПартнера#",
                                                 "body_text": "Новости"})
    mailing = crm.create("marketing.mailing", {"name": "Новости", "group": group.id, "template": template.id,
                                               "audience": "segment", "segment": segment.id})
    kill_after(5, "send", db_url, mailing.id)
    assert crm.outbox.counts() == {}
    assert crm.get("marketing.mailing", mailing.id).state != "sent"
    assert crm.count("marketing.mailing_recipient") == 0
    run_to_end("send", db_url, mailing.id)
    messages = crm.outbox.messages(limit=1000)
    assert len(messages) == n and len({m.recipient for m in messages}) == n
    assert crm.count("marketing.mailing_recipient") == n
    assert crm.get("marketing.mailing", mailing.id).state == "sent"


# -- classification run -------------------------------------------------------

@needs("analysis")
@pytest.mark.plugins("analysis")
def test_killed_classification_leaves_no_half_run_and_rerun_stores_it_once(open_crm, db_url):
    import pandas as pd
    crm = open_crm(plugins=["analysis"])
    n = 30
    crm.import_frame("core.partner", pd.DataFrame({"name": [f"Клиент {i}" for i in range(n)]}))
    crm.create("core.product", {"code": "TV", "name": "Телевизор"})
    partners = crm.find("core.partner", limit=None)
    sales = [{"document": f"РТУ-{i}-{month}", "date": f"2015-{month:02d}-10", "partner": p.code,
              "product": "TV", "quantity": "1", "revenue": str(100 * (i + 1)), "cost": "50", "currency": "RUB"}
             for i, p in enumerate(partners) for month in (1, 2, 3)]
    crm.import_frame("analysis.sale", pd.DataFrame(sales))
    Run, Class = crm.model("analysis.run"), crm.model("analysis.client_class")
    kill_after(1, "classify", db_url, "2015-04-01")
    assert Run.select().count() == 0 and Class.select().count() == 0
    assert run_to_end("classify", db_url, "2015-04-01")
    assert run_to_end("classify", db_url, "2015-04-01")          # a re-run replaces, never doubles
    assert Run.select().count() == 1
    per_partner = Class.select(Class.partner).distinct().count()
    assert Class.select().count() == per_partner >= n


# -- migration ----------------------------------------------------------------

def test_killed_migration_leaves_the_old_schema_and_rerun_applies_it_once(crm, db_url):
    kill_after(3, "migrate", db_url)
    tables = set(crm.db.get_tables())
    assert "crashmig_item" not in tables                        # the old schema
    if "crashmig_schema_migration" in tables:
        assert crm.db.execute_sql('SELECT COUNT(*) FROM "crashmig_schema_migration"').fetchone()[0] == 0
    run_to_end("migrate", db_url)
    assert crm.db.execute_sql('SELECT COUNT(*), COUNT(DISTINCT n) FROM "crashmig_item"').fetchone() == \
        (crashkit.MIGRATION_ROWS, crashkit.MIGRATION_ROWS)
    assert crm.db.execute_sql('SELECT COUNT(*) FROM "crashmig_schema_migration"').fetchone()[0] == 1
    run_to_end("migrate", db_url)                                # nothing left to apply
    assert crm.db.execute_sql('SELECT COUNT(*) FROM "crashmig_item"').fetchone()[0] == crashkit.MIGRATION_ROWS
