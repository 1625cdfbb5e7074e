"""One interaction created through the whole stack against a bare INSERT.

``crm.create("core.interaction", ...)`` as a manager (not an administrator)
with every installed plugin loaded: cerberus validation, role and row-level
access (the partner must be in one of the manager's access groups), the
reference checks, the auto-number, the insert, the change-history row and
the ``crmkit_entity_saved`` event, in one transaction. The floor is one
INSERT of the same columns in its own transaction on the very same database
connection. The two are interleaved call by call so both see the same table
size and the same cache; median and 99th percentile over all calls.
"""
from __future__ import annotations

import datetime as dt
import statistics
import time

from common import Figure, open_crm, rng, seed_core

TITLE = "One interaction through the whole stack"
REQUIRES = ()
WARMUP = 200


def setup(ctx):
    partners = ctx.n(20_000, 5_000)
    ids = seed_core(ctx, "main", partners, everything=True)
    return {"creates": ctx.n(10_000, 2_000), "partners": partners, **ids}


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def interleaved(ctx):
    crm = open_crm(ctx, "main", everything=True, user=ctx.extra["manager_login"])
    model = crm.model("core.interaction")
    visible = [p.id for p in crm.query("core.partner").limit(5000)]
    if not visible:
        raise RuntimeError("the manager sees no partner")
    r = rng(21)
    n = ctx.extra["creates"]
    picks = r.choice(visible, size=n + WARMUP)
    minutes = r.integers(1, 90, n + WARMUP)
    start = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
    con = crm.db.connection()
    sqlite = ctx.backend == "sqlite"
    p = ctx.param
    sql = ("INSERT INTO core_interaction (number, kind, direction, date, duration, topic, text, how, "
           "responsible_id, partner_id, done, deletion_mark, created_at, changed_at) "
           f"VALUES ({', '.join([p] * 14)})")
    me = crm.actor.id

    def bare(i):
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        when = (start + dt.timedelta(minutes=37 * i)).replace(tzinfo=None)
        args = (f"B{i:09d}", "call", "outgoing", when, int(minutes[i]), f"Звонок {i}",
                "Обсудили поставку", "by phone", me, int(picks[i]), True, False, now, now)
        if sqlite:
            con.execute("BEGIN IMMEDIATE")
            con.execute(sql, args)
            con.execute("COMMIT")
        else:
            cur = con.cursor()
            cur.execute(sql, args)
            con.commit()

    def full(i):
        crm.create("core.interaction", {
            "kind": "call", "direction": "outgoing", "date": start + dt.timedelta(minutes=37 * i),
            "duration": int(minutes[i]), "topic": f"Звонок {i}", "text": "Обсудили поставку",
            "how": "by phone", "partner": int(picks[i])})

    for i in range(WARMUP):
        bare(i)
        full(i)
    crm_times, bare_times = [], []
    clock = time.perf_counter
    for i in range(WARMUP, WARMUP + n):
        t0 = clock()
        bare(i)
        t1 = clock()
        full(i)
        t2 = clock()
        bare_times.append(t1 - t0)
        crm_times.append(t2 - t1)
    created = model.select().where(model.number.startswith("00-")).count()
    history = crm.db.execute_sql("SELECT COUNT(*) FROM kernel_change WHERE entity = 'core.interaction'"
                                 ).fetchone()[0] if _has_table(crm, "kernel_change") else None
    crm.close()
    if created != n + WARMUP:
        raise RuntimeError(f"{created} interactions created, expected {n + WARMUP}")
    info = {"calls": n, "crmkit_p99_s": percentile(crm_times, 99), "floor_p99_s": percentile(bare_times, 99),
            "crmkit_mean_s": statistics.fmean(crm_times), "floor_mean_s": statistics.fmean(bare_times),
            "p99_ratio": percentile(crm_times, 99) / percentile(bare_times, 99),
            "plugins": [pl.name for pl in crm.plugins]}
    if history is not None:
        info["history_rows"] = history
    return {"crmkit": statistics.median(crm_times), "floor": statistics.median(bare_times), "info": info}


def _has_table(crm, name):
    return name in crm.db.get_tables()


FIGURES = [
    Figure("interaction_create", "Create 1 interaction, median of {creates} (whole stack)", "time", 10,
           "bare INSERT, same connection", ("interleaved",)),
]
