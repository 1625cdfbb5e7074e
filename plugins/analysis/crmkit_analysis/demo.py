"""The analysis part of the demo base: five weeks of sales to five demo
clients, classified twice (as of 2015-10-26 and 2015-11-02) with 1C's
default settings (four previous weeks; XYZ by days), giving the
presentation's ABC/XYZ distribution (A: 1 in Z; B: 1 in X, 1 in Y; C: 1 in
X, 1 in Z) and change matrices (everyone keeps their class).
"""
from __future__ import annotations

import datetime as dt

FIRST_DAY = dt.date(2015, 9, 28)       # a Monday; five weeks of sales follow
DAYS = 35
RUNS = (dt.date(2015, 10, 26), dt.date(2015, 11, 2))

# partner code, product code, unit price, quantities by day (pattern), what it gives.
# Протон and Альтаир buy what their won deals sold (00-00000003 televisions, 00-00000002
# vacuum cleaners), so those sales lines belong to the deals and the deal profit report
# has its rows; every product still has one buyer and Бытовая техника the same four, so the
# clients', the products' and the segments' figures are those of the presentation.
CLIENTS = [
    ("00-00000001", "FAN-001", 30000, "tuesdays:10", "A, Z: a dominant client buying once a week"),
    ("00-00000010", "TV-001", 5000, "daily:1", "B, X: the same every day"),
    ("00-00000011", "VC-001", 500, "alternate:7,9", "B, Y: alternating days, CV 12.5 %"),
    ("00-00000012", "DR-001", 500, "daily:1", "C, X: small and steady"),
    ("00-00000035", "AC-001", 2500, "tuesdays:1", "C, Z: small, once a week"),
]
COST_SHARE = 0.75


def _quantity(pattern, day_index, day):
    kind, _, args = pattern.partition(":")
    values = [int(a) for a in args.split(",")]
    if kind == "daily":
        return values[0]
    if kind == "alternate":
        return values[day_index % 2]
    if kind == "tuesdays":
        return values[0] if day.weekday() == 1 else 0
    raise ValueError(pattern)


def sales_rows(deal_of=None):
    """The sales lines; ``deal_of`` maps (client code, product code) to the
    deal whose demand holds that product, the one a line is linked to."""
    rows, number = [], 0
    for i in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=i)
        for code, product, price, pattern, _ in CLIENTS:
            qty = _quantity(pattern, i, day)
            if not qty:
                continue
            number += 1
            revenue = qty * price
            deal = (deal_of or {}).get((code, product))
            rows.append({"document": f"РТУ-{number:06d}", "date": day.isoformat(), "partner": code,
                         "product": product, "quantity": str(qty), "revenue": f"{revenue:.2f}",
                         "cost": f"{revenue * COST_SHARE:.2f}", "currency": "RUB",
                         "deal_id": str(deal) if deal else ""})
    return rows


def _deals_by_client_product(crm):
    """(client code, product code) -> the client's first deal with that
    product in its demand: a sales line belongs to the deal that sold its
    product, never to whatever deal the client had first."""
    if "deals.deal" not in crm.registry.entities:
        return {}
    D, Dm, P, Pr = crm.model("deals.deal"), crm.model("deals.demand"), crm.model("core.partner"), \
        crm.model("core.product")
    found = {}
    query = (crm.query("deals.demand", D.id, P.code, Pr.code).join(D, on=(Dm.deal == D.id))
             .join(P, on=(D.client == P.id)).switch(Dm).join(Pr, on=(Dm.product == Pr.id)).order_by(D.id))
    for deal_id, client, product in query.tuples():
        found.setdefault((client, product), deal_id)
    return found


def load(crm):
    import pandas as pd
    from crmkit.core.segments import compute
    from .classify import run
    rows = sales_rows(_deals_by_client_product(crm))
    frame = pd.DataFrame(rows)
    if not frame["deal_id"].astype(bool).any():
        frame = frame.drop(columns=["deal_id"])
    managers = {p.code: p.manager.login for p in crm.find("core.partner") if p.manager_id}
    frame["manager"] = frame["partner"].map(managers).fillna("")
    crm.import_frame("analysis.sale", frame)
    for as_of in RUNS:
        run(crm, "partner", as_of)
        run(crm, "product", as_of)
    msk = crm.get("core.region", "MSK").id
    segment = crm.create("core.segment", {
        "name": "Клиенты класса A в Москве", "kind": "partner", "method": "rule",
        "rule": '{"all": [{"field": "abc_class", "op": "eq", "value": "A"}, '
                f'{{"field": "region", "op": "eq", "value": {msk}}}]}}'})
    compute(crm, segment.id)
    return ["analysis.abc_xyz_clients", "analysis.matrix", "analysis.abc_changes", "analysis.xyz_changes"]
