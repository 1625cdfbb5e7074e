"""ABC/XYZ classification of 100,000 clients over 2,000,000 sales lines with
12 monthly sub-periods (``crmkit_analysis.classify.run``: aggregation in SQL,
first-sale dates for potential/lost, the client universe, classes in pandas,
the history rows stored) against the database's own
``GROUP BY partner, month`` over the same window of the same table; and side
by side with the independent ``inventorize`` package's ``ABC`` on the same
per-client revenue (when that package is installed; it is not a dependency).

Conventions compared: crmkit puts the item that crosses a threshold in the
higher class (A while the cumulative share *before* the item is below 80 %);
inventorize classes by the cumulative share *including* the item (A while
below 0.8), so the crossing item is B for it. Both rank only clients with a
positive revenue here (crmkit classes the rest C by definition).
"""
from __future__ import annotations

import datetime as dt

import salesdata
from common import Figure, Stopwatch, open_crm, seed_core

TITLE = "ABC/XYZ classification of clients"
REQUIRES = ("analysis",)
PLUGINS = ("analysis",)
AS_OF = dt.date(2025, 1, 1)
WINDOW = (dt.date(2024, 1, 1), dt.date(2025, 1, 1))     # the year before AS_OF, 12 months
SETTINGS = {"measure": "revenue", "abc_period": "year", "abc_periods": 1, "xyz_period": "year",
            "xyz_periods": 1, "xyz_subperiod": "month"}


def setup(ctx):
    clients, n = ctx.n(100_000, 10_000), ctx.n(2_000_000, 200_000)
    products = ctx.n(5_000, 1_000)
    ids = seed_core(ctx, "main", clients, plugins=PLUGINS)
    salesdata.seed_products(ctx, "main", products)
    salesdata.check_ids(ctx, "main", clients, products)
    # 15 months: the 12 of the window and 3 before it (clients lost since)
    data = salesdata.lines(n, clients, products, dt.date(2023, 10, 1), 15, offset=41)
    written = salesdata.insert_lines(ctx, "main", data, ids["managers"])
    con = ctx.connect_bare("main")
    cur = con.cursor()
    cur.execute("ANALYZE")
    con.commit() if ctx.db else None
    con.close()
    return {"clients": clients, "lines": written}


def crmkit_classify(ctx):
    import time
    started = time.perf_counter()
    import pandas  # noqa: F401  -- a running service has it loaded; its import time is reported apart
    pandas_import = time.perf_counter() - started
    from crmkit_analysis.classify import run
    crm = open_crm(ctx, "main", plugins=PLUGINS)
    with Stopwatch() as sw:
        summary = run(crm, "partner", as_of=AS_OF, **SETTINGS)
    crm.close()
    if summary["items"] < ctx.extra["clients"]:
        raise RuntimeError(f"classified {summary['items']} of {ctx.extra['clients']} clients")
    return {"crmkit": sw.seconds, "info": {"items": summary["items"], "classes": summary["classes"],
                                           "pandas_import_s": round(pandas_import, 3),
                                           "xyz_window": summary["xyz_window"]}}


def group_by_sql(ctx) -> str:
    p = ctx.param
    month = "strftime('%Y-%m-01', date)" if ctx.backend == "sqlite" else \
        "to_char(date_trunc('month', date), 'YYYY-MM-DD')"
    false = "0" if ctx.backend == "sqlite" else "false"
    return (f"SELECT partner_id, {month} AS bucket, SUM(revenue) FROM analysis_sale "
            f"WHERE date >= {p} AND date < {p} AND deletion_mark = {false} GROUP BY partner_id, bucket")


def floor_group_by(ctx):
    con = ctx.connect_bare("main")
    cur = con.cursor()
    with Stopwatch() as sw:
        cur.execute(group_by_sql(ctx), (WINDOW[0].isoformat(), WINDOW[1].isoformat()))
        rows = cur.fetchall()
    con.close()
    return {"floor": sw.seconds, "info": {"group_rows": len(rows)}}


# -- the independent peer --------------------------------------------------

def peer_inventorize(ctx):
    import warnings

    import numpy as np
    import pandas as pd
    warnings.filterwarnings("ignore")
    import inventorize
    con = ctx.connect_bare("main")
    cur = con.cursor()
    false = "0" if ctx.backend == "sqlite" else "false"
    with Stopwatch() as sw:
        cur.execute("SELECT p.code, SUM(s.revenue) FROM analysis_sale s JOIN core_partner p ON p.id = s.partner_id "
                    f"WHERE s.date >= {ctx.param} AND s.date < {ctx.param} AND s.deletion_mark = {false} "
                    "GROUP BY p.code HAVING SUM(s.revenue) > 0",
                    (WINDOW[0].isoformat(), WINDOW[1].isoformat()))
        values = pd.DataFrame(cur.fetchall(), columns=["code", "revenue"])
        values["revenue"] = values["revenue"].astype(float)
        theirs = inventorize.ABC(values[["code", "revenue"]])
    # crmkit's classes of the same run (the latest), read after the clock
    cur.execute("SELECT p.code, c.abc_class FROM analysis_client_class c JOIN core_partner p ON p.id = c.partner_id "
                "WHERE c.run_id = (SELECT MAX(id) FROM analysis_run WHERE kind = 'partner') "
                "AND c.abc_class IN ('A', 'B', 'C') AND c.cumulative_share IS NOT NULL")
    ours = dict(cur.fetchall())
    con.close()
    theirs = theirs.set_index("code")
    cumulative = theirs["comulative"].astype(float)          # (sic: the package's column name)
    before = cumulative - theirs["Percentage"].astype(float)
    their_class = theirs["Category"].astype(str)
    # the crossing-item convention: classify by the share of the items before
    adjusted = pd.Series(np.where(before < 0.8, "A", np.where(before < 0.95, "B", "C")), index=theirs.index)
    common = theirs.index.intersection(pd.Index(list(ours)))
    mine = pd.Series(ours).reindex(common)
    same_raw = int((their_class.reindex(common) == mine).sum())
    same_adjusted = int((adjusted.reindex(common) == mine).sum())
    crossing = int(((before < 0.8) & (cumulative >= 0.8)).sum() + ((before < 0.95) & (cumulative >= 0.95)).sum())
    differ = common[adjusted.reindex(common) != mine]
    info = {"peer_items": len(theirs), "crmkit_items_ranked": len(ours), "compared": len(common),
            "same_class_raw": same_raw, "same_class_after_convention": same_adjusted,
            "crossing_items": crossing, "differing_after_convention": [str(c) for c in differ[:10]],
            "peer_counts": their_class.value_counts().to_dict(),
            "crmkit_counts": pd.Series(ours).value_counts().to_dict()}
    detail = f"{same_adjusted}/{len(common)} same ({same_raw} before the crossing-item convention)"
    info["detail"] = detail
    return {"floor": sw.seconds, "info": info}


FIGURES = [
    Figure("abc_xyz", "ABC/XYZ of {clients} clients over {lines} lines, 12 months", "time", 2,
           "GROUP BY partner, month (best of 2)", ("floor_group_by", "crmkit_classify", "floor_group_by")),
    Figure("abc_xyz_memory", "ABC/XYZ classification peak memory", "memory", 600, "-", (),
           memory_of="abc_xyz"),
    Figure("abc_vs_inventorize", "ABC vs inventorize.ABC (same clients)", "time", None,
           "inventorize (SQL sum + ABC)", ("peer_inventorize",), optional_peer="inventorize",
           crmkit_from="abc_xyz"),
]
