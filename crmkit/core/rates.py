"""Exchange rates (курсы валют): checks of typed and imported rates, and
loading a day's rates from a provider plugin (``crmkit_currency_rates``).

A rate says that ``multiplier`` units of ``currency`` cost ``rate`` units of
the base currency the rates are quoted in (RUB for the Central Bank of
Russia). One rate per currency and date; the rate of a date is the latest
one on or before it (``crmkit.core.currency`` converts with them).
"""
from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation

ENTITY = "core.currency_rate"
SOURCE_MAX = 32


@functools.cache
def known_currencies() -> frozenset:
    """ISO 4217 codes (Babel's list, as the locale data has them)."""
    from babel.numbers import list_currencies
    return frozenset(list_currencies())


def currency_problem(code) -> str | None:
    if code is None:
        return None
    if str(code).upper() not in known_currencies():
        return f"unknown currency code {code!r} (ISO 4217: USD, EUR, CNY ...)"
    return None


def check_rate(crm, data, record, errors):
    """The record rules of a rate: a known currency (upper-cased), and one
    rate per currency and date."""
    if data.get("currency") is not None:
        problem = currency_problem(data["currency"])
        if problem:
            errors["currency"] = problem
            return
        data["currency"] = str(data["currency"]).upper()
    from crmkit import value_after_write
    currency, day = value_after_write(data, record, "currency"), value_after_write(data, record, "date")
    if currency and day and ("currency" in data or "date" in data):
        R = crm.model(ENTITY)
        q = R.select(R.id).where((R.currency == currency) & (R.date == day))
        if record is not None:
            q = q.where(R.id != record.id)
        if q.exists():
            errors["date"] = f"a {currency} rate for {day.isoformat()} is already stored"


def check_rate_frame(crm, frame):
    """The same rules over an import chunk, vectorised: ``{position: {field: [messages]}}``."""
    import pandas as pd
    errors: dict = {}
    if "currency" not in frame.columns:
        return errors
    upper = frame["currency"].astype("string").str.upper()
    bad = upper.notna() & ~upper.isin(known_currencies())
    for pos in bad.to_numpy().nonzero()[0].tolist():
        errors[pos] = {"currency": [currency_problem(frame["currency"].iloc[pos])]}
    frame["currency"] = upper.astype(object).where(upper.notna(), None)
    if "date" not in frame.columns:
        return errors
    keys = pd.DataFrame({"currency": frame["currency"], "date": frame["date"]})
    twice = keys.duplicated(keep="first") & keys.notna().all(axis=1)
    for pos in twice.to_numpy().nonzero()[0].tolist():
        errors.setdefault(pos, {})["date"] = [f"a second {keys['currency'].iloc[pos]} rate for "
                                              f"{keys['date'].iloc[pos].isoformat()} in the file"]
    stored = _stored_pairs(crm, keys.dropna())
    if stored:
        hit = [(c, d) in stored for c, d in zip(keys["currency"], keys["date"])]
        for pos in [i for i, h in enumerate(hit) if h]:
            errors.setdefault(pos, {})["date"] = [f"a {keys['currency'].iloc[pos]} rate for "
                                                  f"{keys['date'].iloc[pos].isoformat()} is already stored"]
    return errors


def _stored_pairs(crm, keys) -> set:
    """The (currency, date) pairs of ``keys`` already stored: one query over
    the chunk's currencies and date range."""
    if not len(keys):
        return set()
    R = crm.model(ENTITY)
    q = (R.select(R.currency, R.date)
         .where(R.currency.in_(sorted(set(keys["currency"]))) & (R.date >= min(keys["date"]))
                & (R.date <= max(keys["date"]))))
    return set(q.tuples())


# -- loading from a provider -----------------------------------------------------

def _number(value, field, pos, errors, integer=False):
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errors[f"{field}[{pos}]"] = f"{value!r} is not a number"
        return None
    if not number.is_finite() or number <= 0 or (integer and number != number.to_integral_value()):
        errors[f"{field}[{pos}]"] = f"{value!r}: the {field} must be a {'whole ' if integer else ''}number above 0"
        return None
    return int(number) if integer else number


def checked_rates(rows, source, day) -> list[dict]:
    """A provider's rows as records to write, or ``ValidationError`` naming
    every bad row (a rate of 0 or below, an unknown currency, a row twice)."""
    from crmkit import ValidationError
    errors, out, seen = {}, [], set()
    for pos, row in enumerate(rows):
        currency = str(row.get("currency") or "").strip().upper()
        problem = currency_problem(currency) if currency else "no currency code"
        if problem:
            errors[f"currency[{pos}]"] = problem
            continue
        rate = _number(row.get("rate"), "rate", pos, errors)
        multiplier = _number(row.get("multiplier", 1), "multiplier", pos, errors, integer=True)
        on = row.get("date") or day
        if not isinstance(on, dt.date):
            errors[f"date[{pos}]"] = f"{on!r} is not a date"
            continue
        if (currency, on) in seen:
            errors[f"currency[{pos}]"] = f"{currency} appears twice for {on.isoformat()}"
        seen.add((currency, on))
        if rate is not None and multiplier is not None:
            out.append({"currency": currency, "date": on, "rate": rate, "multiplier": multiplier,
                        "source": source})
    if errors:
        raise ValidationError(errors, ENTITY)
    if not out:
        raise ValidationError({"source": f"the provider {source!r} gave no rates for {day.isoformat()}"}, ENTITY)
    return out


def load_rates(crm, source, day=None, content=None) -> dict:
    """Load the rates of ``day`` (today by default) from the provider plugin
    answering for ``source``; ``content`` is the provider's document when it
    was fetched already (a stored file), else the provider fetches it.

    Rates already stored for those currencies and dates are replaced (a
    provider corrects itself); all of it is one transaction, so a bad row
    leaves nothing written. Returns ``{"loaded": n, "replaced": n, "date": day}``.
    """
    from crmkit import ValidationError
    day = day or dt.date.today()
    rows = crm.pm.hook.crmkit_currency_rates(crm=crm, source=source, day=day, content=content)
    if rows is None:
        raise ValidationError({"source": f"no installed plugin provides rates for {source!r}"}, ENTITY)
    records = checked_rates(rows, source, day)
    replaced = 0
    with crm.transaction():
        for rec in records:
            old = crm.find(ENTITY, currency=rec["currency"], date=rec["date"], include_marked=True)
            if not old:
                crm.create(ENTITY, rec)
                continue
            crm.update(ENTITY, old[0].id, {k: rec[k] for k in ("rate", "multiplier", "source")})
            if old[0].deletion_mark:
                crm.mark_deleted(ENTITY, old[0].id, mark=False)
            replaced += 1
    return {"loaded": len(records), "replaced": replaced, "date": day.isoformat()}
