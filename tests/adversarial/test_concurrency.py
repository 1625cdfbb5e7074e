"""Concurrency: 8 processes create and update interactions (and deals, with
the deals plugin) for 20 seconds, on SQLite and on PostgreSQL. No
acknowledged write is lost, no code is given twice, and no error reaches
a writer but ``crmkit.Busy`` ("busy, try again").
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import installed

PLUGINS = ["deals"] if installed("deals") else []
pytestmark = pytest.mark.plugins(*PLUGINS)

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 8
SECONDS = 20


def test_eight_writers_lose_nothing_and_share_no_code(crm, db_url, tmp_path):
    partners = [crm.create("core.partner", {"name": f"Клиент {i}"}).id for i in range(10)]
    hot = {"core.interaction": [crm.create("core.interaction", {"kind": "meeting", "date": "2015-10-20",
                                                                "partner": partners[i], "topic": f"hot {i}"}).id
                                for i in range(4)]}
    if PLUGINS:
        hot["deals.deal"] = [crm.create("deals.deal", {"name": f"hot {i}", "client": partners[i]}).id
                             for i in range(4)]
    counts_before = {e: crm.count(e, include_marked=True) for e in hot}
    crm.close()
    (tmp_path / "hot.json").write_text(json.dumps(hot))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.adversarial.concurrency_worker", db_url, str(k),
                               str(SECONDS), str(tmp_path / f"w{k}.json"), ",".join(PLUGINS),
                               str(tmp_path / "hot.json")],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(WORKERS)]
    for p in procs:
        _, err = p.communicate(timeout=SECONDS + 60)
        assert p.returncode == 0, err[-3000:]
    results = [json.loads((tmp_path / f"w{k}.json").read_text()) for k in range(WORKERS)]
    errors = [e for r in results for e in r["errors"]]
    assert errors == [], f"{len(errors)} errors other than Busy, e.g. {errors[:5]}; {results[0]['seen']}"
    created = [c for r in results for c in r["created"]]
    updated = [u for r in results for u in r["updated"]]
    assert len(created) > 50 and len(updated) > 50, "the writers barely ran"

    import crmkit
    from crmkit.kernel.models import Change
    crm = crmkit.open(db_url, plugins=PLUGINS)
    try:
        for entity in hot:
            mine = [c for c in created if c[0] == entity]
            assert crm.count(entity, include_marked=True) == counts_before[entity] + len(mine), \
                f"{entity}: rows written that no writer was told about, or acknowledged rows missing"
            spec = crm.registry.entity(entity)
            code_field = getattr(crm.model(entity), spec.code_field)
            all_codes = [c for (c,) in crm.model(entity).select(code_field).tuples()]
            assert len(all_codes) == len(set(all_codes)), f"{entity}: a code was given twice"
            for _, rid, code, label in mine:
                record = crm.get(entity, rid)
                assert getattr(record, spec.code_field) == code
                assert (record.topic if entity == "core.interaction" else record.name) == label
            # every acknowledged update is in the history, and the last one is what is stored
            field = "topic" if entity == "core.interaction" else "comment"
            logged = {}
            for change in Change.select().where((Change.entity == entity) & (Change.field == field)) \
                    .order_by(Change.id):
                logged.setdefault(change.record_id, []).append(change.new)
            for _, rid, _, value in (u for u in updated if u[0] == entity):
                assert value in logged.get(rid, []), f"{entity} {rid}: acknowledged update {value!r} lost"
            for rid in hot[entity]:
                if rid in logged:
                    assert getattr(crm.get(entity, rid), field) == logged[rid][-1], \
                        f"{entity} {rid}: stored value is not the last logged write"
    finally:
        crm.close()
    print(f"{len(created)} creates, {len(updated)} updates, {sum(r['busy'] for r in results)} busy")
