"""The whole UCI Online Retail file through `crmkit import analysis.sale`,
checked against the data set's known figures, and timed against a bare
executemany of the written rows.

    python plugins/analysis/benchmarks/bench_online_retail.py [DB_URL]
"""
import sys
import tempfile
import time

import crmkit

DATA = "/work/shared/data/online_retail.csv.gz"
MAP = {"InvoiceNo": "document", "StockCode": "product", "Description": "product_name", "Quantity": "quantity",
       "InvoiceDate": "date", "UnitPrice": "price", "CustomerID": "partner", "Country": "region"}


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/retail.db"
    crm = crmkit.open(url, plugins=["analysis"])
    rejects = tempfile.mktemp(suffix=".csv")
    t0 = time.perf_counter()
    summary = crm.import_file("analysis.sale", DATA, mapping=MAP, skip_invalid=True, reject_file=rejects,
                              options={"create_missing": "yes", "currency": "GBP"})
    t_import = time.perf_counter() - t0
    S = crm.model("analysis.sale")
    import peewee as pw
    sales = S.select().where(S.quantity > 0)
    figures = {
        "rows read": summary["rows"], "written": summary["written"], "rejected": summary["rejected"],
        "sales lines": sales.count(), "customers": S.select(S.partner).where(S.quantity > 0).distinct().count(),
        "invoices": S.select(S.document).where(S.quantity > 0).distinct().count(),
        "stock codes": S.select(S.product).where(S.quantity > 0).distinct().count(),
        "countries": crm.count("core.region"),
        "revenue": S.select(pw.fn.SUM(S.revenue)).where(S.quantity > 0).scalar(),
    }
    known = {"rows read": 541909, "sales lines": 397884, "customers": 4338, "invoices": 18532,
             "stock codes": 3665, "countries": 37}
    for name, value in figures.items():
        mark = "" if name not in known else ("  ok" if value == known[name] else f"  EXPECTED {known[name]}")
        print(f"{name:>12}: {value}{mark}")
    print(f"reject file: {rejects}")
    # bare executemany of the same rows into an empty copy of the table
    rows = list(S.select(S.document, S.date, S.partner, S.product, S.quantity, S.revenue, S.cost, S.currency,
                         S.deletion_mark, S.created_at, S.changed_at).tuples())
    db = S._meta.database
    db.execute_sql('CREATE TABLE bench_copy AS SELECT * FROM "analysis_sale" WHERE 1 = 0')
    p = db.param
    sql = (f"INSERT INTO bench_copy (document, date, partner_id, product_id, quantity, revenue, cost, currency, "
           f"deletion_mark, created_at, changed_at) VALUES ({', '.join([p] * 11)})")
    t0 = time.perf_counter()
    with db.atomic():
        db.cursor().executemany(sql, [tuple(float(v) if hasattr(v, "as_tuple") else v for v in r) for r in rows])
    t_bare = time.perf_counter() - t0
    db.execute_sql("DROP TABLE bench_copy")
    print(f"import with validation, creating 4,338 partners and 3,665 products: {t_import:.1f} s; "
          f"bare executemany of the {len(rows):,} written rows: {t_bare:.1f} s; "
          f"speed ratio {t_bare / t_import:.2f} (target >= 0.25)")


if __name__ == "__main__":
    main()
