"""Business rules of sales lines beyond their schema."""
from __future__ import annotations


def deals_installed(crm) -> bool:
    return "deals.deal" in crm.registry.entities


def visible_deals(crm, ids) -> set:
    """Those of ``ids`` that are deals the acting user may see."""
    model = crm.model("deals.deal")
    found = set()
    ids = sorted({int(i) for i in ids})
    for start in range(0, len(ids), 5000):
        part = ids[start:start + 5000]
        found.update(pk for (pk,) in crm.query("deals.deal", model.id).where(model.id.in_(part)).tuples())
    return found


def check_sale(crm, data, record):
    errors = {}
    deal = data.get("deal_id")
    if deal is not None and deals_installed(crm) and not visible_deals(crm, [deal]):
        errors["deal_id"] = f"{deal!r} does not exist"
    quantity, revenue = data.get("quantity"), data.get("revenue")
    if quantity is not None and quantity == 0:
        errors["quantity"] = "cannot be zero"
    if quantity is not None and revenue is not None and revenue != 0 and (quantity < 0) != (revenue < 0):
        errors["revenue"] = "a return (negative quantity) has a negative revenue, a sale a positive one"
    return errors or None


def check_sale_frame(crm, frame):
    """Vectorised: deals must exist (when deals is installed); signs must agree."""
    import numpy as np
    errors: dict = {}
    if "deal_id" in frame.columns and deals_installed(crm):
        col = frame["deal_id"]
        given = col.notna()
        if given.any():
            known = visible_deals(crm, col[given].astype(int).unique().tolist())
            bad = given & ~col.where(given, -1).astype(int).isin(known)
            for pos in np.flatnonzero(bad.to_numpy()):
                errors.setdefault(int(pos), {})["deal_id"] = [f"{int(col.iloc[pos])!r} does not exist"]
    if "quantity" in frame.columns and "revenue" in frame.columns:
        q = frame["quantity"].astype(float)
        r = frame["revenue"].astype(float)
        zero = (q == 0).to_numpy()
        mixed = ((q < 0) != (r < 0)) & (r != 0) & q.notna() & r.notna()
        for pos in np.flatnonzero(zero):
            errors.setdefault(int(pos), {}).setdefault("quantity", []).append("cannot be zero")
        for pos in np.flatnonzero(mixed.to_numpy()):
            errors.setdefault(int(pos), {}).setdefault("revenue", []).append(
                "a return (negative quantity) has a negative revenue, a sale a positive one")
    return errors or None
