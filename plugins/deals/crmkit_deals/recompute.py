"""The win probability of every open deal at once (``deals.recompute_
probabilities``): the closed-deal statistics in their GROUP BYs, every
open deal's probability from them in integer arithmetic
(``stats.probabilities``, equal to ``stats.breakdown`` deal by deal), and
the changed rows written by one statement, with their change history (one
row per deal for its probability and method together: the database's cost
of the history is per row, see ``crm.record_changes``).

A deal by deal refresh paid the statistics and a validated write per deal
(2,089 deals took 209 s). A probability from the statistics is always a
whole per cent in 0..100 and the method a valid choice, so the rows need
no per-record validation; what the write path would add is kept: the
update verb, only deals the user sees, ``changed_at``, the change history.
Per-record ``crmkit_entity_saved`` events are not fired, as for a bulk
import: nothing in a deal's lifecycle depends on its probability.
"""
from __future__ import annotations

from itertools import repeat

import peewee as pw

from crmkit import utcnow

from . import models as m
from . import stats

D = m.Deal


def recompute(crm, keep_manual=False):
    """Store the statistical probability on every open deal the user sees
    (method ``statistics``; with ``keep_manual`` deals whose probability is
    set by hand are left alone). Returns what it did, as plain values."""
    crm.require("update", "deals.deal")
    statistics = stats.statistics(crm)
    won, closed = statistics["overall"]
    q = (crm.query("deals.deal", D.id.alias("id"), D.stage.alias("stage"), D.responsible.alias("manager"),
                   D.client.alias("partner"), D.kind.alias("kind"), D.probability.alias("probability"),
                   D.probability_method.alias("method"))
         .where(D.status == "in_work").order_by(D.id))
    if keep_manual:
        q = q.where(D.probability_method == "statistics")
    frame = crm.frame(q)
    done = {"open_deals": len(frame), "changed": 0, "won": won, "closed": closed}
    if not closed or not len(frame):
        return {**done, "note": "no closed deals to learn from" if not closed else "no open deals"}
    new = stats.probabilities(statistics, frame[list(stats.FACTORS)])
    old = frame["probability"].to_numpy(dtype="int64")
    manual = (frame["method"] != "statistics").to_numpy()
    changed = (new != old) | manual
    ids = frame["id"].to_numpy(dtype="int64")[changed]
    values, before, switched = new[changed], old[changed], manual[changed]
    _write(crm, ids.tolist(), values.tolist())
    moved = before != values
    methods = frame["method"].to_numpy(dtype=object)[changed]
    both = moved & switched     # one history row for the two fields of a deal (crm.record_changes)
    crm.record_changes("deals.deal", ("probability", "probability_method"), ids[both].tolist(),
                       list(zip(before[both].tolist(), methods[both].tolist())),
                       [(v, "statistics") for v in values[both].tolist()])
    alone = moved & ~switched
    crm.record_changes("deals.deal", "probability", ids[alone].tolist(), before[alone].tolist(),
                       values[alone].tolist())
    alone = switched & ~moved
    crm.record_changes("deals.deal", "probability_method", ids[alone].tolist(), methods[alone].tolist(),
                       "statistics")
    return {**done, "changed": int(changed.sum())}


def _write(crm, ids, values):
    """``probability`` of each deal in ``ids`` set to its value, the method
    to ``statistics``: one statement (SQLite's executemany runs in C;
    PostgreSQL gets the pairs as two arrays, not a round trip per row). No
    index of ``deals_deal`` holds a column written here, so on PostgreSQL
    the rows are updated in place on their pages (HOT, with the room
    migration 0003 leaves), no index written."""
    if not ids:
        return
    now = D.changed_at.db_value(utcnow())
    if isinstance(crm.db, pw.SqliteDatabase):
        now = now.isoformat(" ")      # the text sqlite3's adapter would make, made once
        crm.db.cursor().executemany(
            'UPDATE "deals_deal" SET "probability" = ?, "probability_method" = \'statistics\', "changed_at" = ? '
            'WHERE "id" = ?', zip(values, repeat(now), ids))
        return
    # the arrays as one text literal each ('{1,2,3}', read by the server's array input): a Python list
    # goes as ARRAY[1, 2, ...], an expression of 200,000 constants that took the server twice as long
    crm.db.execute_sql(
        'UPDATE "deals_deal" AS d SET "probability" = v.p, "probability_method" = %s, "changed_at" = %s '
        'FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::integer[]) AS p) AS v WHERE d."id" = v.id',
        ("statistics", now, _array(ids), _array(values)))


def _array(numbers):
    """Whole numbers as a PostgreSQL array literal."""
    return "{" + ",".join(map(str, map(int, numbers))) + "}"
