"""The efficiency report in a report currency: 200,000 deals in three
currencies (RUB, USD, CNY, a third each) converted to RUB at the rate of each
deal's start date (``report_currency=RUB``: a correlated sub-select on the
rates' ``(currency, date)`` index inside the report's query, after the
check that every currency has a rate) against the same report over the same
deals all in one currency, measured in the same run on the same database.

The deals and their stage history are ``bench_deals``'s; the rates are one a
calendar day per foreign currency over the deals' 18 months and before
(~1,100 rows), as the Central Bank publishes them. The floor phase sets every
deal to RUB, the crmkit phase sets two thirds to USD and CNY (plain UPDATEs,
not measured), so both reports read the same rows and plan.
"""
from __future__ import annotations

import datetime as dt

from bench_deals import PLUGINS, seed_deals
from common import Figure, Stopwatch, open_crm, seed_core

TITLE = "Reports in a report currency"
REQUIRES = ("deals",)
RATES = {"USD": (90.0, 1), "CNY": (125.0, 10)}   # a start rate and multiplier per currency


def setup(ctx):
    n_deals, partners = ctx.n(200_000, 20_000), ctx.n(50_000, 5_000)
    ids = seed_core(ctx, "main", partners, plugins=PLUGINS)
    sizes = seed_deals(ctx, "main", n_deals, partners, ids["managers"])
    return {**sizes, "rates": _seed_rates(ctx)}


def _seed_rates(ctx) -> int:
    """Daily rates of USD and CNY from 2022-12-01 to 2024-07-31, a slow walk."""
    import numpy as np
    first, days = dt.date(2022, 12, 1), (dt.date(2024, 7, 31) - dt.date(2022, 12, 1)).days + 1
    walk = np.cumsum(np.random.default_rng(71).normal(0, 0.004, days))
    rows = []
    for currency, (start, multiplier) in RATES.items():
        for i in range(days):
            rows.append((currency, (first + dt.timedelta(days=i)).isoformat(), round(start * float(np.exp(walk[i])), 4),
                         multiplier, "bench", False))
    con = ctx.connect_bare("main")
    cur = con.cursor()
    cur.executemany(f"INSERT INTO core_currency_rate (currency, date, rate, multiplier, source, deletion_mark) "
                    f"VALUES ({', '.join([ctx.param] * 6)})", rows)
    cur.execute("ANALYZE")
    if ctx.db:
        con.commit()
    con.close()
    return len(rows)


def _currencies(ctx, three: bool):
    con = ctx.connect_bare("main")
    cur = con.cursor()
    if three:
        cur.execute("UPDATE deals_deal SET currency = CASE id % 3 WHEN 1 THEN 'USD' WHEN 2 THEN 'CNY' ELSE 'RUB' END")
    else:
        cur.execute("UPDATE deals_deal SET currency = 'RUB'")
    if ctx.db:   # the UPDATE left a dead copy of every row: both sides read a vacuumed, analysed table
        con.commit()
        con.autocommit = True
        cur.execute("VACUUM ANALYZE deals_deal")
    else:
        cur.execute("ANALYZE")
    con.close()


def _report(ctx, **params):
    import pandas  # noqa: F401  -- loaded in any running service; not part of the figure
    crm = open_crm(ctx, "main", plugins=PLUGINS)
    with Stopwatch() as sw:
        result = crm.report("deals.efficiency", **params)
    by_status = [str(v) for v in result["By status"]["Potential sales amount"]]
    crm.close()
    return sw.seconds, by_status


def floor_one_currency(ctx):
    _currencies(ctx, three=False)
    seconds, sums = _report(ctx)
    return {"floor": seconds, "info": {"one_currency": sums}}


def crmkit_converted(ctx):
    _currencies(ctx, three=True)
    seconds, sums = _report(ctx, report_currency="RUB")
    return {"crmkit": seconds, "info": {"converted": sums}}


def floor_summary(ctx):
    _currencies(ctx, three=False)
    seconds, sums = _report(ctx, detail=False)
    return {"floor": seconds, "info": {"one_currency": sums}}


def crmkit_summary(ctx):
    _currencies(ctx, three=True)
    seconds, sums = _report(ctx, detail=False, report_currency="RUB")
    return {"crmkit": seconds, "info": {"converted": sums}}


FIGURES = [
    Figure("currency_efficiency", "Efficiency (detail tree), {deals} deals in 3 currencies to RUB", "time", 1.5,
           "the same report, every deal in RUB", ("floor_one_currency", "crmkit_converted"), timeout=300),
    Figure("currency_efficiency_summary", "Efficiency by status, {deals} deals in 3 currencies to RUB", "time", 1.5,
           "the same report, every deal in RUB", ("floor_summary", "crmkit_summary"), timeout=300),
]
