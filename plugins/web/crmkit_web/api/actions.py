"""Actions over HTTP: ``POST /api/v1/<entity>/<id or code>/actions/<name>``
(on a record), ``POST /api/v1/<entity>/actions/<name>`` (on the entity as
a whole) and ``POST /api/v1/actions/<name>`` (on no entity), each calling
``crm.act``, the same function the CLI's commands call. The body holds
the action's parameters; ``GET /api/v1/actions`` lists those the user may
run, with their parameter schemas."""
from __future__ import annotations

import peewee as pw
from flask import g, request

from crmkit import NotFound, translate

from . import blueprint, body, idempotency, records
from .responses import json_response
from .schemas import object_schema


def describe(crm, spec) -> dict:
    return {"name": spec.name, "entity": spec.entity, "on_record": spec.on_record, "verb": spec.verb,
            "title": translate(spec.title, crm.lang, context=spec.name) if spec.title else spec.name,
            "description": translate(spec.description, crm.lang, context=spec.name) if spec.description else "",
            "params": object_schema(spec.params)}


@blueprint.get("/actions")
def list_actions():
    crm = g.crm
    return json_response({"data": [describe(crm, a) for a in sorted(crm.registry.actions.values(),
                                                                     key=lambda a: a.name) if crm.may_act(a)]})


def result_document(crm, result):
    """What an action returned, as JSON: a record as the API shows records."""
    if isinstance(result, pw.Model):
        spec = crm.registry.spec_of_model(type(result))
        if spec is not None:
            return {"entity": spec.name, "record": records.document(result, spec)}
        return {"id": result.get_id()}
    return result


def _run(name, entity, key):
    crm = g.crm
    spec = crm.registry.action(name)
    if spec.entity != entity or spec.on_record != (key is not None):
        raise NotFound(f"no action {name!r} here; it is at "
                       + (f"/api/v1/{spec.entity}/" if spec.entity else "/api/v1/")
                       + ("<id>/" if spec.on_record else "") + f"actions/{name}")

    def view():
        params = body.json_object(request, required=False)
        result = crm.act(name, key, **params)
        return json_response({"action": name, "result": result_document(crm, result)})

    return idempotency.run(view, transactional=spec.transaction)


@blueprint.post("/<entity>/<key>/actions/<name>")
def record_action(entity, key, name):
    return _run(name, entity, key)


@blueprint.post("/<entity>/actions/<name>")
def entity_action(entity, name):
    return _run(name, entity, None)


@blueprint.post("/actions/<name>")
def global_action(name):
    return _run(name, None, None)
