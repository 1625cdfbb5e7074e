"""Import of 2,000,000 sales lines from CSV with full validation
(``crm.import_file("analysis.sale", ...)``: the analysis plugin's import
preparation -- numbers, dates, returns, partner and product codes -- then the
kernel's vectorised schema validation, reference resolution among visible
rows, the sign rule, one transaction) against a bare executemany of the same
rows read with the csv module, codes resolved with dicts.
"""
from __future__ import annotations

import csv
import datetime as dt

import salesdata
from common import Figure, Stopwatch, executemany, open_crm, seed_core

TITLE = "Import of analysis.sale lines from CSV"
REQUIRES = ("analysis",)
PLUGINS = ("analysis",)


def setup(ctx):
    n = ctx.n_import(2_000_000, 200_000)
    partners, products = ctx.n(100_000, 10_000), ctx.n(5_000, 1_000)
    ids = {}
    for name in ("crmkit", "floor"):
        ids = seed_core(ctx, name, partners, plugins=PLUGINS)
        salesdata.seed_products(ctx, name, products)
        salesdata.check_ids(ctx, name, partners, products)
    data = salesdata.lines(n, partners, products, dt.date(2023, 10, 1), 15, offset=31)
    path = ctx.file("sales.csv")
    salesdata.frame(data).to_csv(path, index=False)
    returns = int((data["quantity"] < 0).sum())
    return {"lines": n, "csv": str(path), "returns": returns, **ids}


def crmkit_import(ctx):
    crm = open_crm(ctx, "crmkit", plugins=PLUGINS)
    with Stopwatch() as sw:
        summary = crm.import_file("analysis.sale", ctx.extra["csv"])
    crm.close()
    if summary["written"] != ctx.extra["lines"]:
        raise RuntimeError(f"imported {summary['written']} of {ctx.extra['lines']}: "
                           f"{list(summary['errors'].items())[:3]}")
    return {"crmkit": sw.seconds, "info": {"lines": summary["written"], "returns": ctx.extra["returns"],
                                           "rows_per_s_crmkit": round(summary["written"] / sw.seconds)}}


def floor_executemany(ctx):
    con = ctx.connect_bare("floor")
    cur = con.cursor()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    p = ctx.param
    with Stopwatch() as sw:
        cur.execute("SELECT code, id FROM core_partner")
        partner = dict(cur.fetchall())
        cur.execute("SELECT code, id FROM core_product")
        product = dict(cur.fetchall())
        cur.execute("SELECT login, id FROM core_user")
        user = dict(cur.fetchall())
        rows = []
        with open(ctx.extra["csv"], newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            for doc, date, pa, pr, qty, rev, cost, cur_code, man in reader:
                rows.append((doc, date, partner[pa], product[pr], qty, rev, cost, cur_code, user[man],
                             False, now, now))
        executemany(con, "INSERT INTO analysis_sale (document, date, partner_id, product_id, quantity, "
                         "revenue, cost, currency, manager_id, deletion_mark, created_at, changed_at) "
                         f"VALUES ({', '.join([p] * 12)})", rows)
    con.close()
    return {"floor": sw.seconds, "info": {"rows_per_s_floor": round(len(rows) / sw.seconds)}}


FIGURES = [
    Figure("sales_import", "Import {lines} analysis.sale lines (CSV, full validation)", "speed", 0.25,
           "csv + executemany", ("floor_executemany", "crmkit_import")),
]
