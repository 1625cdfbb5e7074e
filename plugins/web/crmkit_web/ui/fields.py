"""Fields of an entity as a page shows and edits them, from the model and
the acting user's schema (``crm.schema``): inputs, form values back to a
payload, and values as text with references as links."""
from __future__ import annotations

import re

import datetime as dt

import attrs
import peewee as pw

HIDDEN = {"id", "created_at", "changed_at", "deletion_mark"}
MAX_SELECT = 200     # a reference with more visible targets is typed (code, login or id)


@attrs.frozen
class FormField:
    name: str
    label: str
    widget: str                 # text, textarea, number, decimal, date, datetime, checkbox, select, reference
    required: bool = False
    readonly: bool = False
    choices: tuple = ()         # ((value, label), ...)
    maxlength: int | None = None
    target: str | None = None   # referenced entity


def label(crm, spec, name):
    """The field's label in the user's language; a bare field name with no
    catalogue entry reads as words ("start_date" -> "Start date")."""
    from crmkit import translate
    extra = crm.attribute_labels(spec.name)
    if name in extra:   # an additional attribute: its own labels
        return extra[name]
    text = spec.field_labels.get(name) or name
    out = translate(text, crm.lang, context=spec.name)
    return out.replace("_", " ").capitalize() if out == name else out


def references(spec):
    return {n: f for n, f in spec.model._meta.fields.items() if isinstance(f, pw.ForeignKeyField)}


def form_fields(crm, spec, creating=True):
    from crmkit import translate
    schema = crm.schema(spec.name)
    out = []
    for name, field in spec.model._meta.fields.items():
        rules = schema.get(name, {})
        if name in HIDDEN or rules.get("readonly"):
            continue
        required = bool(rules.get("required")) and not (spec.code_prefix and name == spec.code_field)
        kw = {"required": required, "maxlength": rules.get("maxlength")}
        if isinstance(field, pw.ForeignKeyField):
            target = crm.registry.spec_of_model(field.rel_model)
            choices = ()
            if target is not None and crm.can("read", target.name) and crm.count(target.name) <= MAX_SELECT:
                choices = tuple((r.get_id(), display(crm, target.name, r)) for r in crm.find(target.name))
                widget = "select"
            else:
                widget = "reference"
            out.append(FormField(name, label(crm, spec, name), widget, choices=choices,
                                 target=target.name if target else None, **kw))
        elif rules.get("allowed"):
            out.append(FormField(name, label(crm, spec, name), "select",
                                 choices=tuple((v, translate(str(v), crm.lang, context=f"{spec.name}.{name}") if v else "—")
                                              for v in rules["allowed"]),
                                 **kw))
        elif isinstance(field, pw.BooleanField):
            out.append(FormField(name, label(crm, spec, name), "checkbox", required=False))
        elif isinstance(field, pw.DateTimeField):
            out.append(FormField(name, label(crm, spec, name), "datetime", **kw))
        elif isinstance(field, pw.DateField):
            out.append(FormField(name, label(crm, spec, name), "date", **kw))
        elif isinstance(field, pw.DecimalField) or isinstance(field, pw.FloatField):
            out.append(FormField(name, label(crm, spec, name), "decimal", **kw))
        elif isinstance(field, pw.IntegerField):
            out.append(FormField(name, label(crm, spec, name), "number", **kw))
        elif isinstance(field, pw.TextField):
            out.append(FormField(name, label(crm, spec, name), "textarea", **kw))
        else:
            out.append(FormField(name, label(crm, spec, name), "text", **kw))
    return out + attribute_fields(crm, spec, schema)


def attribute_fields(crm, spec, schema):
    """Inputs of the entity's additional attributes (all optional)."""
    from crmkit import translate
    out = []
    for attribute in crm.attributes(spec.name):
        name, rules = attribute.name, schema.get(attribute.name, {})
        kw = {"maxlength": rules.get("maxlength")}
        text = label(crm, spec, name)
        if attribute.kind == "reference":
            target = attribute.target
            choices, widget = (), "reference"
            if crm.can("read", target) and crm.count(target) <= MAX_SELECT:
                choices, widget = tuple((r.get_id(), display(crm, target, r)) for r in crm.find(target)), "select"
            out.append(FormField(name, text, widget, choices=choices, target=target, **kw))
        elif attribute.kind in ("choice", "boolean"):
            values = rules.get("allowed") or ()
            pairs = tuple((v, translate(v, crm.lang)) for v in values) if values else \
                (("true", translate("yes", crm.lang)), ("false", translate("no", crm.lang)))
            out.append(FormField(name, text, "select", choices=(("", "—"), *pairs), **kw))
        else:
            widget = {"date": "date", "number": "decimal", "money": "decimal"}.get(attribute.kind, "text")
            out.append(FormField(name, text, widget, **kw))
    return out


def attribute_values(crm, spec, record, fields):
    """A record's attribute values as its form's inputs show them."""
    if record is None:
        return {}
    names = crm.attribute_fields(spec.name)
    stored = crm.attribute_values(spec.name, [record.get_id()]).get(record.get_id(), {})
    out = {}
    for f in fields:
        if f.name in names:
            value = stored.get(f.name)
            out[f.name] = ("true" if value else "false") if isinstance(value, bool) else input_value(f, value)
    return out


def input_value(field: FormField, value, zone=None):
    """A stored value as an input shows it."""
    if value is None:
        return ""
    if isinstance(value, pw.Model):
        value = value.get_id()
    if field.widget == "datetime" and isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            from crmkit import operator_zone
            value = value.astimezone(zone or operator_zone())
        return value.strftime("%Y-%m-%dT%H:%M")
    if field.widget == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def defaults(spec, fields):
    """A new record's inputs: the model's plain default values."""
    out = {}
    for f in fields:
        if f.name not in spec.model._meta.fields:
            continue   # an additional attribute has no default
        default = spec.model._meta.fields[f.name].default
        if default is not None and not callable(default) and f.widget != "checkbox":
            out[f.name] = str(default)
        elif isinstance(default, bool):
            out[f.name] = str(default)
    return out


def required_now(fields, values, zone=None):
    """Today / now (in the user's zone) for required date fields left empty
    on a new record: an interaction logged now, a deal started today."""
    from crmkit import operator_zone
    now = dt.datetime.now(zone or operator_zone())
    out = {}
    for f in fields:
        if f.required and not values.get(f.name):
            if f.widget == "datetime":
                out[f.name] = now.strftime("%Y-%m-%dT%H:%M")
            elif f.widget == "date":
                out[f.name] = now.date().isoformat()
    return out


def record_values(spec, record, fields, zone=None):
    return {f.name: input_value(f, record.__data__.get(f.name) if f.widget in ("select", "reference")
                                and f.target else getattr(record, f.name), zone)
            for f in fields if f.name in spec.model._meta.fields} if record is not None else {}


def payload(crm, spec, fields, form, zone=None, creating=False):
    """Form values as a write payload: blanks of nullable fields are None,
    check boxes are booleans, local times become aware in the user's zone;
    everything else stays text for the schema to coerce (and to refuse,
    naming the field)."""
    from crmkit import operator_zone
    model_fields = spec.model._meta.fields
    data = {}
    for f in fields:
        if f.widget == "checkbox":
            data[f.name] = form.getlist(f.name)[-1:] == ["1"]
            continue
        if f.name not in form:
            continue
        raw = form.get(f.name, "").strip() if f.widget != "textarea" else form.get(f.name, "")
        column = model_fields.get(f.name)
        if column is None:   # an additional attribute: blank clears it, the schema coerces the rest
            data[f.name] = raw if raw != "" else None
            continue
        if raw == "" and (column.null or f.target):
            data[f.name] = None
            continue
        if raw == "" and creating and column.default is not None and f.widget not in ("text", "textarea"):
            continue    # left empty on a new record: the model's default
        if f.widget == "datetime" and raw:
            try:
                local = dt.datetime.fromisoformat(raw)
            except ValueError:
                data[f.name] = raw   # the schema names the field
                continue
            data[f.name] = local.replace(tzinfo=zone or operator_zone()) if local.tzinfo is None else local
            continue
        data[f.name] = raw
    return data


_CODE = re.compile(r"\b[a-z][a-z_]*\b")


def display(crm, entity, record):
    """A record as people read it (``crm.display``), with the choice codes a
    display is made of (``-> registered``, ``quarter 2015-10-01``) said by
    their labels in the user's language."""
    text = crm.display(entity, record)
    if not crm.lang or crm.lang == "en" or not text:
        return text
    codes = _choice_labels(crm, entity)
    return _CODE.sub(lambda m: codes.get(m.group(0), m.group(0)), text) if codes else text


_LABELS: dict = {}


def _choice_labels(crm, entity):
    """``{code: label}`` of the entity's choice fields in the user's language
    (made once per registry, entity and language)."""
    from crmkit import translate
    key = (id(crm.registry), entity, crm.lang)
    if key not in _LABELS:
        codes = {}
        for name, field in crm.registry.entity(entity).model._meta.fields.items():
            for code, _ in field.choices or ():
                if code and code not in codes:
                    said = translate(code, crm.lang, context=f"{entity}.{name}")
                    if said != code:
                        codes[code] = said
        _LABELS[key] = codes
    return _LABELS[key]


def display_map(crm, spec, rows, names):
    """``{field: {id: (entity, text)}}`` for the reference fields ``names``
    of ``rows``: one query per field (``crm.names``: only the display
    column when the display is a field), through the user's access (a row
    they may not see shows as its bare id, unlinked). What this request
    has named already (the card's own record, a row of another table) is
    not read again."""
    refs = references(spec)
    known = _named()
    out = {}
    for name in names:
        field = refs.get(name)
        if field is None:
            continue
        target = crm.registry.spec_of_model(field.rel_model)
        ids = {r.__data__.get(name) for r in rows} - {None}
        out[name] = {}
        if target is None or not ids or not crm.can("read", target.name):
            continue
        entity = target.name
        missing = sorted(i for i in ids if (entity, i) not in known)
        if missing:
            said = _names(crm, target, missing)
            for i in missing:
                text = said.get(i)
                known[(entity, i)] = _labelled(crm, entity, text) if text is not None else None
        for i in ids:
            text = known[(entity, i)]
            if text is not None:
                out[name][i] = (entity, text)
    return out


def _names(crm, target, ids) -> dict:
    """``{id: display}`` of the visible ones among ``ids`` (one query)."""
    pk = target.model._meta.primary_key
    if isinstance(pk, (pw.AutoField, pw.IntegerField)):
        return crm.names(target.name, ids)        # ids are whole numbers: only the display column is read
    return {row.get_id(): crm.display(target.name, row)
            for row in crm.query(target.name, include_marked=True).where(pk.in_(ids))}


def _named() -> dict:
    """This request's ``{(entity, id): display or None (not visible)}``."""
    from flask import g
    found = g.get("named")
    if found is None:
        found = g.named = {}
    return found


def remember(entity, key, text):
    """Note that this request's user sees record ``key`` of ``entity`` as
    ``text`` (what ``display`` says of it), so its links are not read again."""
    _named()[(entity, key)] = text


def _labelled(crm, entity, text):
    """``display``'s second step: the choice codes in a display said by
    their labels in the user's language."""
    if not crm.lang or crm.lang == "en" or not text:
        return text
    codes = _choice_labels(crm, entity)
    return _CODE.sub(lambda m: codes.get(m.group(0), m.group(0)), text) if codes else text


def cell_makers(crm, model, names, refs, zone=None):
    """One function per column making its cell ``(text, link entity, link
    id)`` of a row (what ``cell`` says, with the column's kind worked out
    once per table rather than once per cell)."""
    from crmkit import format_moment, format_value, translate
    fields = model._meta.fields
    lang = crm.lang
    out = []
    for name in names:
        if name in refs:
            def ref(record, name=name, found=refs[name]):
                value = record.__data__.get(name)
                if value is None:
                    return "", None, None
                hit = found.get(value)
                if hit is None:
                    return f"#{value}", None, None
                return hit[1], hit[0], value
            out.append(ref)
        elif fields[name].choices:
            spec = crm.registry.spec_of_model(model)
            context = f"{spec.name}.{name}" if spec else None
            said: dict = {}

            def choice(record, name=name, context=context, said=said):
                value = getattr(record, name)
                if not (isinstance(value, str) and value):
                    return format_value(value, lang, zone), None, None
                if value not in said:
                    text = translate(value, lang, context=context)   # a choice: "won"
                    said[value] = text.replace("_", " ") if text == value else text
                return said[value], None, None
            out.append(choice)
        elif isinstance(fields[name], pw.DateTimeField):
            def moment(record, name=name):
                value = getattr(record, name)
                return (format_moment(value, lang, zone) if type(value) is dt.datetime
                        else format_value(value, lang, zone)), None, None
            out.append(moment)
        else:
            out.append(lambda record, name=name: (format_value(getattr(record, name), lang, zone), None, None))
    return out


def cell(crm, record, name, refs, zone=None):
    """``(text, link entity, link id)`` of one value."""
    return cell_makers(crm, type(record), [name], refs, zone)[0](record)
