"""Additional attributes (1C's дополнительные реквизиты): typed fields an
administrator adds to an entity without code.

A definition is a row of ``kernel_attribute``; a value a row of
``kernel_attribute_value`` (attribute, entity, record_id and one typed
column: ``value_text`` for strings and choices, ``value_number`` for
numbers, money, booleans and references, ``value_date`` for dates). The
composite indexes ``(attribute_id, value_x, record_id)`` make a filter an
index range scan that yields record ids, the same on SQLite and PostgreSQL;
``(attribute_id, record_id)`` is unique (one value per record).

Values are checked by the kernel's own schema path: a shadow peewee model
with one field per attribute gives ``schema_for``/``check``/
``validate_frame`` the same rules (types, coercion, bounds, allowed) that a
built-in field of that type has. Values follow their record's access: they
are read, filtered and sorted only through ``crm.query`` of the entity.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import re

import peewee as pw

from .errors import AccessDenied, NotFound, ValidationError
from .models import Attribute, AttributeValue, Change
from .values import plain

KINDS = ("string", "number", "money", "date", "boolean", "choice", "reference")
COLUMN = {"string": "value_text", "choice": "value_text", "number": "value_number", "money": "value_number",
          "boolean": "value_number", "reference": "value_number", "date": "value_date"}
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
# names that mean something else in a list request, a form or a payload
RESERVED = {"id", "subject", "fields", "limit", "offset", "order_by", "cursor", "expand", "include_marked",
            "all", "q", "page", "format", "lang", "user", "where"}
STRING_MAX = 500
CURRENCY_RE = re.compile(r"[A-Z]{3}")
_SHADOWS: dict = {}   # (entity, definitions) -> spec; kept alive: validation caches key on id(spec)


# -- definitions -----------------------------------------------------------------

def definitions(crm, entity) -> dict:
    """``{name: Attribute}`` of an entity, in the order they were added
    (read once per session: every entity's at once, in one statement)."""
    cache = crm._attributes
    if not cache:                       # emptied by a change of a definition: read again
        cache.update(_every_definition())
        cache[_READ] = True
    return cache.setdefault(entity, {})


_READ = object()               # in a session's cache: every definition has been read
_DEFINED: list = [None, {}]   # the rows of kernel_attribute last read, and {entity: {name: Attribute}} made of them


def _every_definition() -> dict:
    """``{entity: {name: Attribute}}`` of every entity, read now (one
    statement, compiled once). The Attribute records are made again only
    when a row differs from the last read (a definition added, changed or
    removed by any process), so no change is ever missed; they are shared
    by every session of the process (definitions are no one's access)."""
    from . import db
    sql, _ = db.statement_sql("kernel.attribute.every", lambda: Attribute.select().order_by(Attribute.id))
    rows = tuple(map(tuple, db.database.obj.execute_sql(sql).fetchall()))
    if rows != _DEFINED[0]:
        fields = Attribute._meta.sorted_fields
        out: dict = {}
        for row in rows:
            record = Attribute(**{f.name: f.python_value(v) for f, v in zip(fields, row)})
            record._dirty.clear()
            out.setdefault(record.entity, {})[record.name] = record
        _DEFINED[:] = [rows, out]
    return {entity: dict(defs) for entity, defs in _DEFINED[1].items()}


def choices_of(attribute) -> list:
    return json.loads(attribute.choices or "[]")


def label_of(attribute, lang="en") -> str:
    if lang == "ru" and attribute.label_ru:
        return attribute.label_ru
    return attribute.label or attribute.name


def _require_admin(crm, what):
    if not crm.actor.is_admin:
        raise AccessDenied(f"user {crm.actor.login!r} may not {what}: additional attributes are for administrators")


def _name_problem(spec, name) -> str | None:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        return "use lowercase latin letters, digits and _, starting with a letter (at most 63)"
    fields = spec.model._meta.fields
    columns = {f.column_name for f in fields.values()}
    if name in fields or name in columns or name in spec.schema or name in RESERVED \
            or hasattr(spec.model, name) or hasattr(pw.Model, name) or name.endswith("_type"):
        return f"{name!r} is a built-in field of {spec.name}: choose another name"
    if "__" in name:
        return "may not contain __ (it separates a filter's operator)"
    return None


def define(crm, entity, name, kind, label="", label_ru="", choices=(), target="", currency="") -> Attribute:
    """Add an attribute to ``entity`` (administrators); every problem at once."""
    _require_admin(crm, "add attributes")
    spec = crm.registry.entity(entity)
    errors = {}
    problem = _name_problem(spec, name)
    if problem:
        errors["name"] = [problem]
    elif name in definitions(crm, entity):
        errors["name"] = [f"{entity} already has an attribute {name!r}"]
    if kind not in KINDS:
        errors["kind"] = [f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}"]
    values = [str(c).strip() for c in (choices or ())]
    if kind == "choice":
        if not values or any(not v or len(v) > STRING_MAX for v in values) or len(set(values)) != len(values):
            errors["choices"] = ["a choice list needs distinct, non-empty values (at most 500 characters each)"]
    elif values:
        errors["choices"] = ["only a choice attribute has choices"]
    if kind == "reference":
        if target not in crm.registry.entities:
            errors["target"] = [f"a reference needs an entity to point at; known: "
                                f"{', '.join(sorted(crm.registry.entities))}"]
    elif target:
        errors["target"] = ["only a reference attribute has a target"]
    if kind == "money":
        currency = (currency or "RUB").strip().upper()
        if not CURRENCY_RE.fullmatch(currency):
            errors["currency"] = [f"{currency!r} is not a currency code (three letters, RUB)"]
    elif currency:
        errors["currency"] = ["only a money attribute has a currency"]
    for key, text in (("label", label), ("label_ru", label_ru)):
        if text and (len(text) > 200 or any(ord(c) < 32 for c in text)):
            errors[key] = ["at most 200 characters, no control characters"]
    if errors:
        raise ValidationError(errors, entity)
    attribute = Attribute.create(entity=entity, name=name, kind=kind, label=(label or "").strip(),
                                 label_ru=(label_ru or "").strip(), choices=json.dumps(values, ensure_ascii=False),
                                 target=target or "", currency=currency or "", created_by=crm.actor.login)
    _audit(crm, entity, "attribute", {"name": name, "kind": kind})
    crm._attributes.clear()
    return attribute


def change(crm, entity, name, label=None, label_ru=None, choices=None) -> Attribute:
    """Change an attribute's labels or choice list (administrators). Its
    kind, target and currency stay: the stored values are typed by them. A
    choice still held by a record may not leave the list (the error says
    how many hold it); every problem at once, nothing written."""
    _require_admin(crm, "change attributes")
    attribute = definitions(crm, entity).get(name)
    if attribute is None:
        raise NotFound(f"{entity} has no attribute {name!r}")
    errors, changes = {}, {}
    for key, text in (("label", label), ("label_ru", label_ru)):
        if text is None:
            continue
        if len(text) > 200 or any(ord(c) < 32 for c in text):
            errors[key] = ["at most 200 characters, no control characters"]
        changes[key] = text.strip()
    if choices is not None:
        values = [str(c).strip() for c in choices]
        if attribute.kind != "choice":
            errors["choices"] = ["only a choice attribute has choices"]
        elif not values or any(not v or len(v) > STRING_MAX for v in values) or len(set(values)) != len(values):
            errors["choices"] = ["a choice list needs distinct, non-empty values (at most 500 characters each)"]
        else:
            dropped = sorted(set(choices_of(attribute)) - set(values))
            held = dict(AttributeValue.select(AttributeValue.value_text, pw.fn.COUNT(AttributeValue.id))
                        .where((AttributeValue.attribute == attribute.id) & AttributeValue.value_text.in_(dropped))
                        .group_by(AttributeValue.value_text).tuples()) if dropped else {}
            if held:
                errors["choices"] = [f"{value!r} is held by {n} records: change them first"
                                     for value, n in sorted(held.items())]
            changes["choices"] = json.dumps(values, ensure_ascii=False)
    if errors:
        raise ValidationError(errors, entity)
    if changes:
        Attribute.update(**changes).where(Attribute.id == attribute.id).execute()
        _audit(crm, entity, "attribute-changed", {"name": name, **{k: v for k, v in changes.items()}})
        crm._attributes.clear()
    return definitions(crm, entity)[name]


def remove(crm, entity, name) -> int:
    """Remove an attribute and every value of it (administrators)."""
    _require_admin(crm, "remove attributes")
    attribute = definitions(crm, entity).get(name)
    if attribute is None:
        raise NotFound(f"{entity} has no attribute {name!r}")
    n = AttributeValue.delete().where(AttributeValue.attribute == attribute.id).execute()
    attribute.delete_instance()
    _audit(crm, entity, "attribute-removed", {"name": name, "values": n})
    crm._attributes.clear()
    return n


def _audit(crm, entity, action, note):
    Change.create(entity=entity, record_id=0, action=action[:16], field="", old=None,
                  new=json.dumps(note, ensure_ascii=False), user=crm.actor.login)


def describe(attribute, lang="en") -> dict:
    return {"entity": attribute.entity, "name": attribute.name, "kind": attribute.kind,
            "caption": label_of(attribute, lang), "label_ru": attribute.label_ru,
            "choices": ", ".join(choices_of(attribute)), "target": attribute.target,
            "currency": attribute.currency}


# -- the schema path -----------------------------------------------------------

def _field(attribute):
    kind = attribute.kind
    if kind == "string":
        return pw.CharField(max_length=STRING_MAX, null=True)
    if kind == "choice":
        return pw.CharField(max_length=STRING_MAX, null=True, choices=[(c, c) for c in choices_of(attribute)])
    if kind == "number":
        return pw.DecimalField(max_digits=28, decimal_places=6, null=True)
    if kind == "money":
        return pw.DecimalField(max_digits=15, decimal_places=2, null=True)
    if kind == "date":
        return pw.DateField(null=True)
    if kind == "boolean":
        return pw.BooleanField(null=True)
    return pw.IntegerField(null=True)   # a reference: the target's id


def shadow(crm, entity):
    """An ``EntitySpec`` whose model has one nullable field per attribute:
    what the kernel's schema functions check attribute values with."""
    from .specs import EntitySpec
    defs = definitions(crm, entity)
    key = (entity, tuple((a.id, a.name, a.kind, a.choices) for a in defs.values()))
    if key not in _SHADOWS:
        body = {name: _field(a) for name, a in defs.items()}
        body["Meta"] = type("Meta", (), {"table_name": "kernel_attribute_shadow"})
        model = type("AdditionalAttributes", (pw.Model,), body)
        _SHADOWS[key] = EntitySpec(name=entity, model=model, label=entity)
    return _SHADOWS[key]


def schema(crm, entity) -> dict:
    """The cerberus rules of the attributes, merged into ``crm.schema``."""
    from .validation import schema_for
    if not definitions(crm, entity):
        return {}
    rules = schema_for(shadow(crm, entity))
    rules.pop("id", None)
    return rules


def split(crm, entity, data: dict) -> tuple[dict, dict]:
    """``(built-in fields, attribute values)`` of a payload."""
    defs = definitions(crm, entity)
    if not defs or not any(k in defs for k in data):
        return data, {}
    return ({k: v for k, v in data.items() if k not in defs}, {k: v for k, v in data.items() if k in defs})


def _reference_id(crm, attribute, value):
    """A reference given by its target's code: the id of the visible record."""
    if isinstance(value, str) and value.strip() and not value.strip().lstrip("-").isdigit():
        target = crm.registry.entity(attribute.target)
        if target.lookup:
            try:
                return crm.get(target.name, value.strip(), include_marked=False).get_id()
            except (NotFound, AccessDenied):
                return None
    return value


def check(crm, spec, values: dict) -> tuple[dict, dict]:
    """Coerce and check attribute values: ``(document, errors)``."""
    from .validation import check as check_fields
    if not values:
        return {}, {}
    defs = definitions(crm, spec.name)
    given, unknown = {}, {}
    for name, value in values.items():
        attribute = defs[name]
        if attribute.kind == "reference":
            resolved = _reference_id(crm, attribute, value)
            if resolved is None and value not in (None, ""):
                unknown[name] = [f"{value!r} does not exist"]
                continue
            value = resolved
        given[name] = value
    doc, errors = check_fields(shadow(crm, spec.name), given, update=True, admin=True)
    errors.update(unknown)
    for name, value in doc.items():
        attribute = defs[name]
        if attribute.kind == "reference" and value is not None and name not in errors:
            if not crm._visible_exists(crm.registry.entity(attribute.target), value):
                errors[name] = [f"{value!r} does not exist"]
    return {k: v for k, v in doc.items() if k not in errors}, errors


# -- storing and reading ------------------------------------------------------

def _to_db(attribute, value):
    if value is None:
        return None
    if attribute.kind == "boolean":
        return 1 if value else 0
    return value


def _from_db(attribute, row):
    text, number, date = row
    kind = attribute.kind
    if kind in ("string", "choice"):
        return text
    if kind == "date":
        return date if date is None or isinstance(date, dt.date) else dt.date.fromisoformat(str(date)[:10])
    if number is None:
        return None
    number = decimal.Decimal(str(number))
    if kind == "boolean":
        return bool(number)
    if kind == "reference":
        return int(number)
    if kind == "money":
        return number.quantize(decimal.Decimal("0.01"))
    return number.quantize(decimal.Decimal(1)) if number == number.to_integral_value() else number.normalize()


def store(crm, spec, record_id, values: dict, creating: bool) -> dict:
    """Write checked values of one record; ``{name: (old, new)}`` of those that changed."""
    if not values:
        return {}
    defs = definitions(crm, spec.name)
    old = {} if creating else raw_values(spec.name, [record_id], defs).get(record_id, {})
    changes = {}
    for name, new in values.items():
        attribute = defs[name]
        previous = old.get(name)
        if plain(previous) == plain(new):
            continue
        changes[name] = (previous, new)
        where = (AttributeValue.attribute == attribute.id) & (AttributeValue.record_id == record_id)
        if new is None:
            AttributeValue.delete().where(where).execute()
        elif previous is None:
            AttributeValue.insert(attribute=attribute.id, entity=spec.name, record_id=record_id,
                                  **{COLUMN[attribute.kind]: _to_db(attribute, new)}).execute()
        else:
            AttributeValue.update({COLUMN[attribute.kind]: _to_db(attribute, new)}).where(where).execute()
    return changes


def raw_values(entity, ids, defs) -> dict:
    """``{record id: {name: value}}`` with no access check (callers check)."""
    from .db import among
    if not defs or not ids:
        return {}
    by_id = {a.id: a for a in defs.values()}
    av = AttributeValue
    rows = av.select(av.record_id, av.attribute, av.value_text, av.value_number, av.value_date).where(
        (av.entity == entity) & among(av.record_id, list(ids))).tuples()
    out: dict = {}
    for record_id, attribute_id, *row in rows:
        attribute = by_id.get(attribute_id)
        if attribute is not None:
            out.setdefault(record_id, {})[attribute.name] = _from_db(attribute, row)
    return out


def values(crm, entity, ids) -> dict:
    """``{record id: {name: value}}`` of the records among ``ids`` the user sees."""
    defs = definitions(crm, entity)
    ids = [int(i) for i in ids if i is not None]
    if not defs or not ids:
        return {}
    pk = crm.registry.entity(entity).model._meta.primary_key
    from .db import among
    seen = [r for (r,) in crm.query(entity, pk, include_marked=True).where(among(pk, ids)).tuples()]
    return raw_values(entity, seen, defs)


def shown(crm, entity, record_values: dict, lang="en") -> dict:
    """One record's values for people: references by name (through access),
    money with its currency, every attribute present (empty ones too)."""
    out = {}
    for name, attribute in definitions(crm, entity).items():
        value = record_values.get(name)
        if attribute.kind == "reference" and value is not None:
            value = crm.names(attribute.target, [value]).get(value, value)
        elif attribute.kind == "money" and value is not None:
            value = f"{value} {attribute.currency}"
        out[name] = value
    return out


# -- filters and order ---------------------------------------------------------

def condition(crm, entity, name, op, value):
    """The condition of filter ``name__op=value`` on an attribute: the
    record's key among the ids an index range of the value table yields."""
    from .crm import FILTER_OPS
    attribute = definitions(crm, entity)[name]
    pk = crm.registry.entity(entity).model._meta.primary_key
    av = AttributeValue
    column = getattr(av, COLUMN[attribute.kind])
    if op == "isnull":
        has = av.select(av.record_id).where(av.attribute == attribute.id)
        return pk.not_in(has) if value else pk.in_(has)
    typed = [_to_db(attribute, v) for v in value] if op == "in" else _to_db(attribute, value)
    return pk.in_(av.select(av.record_id).where((av.attribute == attribute.id) & FILTER_OPS[op](column, typed)))


def coerce(crm, entity, name, value):
    """One filter value (or a list of them) typed as the attribute's
    values are; ValueError naming the attribute when it cannot be."""
    from .validation import check as check_fields
    if isinstance(value, (list, tuple)):
        return [coerce(crm, entity, name, v) for v in value]
    doc, errors = check_fields(shadow(crm, entity), {name: value}, update=True, admin=True)
    if errors:
        raise ValueError(f"{name}: {value!r} is not a valid value ({'; '.join(errors[name])})")
    return doc.get(name)


def segment_condition(crm, entity, name, op, value):
    """A segment rule's condition on an attribute (``not_in`` too)."""
    if op == "isnull":
        return condition(crm, entity, name, "isnull", bool(value))
    typed = coerce(crm, entity, name, value)
    if op == "not_in":
        return ~condition(crm, entity, name, "in", typed)
    return condition(crm, entity, name, op, typed)


def value_term(crm, entity, name):
    """An attribute's value for the row, as a scalar subquery (an index
    look-up on (attribute_id, record_id) per row): to sort by and to
    compare with, as a keyset page does."""
    attribute = definitions(crm, entity)[name]
    pk = crm.registry.entity(entity).model._meta.primary_key
    av = AttributeValue
    column = getattr(av, COLUMN[attribute.kind])
    return av.select(column).where((av.attribute == attribute.id) & (av.record_id == pk))


def order_term(crm, entity, name, desc):
    """Sort by an attribute (see value_term)."""
    return pw.Ordering(value_term(crm, entity, name), "DESC" if desc else "ASC")


# -- merge, erasure, export -------------------------------------------------------

def merge(crm, entity, survivor_id, merged_id, take=()):
    """The survivor keeps its values and takes those it lacks (and those
    named in ``take``) from the merged record; references to the merged
    record in other entities' reference attributes point at the survivor."""
    av = AttributeValue
    defs = definitions(crm, entity)
    have = raw_values(entity, [survivor_id, merged_id], defs)
    mine, theirs = have.get(survivor_id, {}), have.get(merged_id, {})
    wanted = {name: value for name, value in theirs.items()
              if name in take or mine.get(name) is None}
    spec = crm.registry.entity(entity)
    changes = store(crm, spec, survivor_id, wanted, creating=False)
    av.delete().where((av.entity == entity) & (av.record_id == merged_id)).execute()
    pointing = Attribute.select(Attribute.id).where((Attribute.kind == "reference") & (Attribute.target == entity))
    moved = av.update(value_number=survivor_id).where(
        av.attribute.in_(pointing) & (av.value_number == merged_id)).execute()
    return changes, moved


def erase(crm, entity, ids) -> int:
    """Remove every attribute value of erased records (personal data)."""
    av = AttributeValue
    ids = [int(i) for i in ids]
    return av.delete().where((av.entity == entity) & av.record_id.in_(ids)).execute() if ids else 0


def export_rows(crm, entity, ids, lang="en") -> list[dict]:
    """The attribute values of visible records, labelled, for an access export."""
    defs = definitions(crm, entity)
    rows = []
    for record_id, record_values in values(crm, entity, ids).items():
        for name, value in shown(crm, entity, record_values, lang).items():
            if value is not None:
                rows.append({"record_id": record_id, "attribute": name,
                             "label": label_of(defs[name], lang), "value": plain(value)})
    return rows


# -- bulk import -------------------------------------------------------------------

def split_frame(crm, entity, frame):
    """``(built-in columns, attribute columns or None)`` of an import chunk."""
    defs = definitions(crm, entity)
    names = [c for c in frame.columns if c in defs]
    if not names:
        return frame, None
    return frame.drop(columns=names), frame[names]


def validate_frame(crm, spec, frame, errors, offset):
    """An import chunk's attribute columns checked column by column with the
    kernel's vectorised validation (the shadow model's schema); references
    by id or code among the records the user sees. Problems go into
    ``errors`` (``{row: {field: [messages]}}``); returns the clean frame."""
    import pandas as pd
    from .db import among
    from .validation import validate_frame as validate_columns
    defs = definitions(crm, spec.name)
    frame = frame.copy()
    for name in frame.columns:   # references: codes to ids, then visible ids only
        attribute = defs[name]
        if attribute.kind != "reference":
            continue
        target = crm.registry.entity(attribute.target)
        pk = target.model._meta.primary_key
        raw = frame[name].astype("string").str.strip()
        given = raw[raw.notna() & (raw != "")]
        codes = given[~given.str.fullmatch(r"-?\d+")]
        found = {}
        if len(codes) and target.lookup:
            field = target.model._meta.fields[target.lookup]
            found = dict(crm.db.execute(crm.query(target.name, field, pk).where(
                among(field, codes.unique().tolist()))).fetchall())
        numbers = pd.to_numeric(given.where(~given.index.isin(codes.index)), errors="coerce").dropna()
        visible = set()
        if len(numbers):
            visible = {i for (i,) in crm.db.execute(crm.query(target.name, pk).where(
                among(pk, [int(v) for v in numbers.unique() if abs(v) < 2 ** 31]))).fetchall()}
        ids = []
        for pos, value in raw.items():
            if value is pd.NA or value == "":
                ids.append(None)
                continue
            key = found.get(value) if not value.lstrip("-").isdigit() else (int(value) if int(value) in visible
                                                                                 else None)
            if key is None:
                errors.setdefault(offset + frame.index.get_loc(pos), {}).setdefault(name, []).append(
                    f"{value!r} does not exist")
            ids.append(key)
        frame[name] = pd.Series(ids, index=frame.index, dtype=object).astype("string")
    clean, row_errors = validate_columns(shadow(crm, spec.name), frame)
    for pos, errs in row_errors.items():
        for field, msgs in errs.items():
            errors.setdefault(offset + pos, {}).setdefault(field, []).extend(msgs)
    return clean


def _frame_value(attribute, value):
    """An import frame's cell as the value table stores it (None: no value)."""
    import pandas as pd
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if attribute.kind in ("number", "money"):
        return decimal.Decimal(str(value))
    if attribute.kind in ("boolean", "reference"):
        return int(value)
    if attribute.kind == "date" and isinstance(value, dt.datetime):
        return value.date()
    return value


def _same(attribute, stored, given):
    """A stored value (``_from_db``) and a frame's (``_frame_value``) mean the same."""
    if stored is None or given is None:
        return stored is None and given is None
    if attribute.kind in ("number", "money"):
        return decimal.Decimal(str(stored)) == given
    if attribute.kind in ("boolean", "reference"):
        return int(stored) == int(given)
    if attribute.kind == "date":
        return plain(stored)[:10] == plain(given)[:10]
    return str(stored) == str(given)


def _value_rows(spec, pairs):
    """``(attribute, value, record id)`` triples as rows of the value table."""
    rows = []
    for attribute, value, record_id in pairs:
        column = COLUMN[attribute.kind]
        rows.append((attribute.id, spec.name, int(record_id), *(
            value if c == column else None for c in ("value_text", "value_number", "value_date"))))
    return rows


def store_frame(crm, spec, ids, frame):
    """Values of freshly imported records (``ids`` in the frame's row
    order), in bulk: one row per record and attribute that has a value."""
    defs = definitions(crm, spec.name)
    pairs = []
    ids = list(ids)
    for name in frame.columns:
        attribute = defs[name]
        for record_id, value in zip(ids, frame[name].tolist()):
            if record_id is None or record_id != record_id:   # a row whose id the import could not tell
                continue
            value = _frame_value(attribute, value)
            if value is not None:
                pairs.append((attribute, value, record_id))
    rows = _value_rows(spec, pairs)
    if rows:
        crm.bulk_insert(AttributeValue, ["attribute", "entity", "record_id", "value_text", "value_number",
                                         "value_date"], rows)
    return len(rows)


def update_frame(crm, spec, ids, frame):
    """The values an import's update gives stored records (``ids`` in the
    frame's row order): each column replaces what the record had for that
    attribute (a blank clears it), compared with what is stored first, so
    that only the values that differ are written (one delete and one bulk
    insert per attribute). Returns ``{record id: {name: (old, new)}}`` of
    the changed values, for the change history and the import's count."""
    from .db import among
    defs = definitions(crm, spec.name)
    ids = [int(i) for i in ids]
    stored = raw_values(spec.name, ids, {n: defs[n] for n in frame.columns})
    changes: dict = {}
    pairs = []
    for name in frame.columns:
        attribute = defs[name]
        touched = []
        for record_id, value in zip(ids, frame[name].tolist()):
            value = _frame_value(attribute, value)
            old = stored.get(record_id, {}).get(name)
            if _same(attribute, old, value):
                continue
            changes.setdefault(record_id, {})[name] = (old, value)
            touched.append(record_id)
            if value is not None:
                pairs.append((attribute, value, record_id))
        if touched:
            av = AttributeValue
            av.delete().where((av.entity == spec.name) & (av.attribute == attribute.id)
                              & among(av.record_id, touched)).execute()
    rows = _value_rows(spec, pairs)
    if rows:
        crm.bulk_insert(AttributeValue, ["attribute", "entity", "record_id", "value_text", "value_number",
                                         "value_date"], rows)
    return changes
