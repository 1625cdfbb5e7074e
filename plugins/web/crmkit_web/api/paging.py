"""Keyset pagination: a page is the rows after the last one shown, in the
list's order, never an OFFSET (which reads and drops every earlier row).

The order is the requested one (or the entity's default) with the primary
key appended, so it is total. NULLs sort last ascending and first
descending on every database, so a cursor means the same on SQLite and
PostgreSQL. The cursor is the last row's sort values, base64url JSON; it
only narrows a query that still passes the user's access filter.
"""
from __future__ import annotations

import base64
import binascii
import json

from crmkit import ValidationError, plain

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


def sort_keys(crm, spec, order_by) -> list[tuple[object, bool]]:
    """``[(field, descending)]``: the whitelisted order plus the key."""
    model = spec.model
    raw = order_by.split(",") if isinstance(order_by, str) else list(order_by or spec.order_by)
    keys, seen = [], set()
    for part in (p.strip() for p in raw):
        if not part:
            continue
        name = part.lstrip("-")
        field = model._meta.fields.get(name)
        if field is None:
            raise ValidationError({"order_by": f"cannot sort by {part!r}; fields: {', '.join(model._meta.fields)}"},
                                  spec.name)
        if name not in seen:
            keys.append((field, part.startswith("-")))
            seen.add(name)
    pk = model._meta.primary_key
    if pk.name not in seen:
        keys.append((pk, False))
    return keys


def order_terms(keys):
    return [f.desc(nulls="FIRST") if desc else f.asc(nulls="LAST") for f, desc in keys]


def after(keys, values):
    """The condition "comes after ``values``" in the order of ``keys``."""
    clauses = []
    for i, (field, desc) in enumerate(keys):
        value = values[i]
        if desc:
            step = field.is_null(False) if value is None else field < value
        else:
            if value is None:
                step = None          # NULLs are last ascending: nothing comes after
            else:
                step = (field > value) | field.is_null()
        if step is not None:
            for prev, (pfield, _) in zip(values[:i], keys[:i]):
                step = (pfield.is_null() if prev is None else pfield == prev) & step
            clauses.append(step)
    if not clauses:
        return None
    cond = clauses[0]
    for c in clauses[1:]:
        cond |= c
    return cond


def encode(keys, record) -> str:
    values = [plain(record.__data__.get(f.name)) for f, _ in keys]
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(keys, cursor: str, entity) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong length")
        return [None if v is None else f.python_value(f.db_value(v)) if not isinstance(v, (list, dict)) else
                _bad(entity) for (f, _), v in zip(keys, values)]
    except (ValueError, TypeError, binascii.Error, ArithmeticError):
        _bad(entity)


def _bad(entity):
    raise ValidationError({"cursor": "not a cursor of this list with this order: start again from the first page"},
                          entity)


def limit_of(raw, entity) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not str(raw).isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError({"limit": f"must be a whole number from 1 to {MAX_LIMIT}"}, entity)
    return int(raw)
