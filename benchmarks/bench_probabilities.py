"""The win probability of every open deal at once (``crm.act("deals.
recompute_probabilities")``: the closed-deal statistics through
``crm.query``, every open deal's probability in integer arithmetic, the
changed rows written by one statement with their change history) against
the GROUP BYs that compute the statistics, written by hand: recomputing
must cost at most three times learning the figures it applies.

The base: 300,000 deals (200,000 in work, the rest won or lost, with their
~1.2M stage-history rows) of 50,000 clients, generated as for the funnel
(``bench_deals.seed_deals``); every open deal's probability is manual, so
the one recompute changes all of them. Small scale: a tenth.

A second figure sets the same recompute against its whole work written by
hand (the statistics, one set-based UPDATE of the open deals, the history as
INSERT ... SELECT). On PostgreSQL the UPDATE is a HOT update (no index of
``deals_deal`` holds the columns it writes, and migration 0003 leaves room
on the pages for the new versions): before that room every index of the
table was written again for each row. What is left above the GROUP BYs
there was mostly the server writing two history rows per deal; the
history now has one row per deal for both fields (``crm.record_changes``
of several fields, shown per field by ``crm.history``), and the floor
writes it the same way (docs/performance.md). The ``info`` of the crmkit phase has the table's
HOT share of the run's updates on PostgreSQL.
"""
from __future__ import annotations

from bench_deals import PLUGINS, _false, seed_deals
from common import Figure, Stopwatch, open_crm, seed_core

TITLE = "Deal probabilities recomputed at once"
REQUIRES = ("deals",)


def setup(ctx):
    n_deals, partners = ctx.n(300_000, 30_000), ctx.n(50_000, 5_000)
    ids = seed_core(ctx, "main", partners, plugins=PLUGINS)
    info = seed_deals(ctx, "main", n_deals, partners, ids["managers"], outcomes=(0.12, 0.213333, 0.666667))
    con = ctx.connect_bare("main")
    cur = con.cursor()
    cur.execute("SELECT COUNT(*) FROM deals_deal WHERE status = 'in_work'")
    info["open"] = cur.fetchone()[0]
    con.close()
    return info


def statistics_sql(ctx):
    """The two GROUP BYs of ``crmkit_deals.stats.statistics``."""
    passage = "1" if ctx.backend == "sqlite" else "true"
    closed = f"d.status IN ('won', 'lost') AND d.deletion_mark = {_false(ctx)}"
    return [("SELECT h.stage_id, COUNT(DISTINCT CASE WHEN d.status = 'won' THEN d.id END), COUNT(DISTINCT d.id) "
             "FROM deals_deal d JOIN deals_stage_history h ON h.deal_id = d.id "
             f"WHERE {closed} AND h.passage = {passage} GROUP BY h.stage_id"),
            ("SELECT d.responsible_id, d.client_id, d.kind_id, SUM(CASE WHEN d.status = 'won' THEN 1 ELSE 0 END), "
             f"COUNT(d.id) FROM deals_deal d WHERE {closed} GROUP BY d.responsible_id, d.client_id, d.kind_id")]


def floor_statistics(ctx):
    con = ctx.connect_bare("main")
    cur = con.cursor()
    with Stopwatch() as sw:
        rows = 0
        for sql in statistics_sql(ctx):
            cur.execute(sql)
            rows += len(cur.fetchall())
    con.close()
    return {"floor": sw.seconds, "info": {"floor_rows": rows}}


def floor_write(ctx):
    """The statistics, then the same writes by hand as set-based SQL: every
    open deal's probability and method in one UPDATE, the history as one
    INSERT ... SELECT of a row per deal for both fields, as crmkit writes it
    (``crm.record_changes`` of several fields); rolled back, so the deals
    stay as seeded."""
    con = ctx.connect_bare("main")
    cur = con.cursor()
    history = ("INSERT INTO kernel_change (entity, record_id, action, field, old, new, \"user\", at) "
               "SELECT 'deals.deal', id, 'update', 'probability,probability_method', '[\"1\", \"manual\"]', "
               "'[\"2\", \"statistics\"]', 'admin', changed_at FROM deals_deal WHERE status = 'in_work'")
    with Stopwatch() as sw:
        if ctx.backend == "sqlite":
            cur.execute("BEGIN")
        for sql in statistics_sql(ctx):
            cur.execute(sql)
            cur.fetchall()
        cur.execute("UPDATE deals_deal SET probability = (probability + 1) % 101, probability_method = 'statistics', "
                    "changed_at = created_at WHERE status = 'in_work'")
        cur.execute(history)
    con.rollback() if ctx.backend != "sqlite" else cur.execute("ROLLBACK")
    con.close()
    return {"floor": sw.seconds}


def crmkit_recompute(ctx):
    import pandas  # noqa: F401  -- loaded in any running service; not part of the figure
    crm = open_crm(ctx, "main", plugins=PLUGINS)
    before = _updates(crm)
    with Stopwatch() as sw:
        done = crm.act("deals.recompute_probabilities")
    after = _updates(crm)
    crm.close()
    if done["changed"] != done["open_deals"]:
        raise RuntimeError(f"expected every open deal to change: {done}")
    if before is not None:
        done = {**done, "updates": after[0] - before[0], "hot_updates": after[1] - before[1]}
    return {"crmkit": sw.seconds, "info": done}


def _updates(crm):
    """PostgreSQL's counts of updated and HOT-updated rows of deals_deal
    (this session's counts flushed first), or None on SQLite."""
    import time

    from crmkit.kernel.db import is_sqlite
    if is_sqlite(crm.db):
        return None
    time.sleep(1.1)    # the statistics a backend reports are flushed at most once a second
    return tuple(crm.db.execute_sql("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                                    "WHERE relname = 'deals_deal'").fetchone())


FIGURES = [
    Figure("deals_recompute_probabilities", "Recompute the probability of {open} open deals ({deals} deals)",
           "time", 3, "the statistics' GROUP BYs by hand (best of 2)",
           ("floor_statistics", "crmkit_recompute", "floor_statistics")),
    # the write has a floor of its own: the statistics, one UPDATE and the history by hand
    Figure("deals_recompute_vs_sql", "The same recompute against its statistics and writes by hand", "time", 2,
           "statistics + one UPDATE + INSERT ... SELECT of the history, a row per deal (best of 2)",
           ("floor_write", "floor_write"), crmkit_from="deals_recompute_probabilities"),
]
