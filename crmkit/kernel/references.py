"""How a person names a record: by id, by its code, or by its natural key.

One mechanism for every place a reference is typed: the bulk import's
reference columns, the generic ``create``/``update`` commands and the API's
payloads (``head=00-00000035 region=Москва``), and ``show``. A value is
looked up, among the records the user may see only, in this order:

1. the entity's lookup field (``code``) and every other unique text field
   a user may set (``login`` of users, ``name`` of kinds, stages, loss
   reasons, regions, departments);
2. the id, when the value is a number;
3. the ``name`` (or display field) when it is not unique in the model but
   exactly one visible record has it (product groups, partners); several
   are named back as ambiguous, never guessed.
"""
from __future__ import annotations

import peewee as pw

from . import access, db


def key_fields(spec) -> list[str]:
    """Fields that name one record of ``spec`` for a person: the lookup,
    then the other unique text fields that are not read-only."""
    model = spec.model
    names = [spec.lookup] if spec.lookup and spec.lookup in model._meta.fields else []
    for name, field in model._meta.fields.items():
        if name in names or not field.unique or not isinstance(field, pw.CharField):
            continue
        if name in spec.read_only or name in spec.admin_only or name.endswith(("hash", "secret", "token")):
            continue
        names.append(name)
    return names


def name_field(spec) -> str | None:
    """A non-unique field a record may still be found by when only one has the value."""
    model = spec.model
    for name in ("name", spec.display if isinstance(spec.display, str) else None):
        if name and name in model._meta.fields and name not in key_fields(spec) \
                and isinstance(model._meta.fields[name], pw.CharField):
            return name
    return None


def resolve(crm, spec, values, ids=True) -> tuple[dict, dict]:
    """``({value: id}, {value: [ids]})``: the visible records the strings
    ``values`` name, and those several records share (by name)."""
    model = spec.model
    pk = model._meta.primary_key
    cond = access.visible_filter(crm.actor, spec, crm.registry)
    wanted = [v for v in dict.fromkeys(values) if v is not None and v != ""]
    found: dict = {}

    def rows(field, among):
        q = model.select(pk, field).where(db.among(field, among))
        if cond is not None:
            q = q.where(cond)
        return crm.db.execute(q).fetchall()

    for name in key_fields(spec):
        left = [v for v in wanted if v not in found]
        if not left:
            break
        for rid, value in rows(model._meta.fields[name], left):
            found.setdefault(str(value), rid)
    left = [v for v in wanted if v not in found]
    if ids and left:
        numeric = [int(v) for v in left if v.isascii() and v.isdigit() and len(v) < 19]
        if numeric:
            for rid, _ in rows(pk, numeric):
                found.setdefault(str(rid), rid)
    ambiguous: dict = {}
    left = [v for v in wanted if v not in found]
    named = name_field(spec)
    if named and left:
        matches: dict = {}
        for rid, value in rows(model._meta.fields[named], left):
            matches.setdefault(str(value), []).append(rid)
        for value, rids in matches.items():
            if len(rids) == 1:
                found[value] = rids[0]
            else:
                ambiguous[value] = sorted(rids)
    return found, ambiguous


def how_given(spec) -> str:
    """How a reference to ``spec`` may be written, for people (``crmkit entities``)."""
    from .i18n import Listed, Message
    ways = Listed(Message(f, context=spec.name) for f in ["id", *key_fields(spec)])    # said by their labels
    named = name_field(spec)
    if named:
        return Message("{ways}, {name} (when one record has it)", domain="kernel", ways=ways,
                       name=Message(named, context=spec.name))
    return ways


def describe_fields(crm, spec) -> list[dict]:
    """What a person needs to write a file or a payload for ``spec``: every
    field with its type, whether it is required, its default, its choices,
    the entity a reference points at and how to name it, read-only, lookup.
    Read for the acting user (an administrator may set admin-only fields)."""
    from .i18n import Choice, Message
    from .validation import schema_for
    schema = schema_for(spec, admin=crm.actor.is_admin)
    rows = []
    for name, field in spec.model._meta.fields.items():
        rules = schema.get(name, {})
        read_only = bool(rules.get("readonly")) or isinstance(field, pw.AutoField)
        target = crm.registry.spec_of_model(field.rel_model) if isinstance(field, pw.ForeignKeyField) else None
        default = field.default
        if callable(default):
            default = Message("(computed)", domain="kernel")
        if spec.code_prefix and name == spec.code_field:
            default = Message("numbered {prefix}…", domain="kernel", prefix=spec.code_prefix)
        choices = rules.get("allowed") or [c[0] for c in (field.choices or [])]
        rows.append({
            "field": name,
            # a type code (JSON), read by its label (kernel.field_type) in a table
            "type": Choice("reference" if target is not None else (rules.get("type") or field.field_type.lower()),
                           "kernel.field_type"),
            "required": bool(rules.get("required")) and not read_only and default is None,
            "default": default if default not in (None, "") else None,
            "choices": ", ".join(map(str, choices)) if choices else None,
            "reference": target.name if target is not None else None,
            "given_as": how_given(target) if target is not None else None,
            "read_only": read_only,
            "lookup": name == spec.lookup,
        })
    return rows
