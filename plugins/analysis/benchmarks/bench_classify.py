"""ABC/XYZ classification of 100,000 clients over 2,000,000 sales lines with
12 monthly sub-periods, against the database's own
``GROUP BY partner, sub-period`` over the same table. Prints the ratio and
the peak memory of the process.

    python plugins/analysis/benchmarks/bench_classify.py [DB_URL] [--lines N] [--clients N]
"""
import argparse
import datetime as dt
import random
import resource
import tempfile
import time

import crmkit


def fill(crm, clients, lines):
    db = crm.db
    now = dt.datetime(2015, 1, 1)
    cur = db.cursor()
    p = db.param
    cur.executemany(f'INSERT INTO "core_partner" (code, kind, public_name, name, is_client, is_supplier, '
                    f'is_competitor, is_other, comment, deletion_mark, created_at, changed_at) '
                    f'VALUES ({", ".join([p] * 12)})',
                    [(f"B{i:07d}", "company", "", f"Client {i}", True, False, False, False, "", False, now, now)
                     for i in range(clients)])
    cur.executemany(f'INSERT INTO "core_product" (code, name, unit, comment, deletion_mark, created_at, changed_at) '
                    f'VALUES ({", ".join([p] * 7)})',
                    [(f"G{i}", f"Product {i}", "pcs", "", False, now, now) for i in range(500)])
    partner_ids = [pk for (pk,) in crm.model("core.partner").select(crm.model("core.partner").id)
                   .order_by(crm.model("core.partner").id).tuples()]
    first_product = crm.model("core.product").select().order_by(crm.model("core.product").id).first().id
    rng = random.Random(7)
    start = dt.date(2015, 1, 1)
    sql = (f'INSERT INTO "analysis_sale" (document, date, partner_id, product_id, quantity, revenue, cost, currency, '
           f'deletion_mark, created_at, changed_at) VALUES ({", ".join([p] * 11)})')
    batch = []
    for i in range(lines):
        partner = partner_ids[int(clients * rng.random() ** 2)]   # skewed: a few big clients, every one buys
        revenue = round(rng.uniform(10, 1000), 2)
        batch.append((f"D{i}", start + dt.timedelta(days=rng.randrange(365)), partner,
                      first_product + rng.randrange(500), 1, revenue, round(revenue * 0.7, 2), "RUB", False, now, now))
        if len(batch) == 100_000:
            cur.executemany(sql, batch)
            batch = []
    if batch:
        cur.executemany(sql, batch)
    if not isinstance(db, __import__("peewee").SqliteDatabase):
        db.execute_sql("ANALYZE")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url", nargs="?", default=None)
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--clients", type=int, default=100_000)
    args = ap.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    crm = crmkit.open(url, plugins=["analysis"])
    with crm.db.atomic():
        fill(crm, args.clients, args.lines)
    from crmkit_analysis.classify import aggregate, run  # noqa: F401  (imports pandas before timing)
    from crmkit_analysis.periods import bucket_expression
    import peewee as pw
    S = crm.model("analysis.sale")
    settings = {"abc_period": "month", "abc_periods": 12, "xyz_period": "month", "xyz_periods": 12,
                "xyz_subperiod": "month"}
    bucket = bucket_expression(crm.db, "month", S.date)
    bare = (S.select(S.partner, bucket, pw.fn.SUM(S.revenue))
            .where((S.date >= dt.date(2015, 1, 1)) & (S.date < dt.date(2016, 1, 1))).group_by(S.partner, bucket))
    t0 = time.perf_counter()
    groups = len(list(bare.tuples()))
    t_bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = run(crm, "partner", dt.date(2016, 1, 1), **settings)
    t_run = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    print(f"{backend}: {args.lines:,} lines, {args.clients:,} clients, 12 monthly sub-periods, {groups:,} groups")
    print(f"  bare GROUP BY partner, month: {t_bare:.2f} s")
    print(f"  classification (aggregate + classify + store {summary['items']:,} rows): {t_run:.2f} s")
    print(f"  ratio: {t_run / t_bare:.2f}x (target <= 2x); peak memory of the process: {peak_mb:.0f} MB (target < 600)")
    print(f"  classes: {summary['classes']}")


if __name__ == "__main__":
    main()
