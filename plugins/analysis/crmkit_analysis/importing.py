"""Preparing sales files for the kernel importer (``crmkit_prepare_import``).

Mapped columns besides the entity's own fields:

- ``price``: unit price; ``revenue`` = ``quantity`` x ``price`` when no
  revenue column is mapped;
- ``product_name``, ``partner_name``, ``region``: used only to create
  missing products and partners.

Options (``--option name=value``): ``create_missing=yes`` creates unknown
partners and products by code (in bulk, through the kernel importer);
``anonymous=CODE`` loads rows without a customer on that partner (and
records it as the anonymous buyer, whom client classifications leave out by
default: ``anonymous_buyer=include`` counts it);
``currency=GBP`` when the file has no currency column;
``access_group=NAME`` for the partners created.

Every row stays in place (positions matter to the importer); a row that
cannot be a sales line gets its reason in ``_reject``.
"""
from __future__ import annotations

from crmkit import ValidationError

ENTITY = "analysis.sale"
EXTRA = ("price", "product_name", "partner_name", "region")
TRUE = {"1", "true", "yes", "y", "on", "да"}


def _flag(options, name):
    return str(options.get(name, "")).strip().lower() in TRUE


def prepare(crm, frame, options):
    import numpy as np
    import pandas as pd
    unknown = set(options) - {"create_missing", "anonymous", "currency", "access_group"}
    if unknown:
        raise ValidationError({f"option {sorted(unknown)[0]}": "unknown option; known: create_missing, "
                                                               "anonymous, currency, access_group"}, ENTITY)
    for need in ("document", "date", "product", "quantity"):
        if need not in frame.columns:
            raise ValidationError({need: "required column: map one with --map COLUMN=" + need}, ENTITY)
    if "revenue" not in frame.columns and "price" not in frame.columns:
        raise ValidationError({"revenue": "map a revenue column, or a unit price column as price"}, ENTITY)
    n = len(frame)
    reasons = [[] for _ in range(n)]

    def reject(mask, text):
        mask = pd.Series(mask, index=frame.index).astype("boolean").fillna(False)
        for pos in np.flatnonzero(mask.to_numpy(dtype=bool)):
            reasons[pos].append(text)

    def text(name):
        if name not in frame.columns:
            return pd.Series([""] * n, index=frame.index, dtype="string")
        return frame[name].astype("string").fillna("").str.strip()

    quantity_raw = text("quantity")
    quantity = pd.to_numeric(quantity_raw.str.replace(",", ".", regex=False), errors="coerce").astype("float64")
    reject(quantity.isna(), "quantity is not a number")
    reject(quantity == 0, "quantity is zero")
    if "price" in frame.columns:
        price = pd.to_numeric(text("price").str.replace(",", ".", regex=False), errors="coerce").astype("float64")
        reject(price.isna(), "price is not a number")
        reject(price == 0, "price is zero (an adjustment, not a sale)")
        reject(price < 0, "price is negative (a bad-debt adjustment, not a sale)")
    if "revenue" in frame.columns:
        revenue = pd.to_numeric(text("revenue").str.replace(",", ".", regex=False), errors="coerce").astype("float64")
        reject(revenue.isna() & (text("revenue") != ""), "revenue is not a number")
        if "price" in frame.columns:
            revenue = revenue.fillna(quantity * price)
    else:
        revenue = quantity * price
    revenue = revenue.round(2)
    # returns are negative lines: a negative quantity makes the amounts negative too
    sign = np.where(quantity < 0, -1.0, 1.0)
    revenue = revenue.abs() * sign
    dates = _parse_dates(text("date"))
    reject(dates.isna(), "date is not a date")
    document = text("document")
    reject(document == "", "no document number")
    product = text("product")
    reject(product == "", "no product code")

    partner = text("partner")
    anonymous = str(options.get("anonymous", "")).strip()
    if anonymous:
        partner = partner.where(partner != "", anonymous)
        from .classify import remember_anonymous
        remember_anonymous(anonymous)     # classifications leave that buyer out by default
    else:
        reject(partner == "", "no customer (give --option anonymous=CODE to load such rows)")
    create = _flag(options, "create_missing")
    # only rows that can still load create products and partners
    alive = pd.Series([not r for r in reasons], index=frame.index)
    _ensure_products(crm, product.where(alive, ""), text("product_name"), create, reject)
    alive = pd.Series([not r for r in reasons], index=frame.index)
    _ensure_partners(crm, partner.where(alive, ""), text("partner_name"), text("region"), create, reject,
                     anonymous, options.get("access_group"))

    out = pd.DataFrame(index=frame.index)
    out["document"] = document
    out["date"] = dates
    out["partner"] = partner
    out["product"] = product
    out["quantity"] = quantity
    out["revenue"] = revenue
    if "cost" in frame.columns:
        cost = pd.to_numeric(text("cost").str.replace(",", ".", regex=False), errors="coerce").astype("float64")
        reject(cost.isna() & (text("cost") != ""), "cost is not a number")
        out["cost"] = (cost.fillna(0).abs() * sign).round(2)
    currency = text("currency") if "currency" in frame.columns else None
    default_currency = str(options.get("currency", "")).strip().upper()
    if currency is not None:
        out["currency"] = currency.str.upper().where(currency != "", default_currency or None)
    elif default_currency:
        out["currency"] = default_currency
    for name in frame.columns:
        if name not in out.columns and name not in EXTRA and name != "_reject":
            out[name] = frame[name]        # manager, deal_id ... validated by the kernel
    out["_reject"] = ["; ".join(r) for r in reasons]
    if "_reject" in frame.columns:         # an earlier step's reasons stay
        earlier = frame["_reject"].fillna("").astype(str)
        out["_reject"] = [("; ".join(x for x in (a, b) if x)) for a, b in zip(earlier, out["_reject"])]
    return out


def _parse_dates(raw):
    """Dates (with or without a time) as day-precision datetimes; NaT if unreadable."""
    import pandas as pd
    parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce")
    retry = parsed.isna() & (raw != "")
    if retry.any():
        parsed[retry] = pd.to_datetime(raw[retry], format="mixed", dayfirst=True, errors="coerce")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize()


def _known(crm, entity, field, values):
    model = crm.model(entity)
    column = getattr(model, field)
    found = {}
    for start in range(0, len(values), 5000):
        part = values[start:start + 5000]
        # all rows, not only the visible ones: an invisible code must not be created twice
        found.update({str(code): pk for pk, code in model.select(model.id, column).where(column.in_(part)).tuples()})
    return found


def _first_names(codes, names):
    import pandas as pd
    frame = pd.DataFrame({"code": codes.to_numpy(), "name": names.to_numpy()})
    frame = frame[frame["name"] != ""]
    return frame.drop_duplicates("code").set_index("code")["name"].to_dict()


def _ensure_products(crm, codes, names, create, reject):
    import pandas as pd
    wanted = codes[codes != ""].unique().tolist()
    known = _known(crm, "core.product", "code", wanted)
    missing = [c for c in wanted if c not in known]
    if not missing:
        return
    if not create:
        reject(codes.isin(missing), "unknown product code (give --option create_missing=yes to create it)")
        return
    named = _first_names(codes, names)
    too_long = [c for c in missing if len(c) > 50]
    reject(codes.isin(too_long), "product code is longer than 50 characters")
    missing = [c for c in missing if len(c) <= 50]
    if missing:
        crm.import_frame("core.product", pd.DataFrame(
            {"code": missing, "name": [str(named.get(c) or c)[:300] for c in missing]}))


def _ensure_partners(crm, codes, names, regions, create, reject, anonymous, access_group):
    import pandas as pd
    wanted = codes[codes != ""].unique().tolist()
    known = _known(crm, "core.partner", "code", wanted)
    missing = [c for c in wanted if c not in known]
    if not missing:
        return
    if not create:
        reject(codes.isin(missing), "unknown customer code (give --option create_missing=yes to create it)")
        return
    too_long = [c for c in missing if len(c) > 20]
    reject(codes.isin(too_long), "customer code is longer than 20 characters")
    missing = [c for c in missing if len(c) <= 20]
    if not missing:
        return
    named = _first_names(codes, names)
    frame = pd.DataFrame({"code": missing,
                          "name": [("Anonymous customer" if c == anonymous else str(named.get(c) or c))[:200]
                                   for c in missing],
                          "is_client": True})
    region_of = _first_names(codes, regions)
    if region_of:
        ids = _region_ids(crm, sorted({region_of[c] for c in missing if c in region_of}))
        frame["region"] = [str(ids[region_of[c]]) if c in region_of else None for c in missing]
    if access_group:
        group = crm.query("core.access_group").where(crm.model("core.access_group").name == access_group).first()
        if group is None:
            raise ValidationError({"option access_group": f"no access group {access_group!r}"}, ENTITY)
        frame["access_group"] = str(group.id)
    crm.import_frame("core.partner", frame)


def _region_ids(crm, names):
    """Regions by code or name; missing ones are created (a few dozen at most)."""
    R = crm.model("core.region")
    ids = {}
    for start in range(0, len(names), 5000):
        part = names[start:start + 5000]
        for pk, code, name in R.select(R.id, R.code, R.name).where(R.name.in_(part) | R.code.in_(part)).tuples():
            ids[name] = pk
            if code:
                ids[code] = pk
    for name in names:
        if name not in ids:
            ids[name] = crm.create("core.region", {"name": name[:150]}).id
    return ids
