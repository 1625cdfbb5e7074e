"""Small value helpers shared by the write path, rules and renderers."""
from __future__ import annotations

import datetime as dt
import decimal


def value_after_write(data: dict, record, name: str, default=None):
    """The value a write will leave in ``name``: the new one when the payload
    gives it, else the stored one (a reference as its id), else ``default``.
    For ``crmkit_validate_record`` rules that look at several fields."""
    if name in data:
        return data[name]
    if record is None:
        return default
    field = record._meta.fields.get(name)
    if field is not None and hasattr(field, "rel_model"):
        return getattr(record, field.column_name)
    return getattr(record, name, default)


def plain(value, decimals=str):
    """A value as JSON holds it: dates in ISO form, records as their ids,
    numpy scalars as Python numbers, Decimals through ``decimals`` (``str``
    keeps every digit; ``float`` keeps numbers numbers)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return decimals(value)
    if hasattr(value, "get_id"):
        return value.get_id()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return value.item()
    return value
