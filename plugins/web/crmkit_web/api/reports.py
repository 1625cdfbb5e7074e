"""``/api/v1/reports``: what the user may run, with parameter schemas, and
``/api/v1/reports/<id>?<params>`` rendered as json, csv, xlsx or html (by
``format=`` or ``Accept``), through the report engine of the CLI."""
from __future__ import annotations

from flask import current_app, g, request

from crmkit import ValidationError, translate

from . import blueprint
from .responses import json_response
from .schemas import object_schema

MEDIA = {
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
}
# a report page is self-contained: inline styles and SVG, no script, nothing fetched
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def describe(crm, spec) -> dict:
    return {"id": spec.id, "title": translate(spec.title, crm.lang, context=spec.id),
            "description": translate(spec.description, crm.lang, context=spec.id) if spec.description else "",
            "params": object_schema(spec.schema, require=True), "formats": list(MEDIA)}


@blueprint.get("/reports")
def list_reports():
    crm = g.crm
    return json_response({"data": [describe(crm, s) for s in sorted(crm.registry.reports.values(), key=lambda s: s.id)
                                   if crm.can("read", s.id)]})


def _format():
    fmt = request.args.get("format")
    if fmt:
        if fmt not in MEDIA:
            raise ValidationError({"format": f"unknown format {fmt!r}; use one of {', '.join(MEDIA)}"})
        return fmt
    best = request.accept_mimetypes.best_match([MEDIA[f] for f in MEDIA], default=MEDIA["json"])
    return next(f for f, m in MEDIA.items() if m == best)


@blueprint.get("/reports/<report_id>")
def run_report(report_id):
    crm = g.crm
    fmt = _format()
    params = {k: v for k, v in request.args.items() if k != "format"}
    result = crm.report(report_id, **params)
    content = result.render(fmt)
    resp = current_app.response_class(content, mimetype=MEDIA[fmt])
    if fmt in ("csv", "xlsx"):
        resp.headers["Content-Disposition"] = f'attachment; filename="{report_id}.{fmt}"'
    if fmt == "html":
        resp.headers["Content-Security-Policy"] = HTML_CSP
    return resp
