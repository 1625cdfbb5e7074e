"""Records as JSON and JSON as record input.

A record is every field of its model; a reference is the id of the record
it points at, or, with ``expand=field``, ``{"id", "<lookup>", "display"}``
read through the acting user's access (a row they may not see shows as
its bare id). Input references are given by id or as the kernel reads them
everywhere (``crmkit.kernel.references``): the target's code or other unique
key (``"client": "00-00000010"``, ``"responsible": "fedorov"``), or a name
exactly one visible record has.
"""
from __future__ import annotations

import hashlib
import json

import peewee as pw

from crmkit import ValidationError, local_moment, plain


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


def _converters(spec, names, zone):
    """``[(name, its value -> JSON, or None for a reference)]`` for ``names``,
    chosen once per document list rather than per value: references as
    their ids, moments in the user's zone (ISO 8601 with its offset), the
    rest as ``plain`` makes them (Decimals as strings)."""
    fields = spec.model._meta.fields
    out = []
    for name in names:
        field = fields[name]
        if isinstance(field, pw.ForeignKeyField):
            out.append((name, None))
        elif isinstance(field, pw.DateTimeField):
            out.append((name, lambda v: plain(local_moment(v, zone)) if v is not None else None))
        else:
            out.append((name, plain))
    return out


def _zone():
    from flask import g
    crm = g.get("crm")      # ISO 8601 in the user's zone, with its offset
    return crm.zone if crm is not None else None


def documents(recs, spec, names=None) -> list[dict]:
    """Records as dicts of JSON values (Decimals as strings: no digit lost)."""
    converters = _converters(spec, list(names or spec.model._meta.fields), _zone())
    docs = []
    for record in recs:
        data = record.__data__
        doc = {}
        for name, convert in converters:
            if convert is None:
                doc[name] = data.get(name)
            else:
                doc[name] = convert(getattr(record, name))
        docs.append(doc)
    return docs


def document(record, spec, names=None) -> dict:
    """One record as a dict of JSON values (Decimals as strings: no digit lost)."""
    return documents([record], spec, names)[0]


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


def etag(record, spec, doc=None) -> str:
    """A strong validator of the record's whole stored state (``doc``: its
    ``document`` of every field, when the caller has it already)."""
    text = json.dumps(doc if doc is not None else document(record, spec), sort_keys=True, ensure_ascii=False,
                      default=str)
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


def unexpanded(spec, data: dict) -> dict:
    """``data`` with each expanded reference sent back (``{"id": 5}``, as
    ``expand=`` shows it) given as its id."""
    out = dict(data)
    for name in references(spec):
        value = out.get(name)
        if isinstance(value, dict) and set(value) == {"id"}:
            out[name] = value["id"]
    return out


def write(crm, spec, data: dict, do):
    """``do(data)`` (``crm.create`` or ``crm.update``). A reference given
    by code, login or name is the kernel's to resolve, among the records the
    user may see (``crmkit.kernel.references``, as the CLI and the import
    do): a value that names none, or several, is refused with every other
    field's problems, and nothing is written."""
    return do(unexpanded(spec, data))
