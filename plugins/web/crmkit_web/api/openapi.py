"""The OpenAPI 3.1 document at ``/api/v1/openapi.json``, generated from
the registries: every entity's fields (types, required, choices,
references), every report's parameters and every action's parameters.
It is public (it says what exists, never what is stored) and built once
per process."""
from __future__ import annotations

import functools

from flask import current_app, request

from crmkit import translate

from . import blueprint, records
from .paging import DEFAULT_LIMIT, MAX_LIMIT
from .entities import RESERVED
from .reports import MEDIA
from .responses import json_response
from .schemas import object_schema, rule_schema

PROBLEM = {"$ref": "#/components/responses/Problem"}
ERRORS = {code: PROBLEM for code in ("401", "403", "404", "422")}


def _name(entity):
    return entity.replace(".", "_")


def _param(name, where, schema, description="", required=False):
    out = {"name": name, "in": where, "schema": schema, "required": required or where == "path"}
    if description:
        out["description"] = description
    return out


def _json(schema):
    return {"application/json": {"schema": schema}}


def _entity_paths(crm, spec, components):
    name = _name(spec.name)
    schema = crm.schema(spec.name)
    refs = {n: crm.registry.spec_of_model(f.rel_model).name
            for n, f in records.references(spec).items() if crm.registry.spec_of_model(f.rel_model)}
    fields = spec.model._meta.fields
    read = {"type": "object", "properties": {}, "required": list(fields)}
    for fname in fields:
        rules = dict(schema.get(fname, {}))
        base = {k: v for k, v in rules.items() if k != "readonly"} if rules.get("readonly") else rules
        if not base.get("type"):   # read-only fields carry no type in the write schema: take the column's
            base = {**base, **_column_rules(crm, spec, fname)}
        prop = rule_schema({**base, "nullable": fields[fname].null or base.get("nullable", False)})
        if fname in refs:
            prop = {"type": ["integer", "null"] if fields[fname].null else "integer",
                    "x-crmkit-reference": refs[fname],
                    "description": f"id of a {refs[fname]}; with expand={fname}: an object {{id, display}}"}
            prop = {"oneOf": [prop, {"$ref": "#/components/schemas/Reference"}]}
        read["properties"][fname] = prop
    extra = crm.attribute_fields(spec.name)   # additional attributes: in documents, filters and writes
    labels = crm.attribute_labels(spec.name)
    for fname in extra:
        read["properties"][fname] = {**rule_schema({**schema.get(fname, {}), "nullable": True}),
                                     "description": f"additional attribute: {labels[fname]}"}
    writable = {n: r for n, r in schema.items() if not r.get("readonly")}
    components[name] = {**read, "title": spec.label or spec.name}
    components[name + "_create"] = object_schema(writable, refs)
    components[name + "_update"] = object_schema(writable, refs, require=False)
    key = _param("key", "path", {"type": "string"},
                 "id" + (f" or {spec.lookup}" if spec.lookup else ""))
    ref = {"$ref": f"#/components/schemas/{name}"}
    tag = [spec.name]
    filters = [_param(f, "query", {"type": "string"}, f"filter: {f}=value; also {f}__ne, __lt, __le, __gt, "
                      "__ge, __in (comma-separated), __contains, __startswith, __isnull")
               for f in [*fields, *extra] if f not in RESERVED]   # a field named like a list option is no filter
    listing = [
        _param("fields", "query", {"type": "string"}, "comma-separated fields to return"),
        _param("order_by", "query", {"type": "string"}, "comma-separated fields, - for descending"),
        _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        _param("cursor", "query", {"type": "string"}, "the cursor of the `next` link"),
        _param("expand", "query", {"type": "string"}, "comma-separated references to expand"),
        _param("include_marked", "query", {"type": "boolean"}, "include records marked for deletion"),
    ]
    one = {"200": {"description": "the record", "headers": {"ETag": {"schema": {"type": "string"}}},
                   "content": _json(ref)}}
    if_match = _param("If-Match", "header", {"type": "string"}, "the ETag read: 412 if it changed since")
    paths = {
        f"/{spec.name}": {
            "get": {"tags": tag, "operationId": f"list_{name}", "summary": f"List {spec.label or spec.name}",
                    "parameters": listing + filters,
                    "responses": {"200": {"description": "a page", "content": _json({
                        "type": "object", "required": ["data", "next"],
                        "properties": {"data": {"type": "array", "items": ref},
                                       "next": {"type": ["string", "null"], "description": "the next page"}}})},
                        **ERRORS}},
            "post": {"tags": tag, "operationId": f"create_{name}", "summary": f"Create {spec.label or spec.name}",
                     "parameters": [_param("Idempotency-Key", "header", {"type": "string", "maxLength": 200})],
                     "requestBody": {"required": True, "content": _json(
                         {"$ref": f"#/components/schemas/{name}_create"})},
                     "responses": {"201": {**one["200"], "description": "created"}, **ERRORS, "409": PROBLEM}},
        },
        f"/{spec.name}/{{key}}": {
            "parameters": [key],
            "get": {"tags": tag, "operationId": f"get_{name}", "responses": {**one, "304": {
                "description": "not modified"}, **ERRORS}},
            "patch": {"tags": tag, "operationId": f"update_{name}", "parameters": [if_match],
                      "requestBody": {"required": True, "content": _json(
                          {"$ref": f"#/components/schemas/{name}_update"})},
                      "responses": {**one, **ERRORS, "409": PROBLEM, "412": PROBLEM}},
            "delete": {"tags": tag, "operationId": f"delete_{name}", "parameters": [if_match],
                       "description": "marks the record for deletion; deletes a marked one for good",
                       "responses": {**one, "204": {"description": "deleted"}, **ERRORS, "412": PROBLEM}},
        },
    }
    for action in crm.registry.actions_of(spec.name):
        path = f"/{spec.name}/{{key}}/actions/{action.name}" if action.on_record \
            else f"/{spec.name}/actions/{action.name}"
        paths[path] = _action_item(crm, action, [key] if action.on_record else [])
    return paths


def _column_rules(crm, spec, fname):
    field = spec.model._meta.fields[fname]
    kind = type(field).__name__
    for cls, t in (("Boolean", "boolean"), ("Decimal", "decimal"), ("Money", "decimal"), ("DateTime", "datetime"),
                   ("Date", "date"), ("Float", "float"), ("Integer", "integer"), ("AutoField", "integer"),
                   ("ForeignKey", "integer"), ("Char", "string"), ("Text", "string")):
        if cls in kind:
            return {"type": t}
    return {}


def _action_item(crm, action, parameters):
    return {"post": {
        "tags": [action.entity or "actions"], "operationId": f"act_{_name(action.name)}",
        "summary": translate(action.title, "en") if action.title else action.name,
        "description": action.description, "parameters": parameters + [
            _param("Idempotency-Key", "header", {"type": "string", "maxLength": 200})],
        "requestBody": {"required": False, "content": _json(object_schema(action.params))},
        "responses": {"200": {"description": "done", "content": _json({"$ref": "#/components/schemas/ActionResult"})},
                      **ERRORS, "409": PROBLEM}}}


def _report_item(spec):
    params = object_schema(spec.schema)
    required = set(params.get("required", ()))
    query = [_param(n, "query", s, required=n in required) for n, s in params["properties"].items()]
    query.append(_param("format", "query", {"type": "string", "enum": list(MEDIA)}))
    return {"get": {"tags": ["reports"], "operationId": f"report_{_name(spec.id)}", "summary": spec.title,
                    "description": spec.description, "parameters": query,
                    "responses": {"200": {"description": "the report",
                                          "content": {m: {"schema": {"type": "string"}} if f != "json" else
                                                      {"schema": {"type": "object"}} for f, m in MEDIA.items()}},
                                  **ERRORS}}}


def build(crm, server_url="/api/v1") -> dict:
    components: dict = {
        "Reference": {"type": "object", "required": ["id", "display"],
                      "properties": {"id": {"type": "integer"}, "display": {"type": "string"}},
                      "additionalProperties": True},
        "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "every field's problems"}}},
        "ActionResult": {"type": "object", "required": ["action"], "properties": {
            "action": {"type": "string"}, "result": {}}},
    }
    paths: dict = {}
    for spec in sorted(crm.registry.entities.values(), key=lambda s: s.name):
        paths.update(_entity_paths(crm, spec, components))
    for action in crm.registry.actions_of(None):
        paths[f"/actions/{action.name}"] = _action_item(crm, action, [])
    paths["/actions"] = {"get": {"tags": ["actions"], "operationId": "list_actions",
                                 "responses": {"200": {"description": "the actions you may run",
                                                       "content": _json({"type": "object"})}, **ERRORS}}}
    paths["/reports"] = {"get": {"tags": ["reports"], "operationId": "list_reports",
                                 "responses": {"200": {"description": "the reports you may run",
                                                       "content": _json({"type": "object"})}, **ERRORS}}}
    for spec in sorted(crm.registry.reports.values(), key=lambda s: s.id):
        paths[f"/reports/{spec.id}"] = _report_item(spec)
    from .routes import collect
    for route in collect(crm):   # the routes plugins add (crmkit_register_api_routes)
        if route.openapi:
            paths.setdefault(route.path, {}).update(route.openapi)
    return {
        "openapi": "3.1.0",
        "info": {"title": "crmkit API", "version": "1",
                 "description": "Every entity, report and action of the installed plugins. "
                                "Authenticate with a personal token: `crmkit user token create LOGIN`."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "a personal API token"}},
            "responses": {"Problem": {"description": "an RFC 9457 problem document",
                                      "content": {"application/problem+json": {
                                          "schema": {"$ref": "#/components/schemas/Problem"}}}}}},
    }


@functools.lru_cache(maxsize=8)
def _cached(host_id, server_url, attributes=()):   # built anew when an attribute is added or removed
    host = current_app.extensions["crmkit"]
    return build(host.system().as_user(None), server_url)   # a fresh session: today's attributes


@blueprint.get("/openapi.json")
def openapi():
    doc = _cached(id(current_app.extensions["crmkit"]), request.script_root + "/api/v1", current_app.extensions["crmkit"].system().attributes_stamp())
    return json_response(doc)
