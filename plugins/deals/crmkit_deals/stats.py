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


def _won_closed(crm, key, query_fn):
    # distinct deals: a deal moved back and forth passes a stage more than once
    won = pw.fn.COUNT(pw.fn.DISTINCT(pw.Case(None, [(D.status == "won", D.id)], None)))
    rows = query_fn(crm.query("deals.deal", key.alias("key"), won.alias("won"),
                              pw.fn.COUNT(pw.fn.DISTINCT(D.id)).alias("closed"))
                    .where(D.status.in_(("won", "lost")))).group_by(key).tuples()
    return {k: (int(w or 0), int(n)) for k, w, n in rows}


def statistics(crm) -> dict:
    """``{"overall": (won, closed), "stage": {id: (won, closed)}, "manager": ..., ...}``."""
    won = pw.fn.SUM(pw.Case(None, [(D.status == "won", 1)], 0))
    overall = crm.query("deals.deal", won, pw.fn.COUNT(D.id)).where(D.status.in_(("won", "lost"))).tuples()[0]
    by_stage = _won_closed(crm, H.stage, lambda q: q.join(H, on=(H.deal == D.id)).where(H.passage == True))  # noqa: E712
    return {"overall": (int(overall[0] or 0), int(overall[1] or 0)), "stage": by_stage,
            "manager": _won_closed(crm, D.responsible, lambda q: q),
            "partner": _won_closed(crm, D.client, lambda q: q),
            "kind": _won_closed(crm, D.kind, lambda q: q)}


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
