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
from typing import NamedTuple

import peewee as pw

from crmkit import ValidationError, plain

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Key(NamedTuple):
    """One sort key: a model field, or an additional attribute's value
    (``alias``: selected onto the row under that name, for the cursor)."""
    term: object            # the field, or the attribute's scalar subquery
    desc: bool
    convert: pw.Field       # converts the cursor's values to and from the database
    alias: str | None = None


def sort_keys(crm, spec, order_by) -> list[Key]:
    """The whitelisted order (model fields and additional attributes) plus
    the primary key."""
    model = spec.model
    attributes = crm.attribute_fields(spec.name)
    raw = order_by.split(",") if isinstance(order_by, str) else list(order_by or spec.order_by)
    keys, seen = [], set()
    for part in (p.strip() for p in raw):
        if not part:
            continue
        name, desc = part.lstrip("-"), part.startswith("-")
        if name in seen:
            continue
        field = model._meta.fields.get(name)
        if field is not None:
            keys.append(Key(field, desc, field))
        elif name in attributes:
            keys.append(Key(crm.attribute_term(spec.name, name), desc, attributes[name], f"_sort_{name}"))
        else:
            known = [*model._meta.fields, *attributes]
            raise ValidationError({"order_by": f"cannot sort by {part!r}; fields: {', '.join(known)}"}, spec.name)
        seen.add(name)
    pk = model._meta.primary_key
    if pk.name not in seen:
        keys.append(Key(pk, False, pk))
    return keys


def select_keys(query, keys):
    """The query with the attributes it sorts by selected onto each row."""
    extra = [pw.Alias(k.term, k.alias) for k in keys if k.alias]
    return query.select_extend(*extra) if extra else query


def order_terms(keys):
    return [pw.Ordering(k.term, "DESC", nulls="FIRST") if k.desc else pw.Ordering(k.term, "ASC", nulls="LAST")
            for k in keys]


def _compare(key, op, value):
    if value is None:
        return pw.Expression(key.term, op, None)
    return pw.Expression(key.term, op, value if key.alias is None else key.convert.db_value(value))


def after(keys, values):
    """The condition "comes after ``values``" in the order of ``keys``."""
    clauses = []
    for i, key in enumerate(keys):
        value = values[i]
        if key.desc:
            step = _compare(key, pw.OP.IS_NOT, None) if value is None else _compare(key, pw.OP.LT, value)
        else:
            if value is None:
                step = None          # NULLs are last ascending: nothing comes after
            else:
                step = _compare(key, pw.OP.GT, value) | _compare(key, pw.OP.IS, None)
        if step is not None:
            for prev, pkey in zip(values[:i], keys[:i]):
                step = _compare(pkey, pw.OP.IS if prev is None else pw.OP.EQ, prev) & step
            clauses.append(step)
    if not clauses:
        return None
    cond = clauses[0]
    for c in clauses[1:]:
        cond |= c
    return cond


def encode(keys, record) -> str:
    values = [plain(k.convert.python_value(getattr(record, k.alias, None)) if k.alias
                    else record.__data__.get(k.term.name)) for k in keys]
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(keys, cursor: str, entity) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong length")
        return [None if v is None else k.convert.python_value(k.convert.db_value(v))
                if not isinstance(v, (list, dict)) else _bad(entity) for k, v in zip(keys, values)]
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
