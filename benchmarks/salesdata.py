"""Seeded sales lines shaped like a distributor's: a few big clients and
many small ones (Pareto), popular and slow products, seasonal months,
documents of several lines, and about 3 % returns (negative lines)."""
from __future__ import annotations

import datetime as dt

from common import insert_rows, pareto_weights, restore_indexes, rng, seasonal_dates, without_indexes

PRODUCT_COLUMNS = ("code", "name", "unit", "comment", "deletion_mark", "created_at", "changed_at")
SALE_COLUMNS = ("document", "date", "partner_id", "product_id", "quantity", "revenue", "cost", "currency",
                "manager_id", "deletion_mark", "created_at", "changed_at")
RETURN_SHARE = 0.03


def seed_products(ctx, name: str, n: int):
    now = dt.datetime(2024, 6, 1, 12, 0)
    rows = [(f"SKU{i + 1:06d}", f"Товар {i + 1:06d}", "pcs", "", False, now, now) for i in range(n)]
    con = ctx.connect_bare(name)
    insert_rows(con, "core_product", PRODUCT_COLUMNS, rows, ctx.param)
    con.close()


def lines(n: int, partners: int, products: int, start: dt.date, months: int, offset: int = 0) -> dict:
    """``n`` sales lines as numpy arrays (indexes are 0-based partner/product/manager numbers)."""
    import numpy as np
    r = rng(offset)
    docs_idx = np.empty(0, dtype=np.int64)
    docs = max(1, n // 4)
    while len(docs_idx) < n:
        docs = int(docs * 1.2) + 1
        per_doc = r.geometric(0.25, docs)                   # 4 lines a document on average
        docs_idx = np.repeat(np.arange(docs), per_doc)
    docs_idx = docs_idx[:n]
    docs = int(docs_idx[-1]) + 1
    doc_partner = r.choice(partners, size=docs, p=pareto_weights(partners, offset + 1))
    doc_date = np.sort(seasonal_dates(docs, start, months, offset + 2))   # documents are numbered in time
    doc_manager = r.integers(0, 10, docs)
    product = r.choice(products, size=n, p=pareto_weights(products, offset + 3, alpha=1.4))
    price = np.round(np.exp(r.normal(6.5, 1.1, products)), 2)[product]   # ~700 a unit, long tail
    big = pareto_weights(partners, offset + 1)[doc_partner[docs_idx]] * partners   # big clients buy more
    quantity = 1 + r.geometric(0.35, n) * np.clip(np.round(np.sqrt(big)), 1, 20).astype(np.int64)
    is_return = r.random(n) < RETURN_SHARE
    quantity = np.where(is_return, -np.maximum(1, quantity // 3), quantity)
    revenue = np.round(quantity * price, 2)
    cost = np.round(revenue * r.uniform(0.6, 0.85, n), 2)
    date = doc_date[docs_idx] + np.where(is_return, r.integers(3, 20, n), 0)
    end = np.datetime64(start, "D") + np.timedelta64(int(months * 30.4), "D")
    date = np.minimum(date, end)
    prefix = np.where(is_return, "ВЗ-", "РТ-")
    document = np.char.add(prefix, np.char.zfill(docs_idx.astype(str), 8))
    return {"document": document, "date": date, "partner": doc_partner[docs_idx], "product": product,
            "quantity": quantity, "revenue": revenue, "cost": cost, "manager": doc_manager[docs_idx]}


def frame(data: dict):
    """The lines as a CSV-shaped DataFrame: codes and logins, as a file would have them."""
    import numpy as np
    import pandas as pd
    return pd.DataFrame({
        "document": data["document"], "date": data["date"].astype(str),
        "partner": np.char.add("BP", np.char.zfill((data["partner"] + 1).astype(str), 7)),
        "product": np.char.add("SKU", np.char.zfill((data["product"] + 1).astype(str), 6)),
        "quantity": data["quantity"], "revenue": data["revenue"], "cost": data["cost"], "currency": "RUB",
        "manager": np.char.add("manager", (data["manager"] + 1).astype(str)),
    })


def insert_lines(ctx, name: str, data: dict, manager_ids: list[int]):
    """Insert generated lines straight into analysis_sale (generation, not measured).
    Partners and products were inserted first into fresh tables, so their ids
    are their 1-based numbers."""
    now = dt.datetime(2025, 1, 1, 6, 0)
    managers = [manager_ids[i] for i in data["manager"].tolist()]
    rows = list(zip(data["document"].tolist(), data["date"].astype(str).tolist(),
                    (data["partner"] + 1).tolist(), (data["product"] + 1).tolist(),
                    data["quantity"].tolist(), data["revenue"].tolist(), data["cost"].tolist(),
                    ["RUB"] * len(managers), managers, [False] * len(managers),
                    [now] * len(managers), [now] * len(managers)))
    con = ctx.connect_bare(name)
    indexes = without_indexes(con, "analysis_sale")
    insert_rows(con, "analysis_sale", SALE_COLUMNS, rows, ctx.param)
    restore_indexes(con, indexes)
    con.close()
    return len(rows)


def check_ids(ctx, name: str, partners: int, products: int):
    """Partners and products must be numbered 1..n (they were inserted into fresh tables)."""
    con = ctx.connect_bare(name)
    cur = con.cursor()
    for table, n in (("core_partner", partners), ("core_product", products)):
        cur.execute(f"SELECT MIN(id), MAX(id), COUNT(*) FROM {table}")
        lo, hi, count = cur.fetchone()
        if (lo, hi, count) != (1, n, n):
            raise RuntimeError(f"{table}: ids {lo}..{hi} ({count} rows), expected 1..{n}")
    con.close()
