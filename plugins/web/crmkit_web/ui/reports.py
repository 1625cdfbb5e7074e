"""Every registered report as a page: its parameters as a form, the
charts and tables of the report book (``ReportResult.html_sections``), and
downloads in XLSX, CSV and JSON (the kernel's renderers, so exports
neutralise formulas as everywhere). Reports run as the signed-in user, so
no figure counts a row the user may not see."""
from __future__ import annotations

from urllib.parse import urlencode

from crmkit import ValidationError, translate

from . import params as P

DOWNLOADS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv; charset=utf-8", "json": "application/json"}


def add_routes(bp):
    from flask import Response, g, request, url_for

    from . import flash_errors, render

    @bp.get("/reports/", endpoint="reports")
    def report_list():
        crm = g.crm
        return render("web/reports.html", title=translate("Reports", crm.lang), groups=report_groups(crm))

    @bp.get("/reports/<report_id>", endpoint="report")
    def report_page(report_id):
        crm = g.crm
        spec = crm.registry.report(report_id)
        crm.require("read", report_id)
        fields = P.param_fields(crm, spec.params, admin_only=(), labels=spec.labels, contexts=(spec.id,))
        values = P.read(fields, request.args)
        fmt = request.args.get("format", "")
        errors, sections = {}, []
        try:
            result = crm.report(report_id, **values)
        except ValidationError as exc:
            errors = flash_errors(exc)
            result = None
        if result is not None and fmt in DOWNLOADS:
            body = result.render(fmt, lang=crm.lang)
            name = report_id.replace(".", "-") + "." + fmt
            return Response(body, mimetype=DOWNLOADS[fmt],
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        summary = []
        if result is not None:
            sections, summary = result.html_sections(crm.lang), result.parameter_lines(crm.lang)
        query = {k: v for k, v in request.args.items() if k != "format"}
        downloads = [(f.upper(), url_for("ui.report", report_id=report_id) + "?" + urlencode({**query, "format": f}))
                     for f in DOWNLOADS]
        return render("web/report.html", title=translate(spec.title, crm.lang, context=spec.id), spec=spec, fields=fields,
                      values={k: request.args.get(k, "") for k in (f.name for f in fields)},
                      errors=errors, sections=sections, summary=summary,
                      downloads=downloads if result is not None else [],
                      question=translate(spec.question, crm.lang, context=spec.id) if spec.question else "",
                      description=translate(spec.description, crm.lang, context=spec.id) if spec.description else ""), \
            (422 if errors else 200)


def report_groups(crm):
    """``[(plugin title, [report])]``: the reports the user may read, grouped
    by plugin in plugin order, each with the question it answers."""
    order = {p.name: i for i, p in enumerate(crm.plugins)}
    titles = {p.name: p.meta.title or p.name for p in crm.plugins}
    groups: dict[str, list] = {}
    for r in sorted((r for r in crm.registry.reports.values() if crm.can("read", r.id)),
                    key=lambda r: (order.get(r.plugin, 99), r.id)):
        groups.setdefault(r.plugin, []).append(
            {"id": r.id, "title": translate(r.title, crm.lang, context=r.id),
             "question": translate(r.question or r.description, crm.lang, context=r.id)
             if (r.question or r.description) else ""})
    return [(translate(titles.get(name, name), crm.lang, domain=name), reports) for name, reports in groups.items()]
