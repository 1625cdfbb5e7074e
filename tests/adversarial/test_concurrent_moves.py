"""Concurrent deal moves (issue 16 item 10): 8 processes move, win, lose
and reopen the same four deals for 8 seconds. A move is validated on the
deal read under its write lock, so the stage history stays a true story:

- one open row per deal, the last one, with the deal's stage and status;
- each row starts when the one before ended (no overlap, no gap);
- nothing moves a closed deal (after a won/lost row the stage is the same);
- no phantom passage (a stage "entered" again while the deal was in it);
- no row that changes nothing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import needs

pytestmark = [needs("deals"), pytest.mark.plugins("deals")]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 8
SECONDS = 8
STAGES = ("Контакт", "Предложение", "Исполнение", "Договор")


def test_concurrent_moves_keep_the_stage_history_true(crm, db_url, tmp_path):
    client = crm.create("core.partner", {"name": "Клиент"}).id
    kind = crm.create("deals.kind", {"name": "Вручную", "process": "manual"}).id
    for name in STAGES:
        crm.create("deals.kind_stage", {"kind": kind, "stage": crm.create("deals.stage", {"name": name}).id})
    reason = crm.create("deals.loss_reason", {"name": "Цена"}).id
    deals = [crm.create("deals.deal", {"name": f"Горячая {i}", "client": client, "kind": kind}).id for i in range(4)]
    crm.close()
    (tmp_path / "hot.json").write_text(json.dumps({"deals": deals, "stages": STAGES, "reason": reason}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.adversarial.moves_worker", db_url, str(k),
                               str(SECONDS), str(tmp_path / f"w{k}.json"), str(tmp_path / "hot.json")],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(WORKERS)]
    for p in procs:
        _, err = p.communicate(timeout=SECONDS + 90)
        assert p.returncode == 0, err[-3000:]
    results = [json.loads((tmp_path / f"w{k}.json").read_text()) for k in range(WORKERS)]
    errors = [e for r in results for e in r["errors"]]
    assert errors == [], f"{len(errors)} errors other than refusals and Busy, e.g. {errors[:5]}"
    done = sum(r["done"] for r in results)
    assert done > 100, f"the movers barely ran ({done} writes)"

    import crmkit
    from crmkit_deals import models as m
    crm = crmkit.open(db_url, plugins=["deals"])
    try:
        H = m.StageHistory
        for deal_id in deals:
            deal = m.Deal.get_by_id(deal_id)
            rows = list(H.select().where(H.deal == deal_id).order_by(H.id))
            assert len(rows) > 1
            open_rows = [r for r in rows if r.left_at is None]
            assert open_rows == [rows[-1]], f"deal {deal_id}: {len(open_rows)} open history rows"
            assert (rows[-1].stage_id, rows[-1].status) == (deal.stage_id, deal.status), \
                f"deal {deal_id}: the open row says {rows[-1].status} at {rows[-1].stage_id}, " \
                f"the deal is {deal.status} at {deal.stage_id}"
            for prev, cur in zip(rows, rows[1:]):
                where = f"deal {deal_id}, history rows {prev.id} -> {cur.id}"
                assert prev.left_at == cur.entered_at, f"{where}: overlap or gap"
                assert (prev.stage_id, prev.status) != (cur.stage_id, cur.status), f"{where}: a row that changes nothing"
                if prev.status != "in_work":
                    assert cur.stage_id == prev.stage_id, f"{where}: a {prev.status} deal was moved"
                if cur.passage:
                    assert cur.stage_id != prev.stage_id, f"{where}: a phantom passage (stage entered again)"
    finally:
        crm.close()
    print(f"{done} writes, {sum(r['refused'] for r in results)} refused, {sum(r['busy'] for r in results)} busy")
