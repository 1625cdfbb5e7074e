"""``/api/v1/<entity>`` and ``/api/v1/<entity>/<id or code>`` for every
registered entity: list (filters, order, fields, expand, keyset pages),
create, read, update (``If-Match``), delete. All through ``crm``: the same
validation, access and events as the CLI."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import g, request

from crmkit import ValidationError

from . import blueprint, body, idempotency, paging, records
from .problems import Problem
from .responses import json_response

RESERVED = {"fields", "order_by", "limit", "cursor", "expand", "include_marked"}


def _spec(entity):
    spec = g.crm.registry.entity(entity)   # NotFound (404) for an unknown name
    return spec


def _csv(name):
    raw = request.args.get(name, "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def _flag(name):
    value = request.args.get(name, "")
    if value.lower() not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ValidationError({name: "must be true or false"})
    return value.lower() in ("1", "true", "yes")


def _shape(crm, spec, recs, names=None, docs=None):
    docs = records.documents(recs, spec, names) if docs is None else docs
    wanted = _csv("expand")
    if wanted:
        records.expand(crm, spec, docs, wanted)
    records.add_attributes(crm, spec, recs, docs, _csv("fields"))
    return docs


@blueprint.get("/<entity>")
def list_records(entity):
    crm = g.crm
    spec = _spec(entity)
    filters = {k: v for k, v in request.args.items(multi=False) if k not in RESERVED}
    names = records.field_names(spec, _csv("fields"), crm.attribute_fields(entity))
    limit = paging.limit_of(request.args.get("limit"), entity)
    keys = paging.sort_keys(crm, spec, request.args.get("order_by") or None)
    query = crm.where(entity, crm.query(entity, include_marked=_flag("include_marked")),
                      crm.parse_filters(entity, filters))
    cursor = request.args.get("cursor")
    if cursor:
        cond = paging.after(keys, paging.decode(keys, cursor, entity))
        if cond is None:
            return json_response({"data": [], "next": None})
        query = query.where(cond)
    rows = list(paging.select_keys(query, keys).order_by(*paging.order_terms(keys)).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    doc = {"data": _shape(crm, spec, rows, names), "next": None}
    headers = {}
    if more:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = paging.encode(keys, rows[-1])
        doc["next"] = f"{request.base_url}?{urlencode(args)}"
        headers["Link"] = f'<{doc["next"]}>; rel="next"'
    return json_response(doc, headers=headers)


def _one(crm, spec, record, status=200, headers=None):
    names = records.field_names(spec, _csv("fields"), crm.attribute_fields(spec.name))
    full = records.document(record, spec)      # every field: the ETag's, and the answer's when no fields=
    doc = _shape(crm, spec, [record], docs=[{n: full[n] for n in names}])[0]
    return json_response(doc, status=status, headers={"ETag": records.etag(record, spec, full), **(headers or {})})


def _base_url() -> str:
    """The request's URL without its query, as ``request.base_url`` gives it
    but without its IRI round trip (a third of a small request's routing)."""
    from urllib.parse import quote
    return f"{request.scheme}://{request.host}{quote(request.root_path + request.path)}"


@blueprint.post("/<entity>")
def create_record(entity):
    crm = g.crm
    spec = _spec(entity)

    def view():
        record = records.write(crm, spec, body.json_object(request), lambda data: crm.create(entity, data))
        location = f"{_base_url()}/{record.get_id()}"
        return _one(crm, spec, record, status=201, headers={"Location": location})

    return idempotency.run(view)


@blueprint.get("/<entity>/<key>")
def get_record(entity, key):
    crm = g.crm
    spec = _spec(entity)
    record = crm.get(entity, key)
    tag = records.etag(record, spec)
    if tag in _tags(request.headers.get("If-None-Match")):
        return json_response(None, status=304, headers={"ETag": tag})
    return _one(crm, spec, record)


def _tags(header):
    return {t.strip().removeprefix("W/") for t in (header or "").split(",") if t.strip()}


def _check_if_match(spec, record):
    wanted = request.headers.get("If-Match")
    if wanted is None:
        return
    tags = _tags(wanted)
    if "*" not in tags and records.etag(record, spec) not in tags:
        raise Problem(412, "Precondition failed",
                      "the record was changed since you read it: read it again and reapply your change")


def _locked(crm, entity, key):
    """The record, locked until the transaction ends (PostgreSQL; SQLite's
    write transaction already excludes other writers)."""
    record = crm.get(entity, key)
    if not crm.db.__class__.__name__.startswith("Sqlite"):
        model = crm.model(entity)
        model.select(model._meta.primary_key).where(model._meta.primary_key == record.get_id()).for_update().execute()
        record = crm.get(entity, record.get_id())
    return record


@blueprint.patch("/<entity>/<key>")
def update_record(entity, key):
    crm = g.crm
    spec = _spec(entity)
    data = body.json_object(request)
    with crm.transaction():
        crm.require("update", entity)
        record = _locked(crm, entity, key)
        _check_if_match(spec, record)
        record = records.write(crm, spec, data, lambda clean: crm.update(entity, record.get_id(), clean))
    return _one(crm, spec, crm.get(entity, record.get_id()))


@blueprint.delete("/<entity>/<key>")
def delete_record(entity, key):
    """Records with a deletion mark are marked first (1C's two steps): the
    first DELETE marks, a DELETE of a marked record deletes it for good."""
    crm = g.crm
    spec = _spec(entity)
    crm.require("delete", entity)
    with crm.transaction():
        record = _locked(crm, entity, key)
        _check_if_match(spec, record)
        if getattr(record, "deletion_mark", True) is False:
            crm.mark_deleted(entity, record.get_id())
            return _one(crm, spec, crm.get(entity, record.get_id()))
        crm.delete(entity, record.get_id())
    return json_response(None, status=204)
