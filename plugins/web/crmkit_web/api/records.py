"""Records as JSON and JSON as record input.

A record is every field of its model; a reference is the id of the record
it points at, or, with ``expand=field``, ``{"id", "<lookup>", "display"}``
read through the acting user's access (a row they may not see shows as
its bare id). Input references are given by id or by the target's lookup
(``"client": "00-00000010"``, ``"responsible": "fedorov"``).
"""
from __future__ import annotations

import hashlib
import json

import peewee as pw

from crmkit import AccessDenied, NotFound, ValidationError, local_moment, plain


def references(spec) -> dict:
    """``{field name: foreign key field}`` of an entity's model."""
    return {name: f for name, f in spec.model._meta.fields.items() if isinstance(f, pw.ForeignKeyField)}


def field_names(spec, fields=None, extra=()) -> list[str]:
    """The model fields a document holds; ``extra`` (additional attributes)
    may be asked for too, and are added by ``add_attributes``."""
    names = list(spec.model._meta.fields)
    if not fields:
        return names
    unknown = [f for f in fields if f not in spec.model._meta.fields and f not in extra]
    if unknown:
        known = [*names, *extra]
        raise ValidationError({"fields": [f"unknown field {f!r}; fields: {', '.join(known)}" for f in unknown]},
                              spec.name)
    pk = spec.model._meta.primary_key.name
    return [pk] + [n for n in names if n in fields and n != pk]


def _value(record, name, field):
    if isinstance(field, pw.ForeignKeyField):
        return record.__data__.get(name)
    value = getattr(record, name)
    if isinstance(field, pw.DateTimeField) and value is not None:
        from flask import g
        crm = g.get("crm")      # ISO 8601 in the user's zone, with its offset
        value = local_moment(value, crm.zone if crm is not None else None)
    return plain(value)


def document(record, spec, names=None) -> dict:
    """One record as a dict of JSON values (Decimals as strings: no digit lost)."""
    fields = spec.model._meta.fields
    return {name: _value(record, name, fields[name]) for name in (names or fields)}


def add_attributes(crm, spec, recs, docs, fields=()):
    """Each document's additional attribute values (all of them, or those
    among ``fields``), read for the visible records in one query."""
    names = [n for n in crm.attribute_fields(spec.name) if not fields or n in fields]
    if not names or not recs:
        return
    stored = crm.attribute_values(spec.name, [r.get_id() for r in recs])
    for record, doc in zip(recs, docs):
        mine = stored.get(record.get_id(), {})
        doc.update({name: plain(mine.get(name)) for name in names})


def etag(record, spec) -> str:
    """A strong validator of the record's whole stored state."""
    text = json.dumps(document(record, spec), sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def expand(crm, spec, docs, names):
    """Replace the ids of reference fields ``names`` in ``docs`` by small
    objects, one query per field through the user's access."""
    refs = references(spec)
    unknown = [n for n in names if n not in refs]
    if unknown:
        raise ValidationError({"expand": [f"{n!r} is not a reference; references: {', '.join(refs)}"
                                          for n in unknown]}, spec.name)
    for name in names:
        target = crm.registry.spec_of_model(refs[name].rel_model)
        ids = {d[name] for d in docs if d.get(name) is not None}
        if target is None or not ids or not crm.can("read", target.name):
            continue
        pk = target.model._meta.primary_key
        shown = {r.get_id(): r for r in crm.query(target.name, include_marked=True).where(pk.in_(sorted(ids)))}
        for d in docs:
            row = shown.get(d.get(name))
            if row is not None:
                small = {"id": row.get_id(), "display": crm.display(target.name, row)}
                if target.lookup:
                    small[target.lookup] = plain(getattr(row, target.lookup))
                d[name] = small
    return docs


def resolve_references(crm, spec, data: dict):
    """Reference values given by lookup (a code, a login) become ids.
    Returns ``(data, unresolved)``: ``unresolved`` names each reference
    given by a lookup that matches no visible record (its value is left as
    given, which the kernel refuses with the other fields' problems)."""
    out, unresolved = dict(data), {}
    for name, field in references(spec).items():
        value = out.get(name)
        if isinstance(value, dict) and set(value) == {"id"}:   # an expanded reference sent back
            value = out[name] = value["id"]
        if not isinstance(value, str) or value.strip().isdigit() or not value.strip():
            continue
        target = crm.registry.spec_of_model(field.rel_model)
        if target is None or not target.lookup:
            continue   # the schema's type check names the field
        try:
            out[name] = crm.get(target.name, value.strip()).get_id()
        except (NotFound, AccessDenied):
            unresolved[name] = [f"{value!r} does not exist"]
    return out, unresolved


def write(crm, spec, data: dict, do):
    """``do(data)`` with references resolved, in one transaction; every
    field's problems, unresolved references included, in one error."""
    data, unresolved = resolve_references(crm, spec, data)
    try:
        with crm.transaction():
            record = do(data)
            if unresolved:   # the kernel refuses a lookup left as text; never keep a write that had one
                raise ValidationError(unresolved, spec.name)
            return record
    except ValidationError as exc:
        if not unresolved:
            raise
        raise ValidationError({**exc.errors, **unresolved}, spec.name) from None
