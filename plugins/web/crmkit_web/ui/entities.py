"""Generic pages of every registered entity, from the registry and schemas:
a list (list fields, search, whitelisted filters, sort by column, keyset
pages), a card (every field, references as links, the records that refer
to it, the change history, plugins' tabs, the entity's actions), create and
edit forms with inline errors, and the deletion mark. A new entity of any
plugin gets all of this with no page of its own.

URLs: ``/e/<entity>/`` list, ``/e/<entity>/new``, ``/e/<entity>/<key>``
card, ``/e/<entity>/<key>/edit``, ``POST /e/<entity>/<key>/mark``,
``POST /e/<entity>/<key>/act/<action>``.
"""
from __future__ import annotations

from urllib.parse import urlencode

import peewee as pw

from crmkit import AccessDenied, CrmError, NotFound, ValidationError, translate

from ..api import paging
from ..api.records import write   # the API's write: references by code, every problem at once
from . import fields as F

RESERVED = {"q", "sort", "cursor", "include_marked", "tab"}
PAGE = 50


def _spec(crm, entity):
    spec = crm.registry.entity(entity)
    crm.require("read", entity)
    return spec


def record_key(key):
    """A URL's key: an id when it is digits (our links are ids: one query,
    not a lookup by code first), else the entity's lookup (a code)."""
    return int(key) if isinstance(key, str) and key.isascii() and key.isdigit() else key


def columns_of(spec):
    names = [n for n in (spec.list_fields or spec.model._meta.fields) if n in spec.model._meta.fields]
    return names or ["id"]


def search_fields(spec):
    """The text columns a list's search box looks in: the list's own."""
    model_fields = spec.model._meta.fields
    names = [n for n in columns_of(spec) if isinstance(model_fields[n], (pw.CharField, pw.TextField))
             and not model_fields[n].choices]
    if isinstance(spec.display, str) and spec.display in model_fields and spec.display not in names:
        names.append(spec.display)
    return names


def filter_options(crm, spec):
    """Filters offered as selects: the list's choice and yes/no columns."""
    out = []
    for name in columns_of(spec):
        field = spec.model._meta.fields[name]
        if field.choices:
            out.append((name, F.label(crm, spec, name),
                        [(c[0], translate(str(c[0]), crm.lang, context=f"{spec.name}.{name}")) for c in field.choices]))
        elif isinstance(field, pw.BooleanField):
            out.append((name, F.label(crm, spec, name), [("true", translate("yes", crm.lang)),
                                                          ("false", translate("no", crm.lang))]))
    return out


def list_rows(crm, spec, args, limit=PAGE):
    """One page of the list as the acting user sees it: ``(rows, next cursor,
    keys)``. Filters are the model's fields (``crm.where`` whitelists them,
    ``crm.parse_filters`` types them); sort keys are the list's columns."""
    entity = spec.name
    filters = {k: v for k, v in args.items() if k not in RESERVED and v != ""}
    sort = args.get("sort") or ""
    if sort and sort.lstrip("-") not in columns_of(spec):
        raise ValidationError({"sort": f"cannot sort by {sort!r}; columns: {', '.join(columns_of(spec))}"}, entity)
    keys = paging.sort_keys(crm, spec, sort or None)
    query = crm.where(entity, crm.query(entity, include_marked=args.get("include_marked") == "1"),
                      crm.parse_filters(entity, filters))
    text = (args.get("q") or "").strip()
    if text:
        cond = None
        for name in search_fields(spec):
            term = getattr(spec.model, name).contains(text[:100])
            cond = term if cond is None else cond | term
        if cond is not None:
            query = query.where(cond)
    cursor = args.get("cursor")
    if cursor:
        cond = paging.after(keys, paging.decode(keys, cursor, entity))
        if cond is None:
            return [], None, keys
        query = query.where(cond)
    rows = list(paging.select_keys(query, keys).order_by(*paging.order_terms(keys)).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (paging.encode(keys, rows[-1]) if more else None), keys


def table(crm, spec, rows, names=None):
    """Rows as cells ``(text, entity, id)`` with references resolved in one
    query per column."""
    from flask import g
    names = names or columns_of(spec)
    refs = F.display_map(crm, spec, rows, names)
    makers = F.cell_makers(crm, spec.model, names, refs, g.get("zone"))
    return [{"record": r, "cells": [make(r) for make in makers]} for r in rows]


def referrers(crm, spec, record):
    """Entities whose references point at this record, with how many of
    their rows (that the user may see) do: links to those lists."""
    out = []
    for other in crm.registry.entities.values():
        if not crm.can("read", other.name):
            continue
        for name, field in other.model._meta.fields.items():
            if isinstance(field, pw.ForeignKeyField) and field.rel_model is spec.model:
                count = crm.count(other.name, **{name: record.get_id()})
                if count:
                    out.append({"entity": other.name, "label": translate(other.label or other.name, crm.lang, context=other.name),
                                "field": name, "field_label": F.label(crm, other, name), "count": count})
    return out


def history(crm, spec, record):
    """The change history as ``crmkit history`` says it: actions in the
    kernel's words, a choice field's old and new codes by their labels, an
    action's note in its plugin's words."""
    from flask import g
    from crmkit import Choice, format_value, translate_message
    fields = spec.model._meta.fields

    def value(field, text):
        if text and getattr(fields.get(field), "choices", None):
            return Choice(text, spec.name).label(crm.lang)
        if text and field == "_":
            return translate_message(text, crm.lang, context=spec.name)
        return text or ""
    rows = []
    for c in crm.history(spec.name, record.get_id()):
        action = translate(c.action, crm.lang, context="kernel.history")
        rows.append({"at": format_value(c.at, crm.lang, g.get("zone")), "user": c.user,
                     "action": action if action != c.action else translate(c.action, crm.lang, context=spec.name),
                     "field": F.label(crm, spec, c.field) if c.field and c.field != "_" else "",
                     "old": value(c.field, c.old), "new": value(c.field, c.new)})
    return rows


def add_routes(bp):
    from flask import g, redirect, request, url_for

    from . import render
    from .views import run_action

    @bp.get("/e/<entity>/", endpoint="list")
    def list_view(entity):
        crm = g.crm
        spec = _spec(crm, entity)
        errors, rows, nxt = {}, [], None
        try:
            rows, nxt, _ = list_rows(crm, spec, request.args)
        except ValidationError as exc:
            errors = exc.errors
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        names = columns_of(spec)
        return render("web/list.html", spec=spec, entity=entity, columns=[(n, F.label(crm, spec, n)) for n in names],
                      rows=table(crm, spec, rows, names), errors=errors, args=args,
                      next_url=(url_for("ui.list", entity=entity) + "?" + urlencode({**args, "cursor": nxt}))
                      if nxt else None,
                      filters=filter_options(crm, spec), can_create=crm.can("create", entity),
                      link_columns={spec.display, spec.lookup, spec.code_field} - {None},
                      title=translate(spec.label or entity, crm.lang, context=spec.name),
                      sort_url=lambda n: url_for("ui.list", entity=entity) + "?" + urlencode(
                          {**{k: v for k, v in args.items()}, "sort": ("-" + n) if args.get("sort") == n else n}))

    @bp.get("/e/<entity>/<key>", endpoint="card")
    def card_view(entity, key):
        return render("web/card.html", **card_context(g.crm, entity, key, request.args.get("tab", "main")))

    def form_page(entity, key=None):
        crm = g.crm
        spec = _spec(crm, entity)
        record = crm.get(entity, record_key(key)) if key is not None else None
        crm.require("update" if record is not None else "create", entity)
        fields = F.form_fields(crm, spec, creating=record is None)
        values = {**F.record_values(spec, record, fields, g.get("zone")),
                  **F.attribute_values(crm, spec, record, fields)}
        if record is None:   # the model's defaults, then the query string: "new contact of this partner"
            values = F.defaults(spec, fields)
            values.update({f.name: request.args[f.name] for f in fields if f.name in request.args})
            values.update(F.required_now(fields, values, g.get("zone")))
        errors, status = {}, 200
        if request.method == "POST":
            data = F.payload(crm, spec, fields, request.form, g.get("zone"), creating=record is None)
            values = {f.name: request.form.get(f.name, "") for f in fields}
            try:
                saved = write(crm, spec, data, (lambda d: crm.update(entity, record.get_id(), d))
                              if record is not None else (lambda d: crm.create(entity, d)))
            except ValidationError as exc:
                from . import flash_errors
                errors, status = flash_errors(exc), 422
            else:
                return redirect(url_for("ui.card", entity=entity, key=saved.get_id()))
        title = (translate("Edit", crm.lang) + ": " + F.display(crm, entity, record)) if record is not None else \
            translate("New", crm.lang) + ": " + translate(spec.label or entity, crm.lang, context=spec.name)
        return render("web/form.html", spec=spec, entity=entity, record=record, fields=fields, values=values,
                      errors=errors, title=title), status

    @bp.route("/e/<entity>/new", methods=["GET", "POST"], endpoint="new")
    def new_view(entity):
        return form_page(entity)

    @bp.route("/e/<entity>/<key>/edit", methods=["GET", "POST"], endpoint="edit")
    def edit_view(entity, key):
        return form_page(entity, key)

    @bp.post("/e/<entity>/<key>/mark", endpoint="mark")
    def mark_view(entity, key):
        crm = g.crm
        _spec(crm, entity)
        record = crm.get(entity, record_key(key))
        crm.mark_deleted(entity, record.get_id(), mark=request.form.get("mark", "1") == "1")
        return redirect(url_for("ui.card", entity=entity, key=record.get_id()))

    @bp.post("/e/<entity>/<key>/act/<name>", endpoint="act")
    def act_view(entity, key, name):
        return run_action(entity, key, name)

    @bp.errorhandler(NotFound)
    def _not_found(exc):
        from flask import render_template
        return render_template("web/error.html", status=404, message=exc), 404

    @bp.errorhandler(AccessDenied)
    def _denied(exc):
        from flask import render_template
        return render_template("web/error.html", status=403, message=exc), 403

    @bp.errorhandler(CrmError)
    def _crm_error(exc):
        from flask import render_template
        return render_template("web/error.html", status=400, message=exc), 400


def card_context(crm, entity, key, active="main"):
    """What the card template shows: every field, the referring records,
    the history, the plugins' tabs (only the shown one is built), actions."""
    from flask import abort
    from .views import action_forms
    spec = _spec(crm, entity)
    record = crm.get(entity, record_key(key))
    title = F.display(crm, entity, record)
    F.remember(entity, record.get_id(), title)     # the tabs' links to it are not read again
    shown = [t for t in current_pages().tabs_of(entity) if not t.entity_read or crm.can("read", t.entity_read)]
    tabs = [t for t in shown if not t.panel]
    panels = [t.render(crm, record) for t in shown if t.panel] if active == "main" else []
    body = None
    if active not in ("main", "history"):
        tab = next((t for t in tabs if t.name == active), None)
        if tab is None:
            abort(404)
        body = tab.render(crm, record)
    names = [n for n in spec.model._meta.fields if n != "deletion_mark"]
    row = table(crm, spec, [record], names)[0]
    return dict(spec=spec, entity=entity, record=record, key=record.get_id(),
                title=title, label=translate(spec.label or entity, crm.lang, context=spec.name),
                fields=[(F.label(crm, spec, n), c) for n, c in zip(names, row["cells"])]
                + attribute_cells(crm, spec, record),
                referrers=referrers(crm, spec, record) if active == "main" else [],
                history=history(crm, spec, record) if active == "history" else [],
                tabs=tabs, active=active, tab_body=body, panels=panels, actions=action_forms(crm, entity, record),
                can_update=crm.can("update", entity), can_delete=crm.can("delete", entity),
                marked=getattr(record, "deletion_mark", False), action_errors=None)


def attribute_cells(crm, spec, record):
    """The card's rows of additional attributes: ``(label, (text, link entity, link id))``."""
    from flask import g
    from crmkit import format_value
    definitions = crm.attributes(spec.name)
    if not definitions:
        return []
    stored = crm.attribute_values(spec.name, [record.get_id()]).get(record.get_id(), {})
    out = []
    for attribute in definitions:
        value = stored.get(attribute.name)
        if attribute.kind == "reference" and value is not None:
            name = crm.names(attribute.target, [value]).get(value)
            cell = (name, attribute.target, value) if name is not None else (f"#{value}", None, None)
        elif attribute.kind == "money" and value is not None:
            cell = (f"{format_value(value, crm.lang)} {attribute.currency}", None, None)
        elif attribute.kind == "choice" and value is not None:
            cell = (translate(value, crm.lang), None, None)
        else:
            cell = (format_value(value, crm.lang, g.get("zone")), None, None)
        out.append((F.label(crm, spec, attribute.name), cell))
    return out


def current_pages():
    from flask import current_app
    return current_app.extensions["crmkit_pages"]
