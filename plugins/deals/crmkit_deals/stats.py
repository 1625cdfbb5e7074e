"""Win probability from closed-deal statistics, the way 1C estimates it.

For an open deal, the win rate of closed deals (won / (won + lost)) is taken
by stage (closed deals that passed the deal's current stage), by manager, by
partner and by deal kind. Each rate is pulled toward the overall rate with
the weight of ``PRIOR_DEALS`` imaginary deals, so that a group of two deals
does not swing the estimate to 0 % or 100 %; the probability is the average
of the rates that apply. Every count is one GROUP BY over what the acting
user may see.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import peewee as pw

from . import models as m

PRIOR_DEALS = 5
FACTORS = ("stage", "manager", "partner", "kind")
D, H = m.Deal, m.StageHistory


def _by_stage(crm):
    """Won and closed deals per stage passed, each deal once (a deal moved
    back and forth passes a stage more than once).

    On SQLite the distinct (stage, deal) pairs come first, then a plain count
    per stage: two ``COUNT(DISTINCT)`` per stage sorted every passage twice
    (0.61 s of CPU at 1M history rows, against 0.19 s; the pairs come from
    the deal-led passages index in order). On PostgreSQL the distinct pairs
    of that form are hashed after the join, half a million of them, and
    spill to disk under the default ``work_mem``, and a sorted
    ``COUNT(DISTINCT)`` sorts every passage; there the passages are made
    distinct in the history alone, grouped by (deal, stage) straight from
    the deal-led passages index (an index-only scan, already in that
    order), and only then joined to the visible closed deals and counted
    per stage (1.15-1.8x faster at 1M history rows with the visibility map
    set; figures in docs/performance.md)."""
    is_won = pw.Case(None, [(D.status == "won", 1)], 0)
    if not isinstance(crm.db, pw.SqliteDatabase):
        passed = (H.select(H.deal.alias("deal_id"), H.stage.alias("stage_id"))
                  .where(H.passage == True).group_by(H.deal, H.stage).alias("passed"))  # noqa: E712
        rows = (crm.query("deals.deal", passed.c.stage_id, pw.fn.SUM(is_won), pw.fn.COUNT(D.id))
                .join(passed, on=(passed.c.deal_id == D.id))
                .where(D.status.in_(("won", "lost"))).group_by(passed.c.stage_id).tuples())
        return {k: (int(w or 0), int(n)) for k, w, n in rows}
    pairs = (crm.query("deals.deal", H.stage.alias("key"), D.id.alias("deal_id"), is_won.alias("won"))
             .join(H, on=(H.deal == D.id)).where(H.passage == True)  # noqa: E712
             .where(D.status.in_(("won", "lost")))).distinct().alias("passed")
    rows = (D.select(pairs.c.key, pw.fn.SUM(pairs.c.won), pw.fn.COUNT(pairs.c.deal_id))
            .from_(pairs).group_by(pairs.c.key).tuples())
    return {k: (int(w or 0), int(n)) for k, w, n in crm.db.execute(rows).fetchall()}


def statistics(crm) -> dict:
    """``{"overall": (won, closed), "stage": {id: (won, closed)}, "manager": ..., ...}``.

    The stage counts need distinct deals (one query over the history); the
    manager, partner and kind counts come from one GROUP BY of the closed
    deals by all three, summed per factor in pandas."""
    is_won = pw.Case(None, [(D.status == "won", 1)], 0)
    by_stage = _by_stage(crm)
    rows = crm.frame(crm.query("deals.deal", D.responsible.alias("manager"), D.client.alias("partner"),
                               D.kind.alias("kind"), pw.fn.SUM(is_won).alias("won"), pw.fn.COUNT(D.id).alias("closed"))
                     .where(D.status.in_(("won", "lost"))).group_by(D.responsible, D.client, D.kind))
    out = {"overall": (int(rows["won"].sum()), int(rows["closed"].sum())), "stage": by_stage}
    for factor in ("manager", "partner", "kind"):
        sums = rows.groupby(rows[factor].astype(object), dropna=False)[["won", "closed"]].sum()
        out[factor] = {(None if k is None or k != k else int(k)): (int(w), int(n))
                       for k, w, n in zip(sums.index, sums["won"], sums["closed"])}
    return out


def shrunk_rate(won, closed, overall_rate) -> Decimal:
    """(won + k * overall) / (closed + k): a thin group stays near the overall rate."""
    return (Decimal(won) + PRIOR_DEALS * overall_rate) / (Decimal(closed) + PRIOR_DEALS)


def breakdown(stats, stage, manager, partner, kind):
    """Rows per factor and the resulting probability in whole per cent
    (None when there are no closed deals to learn from)."""
    won, closed = stats["overall"]
    if not closed:
        return [], None
    overall = Decimal(won) / Decimal(closed)
    rows = []
    for factor, key in zip(FACTORS, (stage, manager, partner, kind)):
        if key is None:
            continue
        f_won, f_closed = stats[factor].get(key, (0, 0))
        rate = shrunk_rate(f_won, f_closed, overall)
        rows.append({"factor": factor, "key": key, "won": f_won, "closed": f_closed,
                     "raw_rate": (Decimal(100) * f_won / f_closed).quantize(Decimal("0.01")) if f_closed else None,
                     "rate": (Decimal(100) * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)})
    mean = sum((r["rate"] for r in rows), Decimal(0)) / len(rows) if rows else Decimal(100) * overall
    return rows, int(mean.quantize(Decimal("1"), ROUND_HALF_UP))


def probabilities(stats, keys):
    """``breakdown``'s probability for many deals at once, vectorised and
    exact: each rate and the mean are rounded half up on integers as the
    Decimals of ``breakdown`` are (a rate in hundredths of a per cent is
    ``10000 (won C + k W) / (C (closed + k))`` with W of C closed overall).

    :param keys: DataFrame with the columns of ``FACTORS`` (ids, NaN or None
        where a deal has none).
    :return: int64 array of whole per cents, -1 where there is nothing to
        learn from (no closed deals at all).
    """
    import numpy as np
    import pandas as pd
    won_all, closed_all = stats["overall"]
    if not closed_all:
        return np.full(len(keys), -1, dtype="int64")
    total = np.zeros(len(keys), dtype="int64")      # sum of the rates, in hundredths of a per cent
    count = np.zeros(len(keys), dtype="int64")
    for factor in FACTORS:
        column = pd.to_numeric(keys[factor], errors="coerce")
        present = column.notna().to_numpy()
        table = {k: v for k, v in stats[factor].items() if k is not None}
        ids = pd.Series(column.fillna(-1).astype("int64").to_numpy())
        won = ids.map({k: w for k, (w, _) in table.items()}).fillna(0).to_numpy(dtype="int64")
        closed = ids.map({k: n for k, (_, n) in table.items()}).fillna(0).to_numpy(dtype="int64")
        num = 10000 * (won * closed_all + PRIOR_DEALS * won_all)
        den = closed_all * (closed + PRIOR_DEALS)
        rate = (2 * num + den) // (2 * den)
        total += np.where(present, rate, 0)
        count += present
    safe = np.maximum(count, 1)
    mean = (2 * total + 100 * safe) // (200 * safe)
    overall = (200 * won_all + closed_all) // (2 * closed_all)
    return np.where(count > 0, mean, overall).astype("int64")
