"""How a report looks on a page: labels instead of field names, grouped
headers, tree rows, numbers on the right, the period and filters on top,
and the report book's index.

The report book (``crmkit demo --book``) and the web plugin's report pages
both show ``ReportResult.html_sections``: each section carries its table
already rendered (``report_table.html``), so both look the same. Pages
carry no script and no inline style attribute (the web's CSP forbids
both): indentation and emphasis are classes.
"""
from __future__ import annotations

import datetime as dt
import numbers
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates_html"
MAX_LEVEL = 6            # tree depths the stylesheets indent (deeper rows share the last step)
# names the kernel itself puts into frames (``crm.paged``'s section) and common parameters
KERNEL_LABELS = {
    "main": "Report", "rows": "Rows in all", "shown": "Shown", "page": "Page", "pages": "Pages in all", "more": "More",
    "page_size": "Rows per page", "as_of": "As of", "include_marked": "Including marked for deletion",
}
PAGING = ("page", "page_size")


def translator(spec, lang):
    """Translate in the report's context: its plugin's catalogue, then the ones it falls back to."""
    from .i18n import translate
    return lambda text: translate(text, lang, context=spec.id)


def label(spec, name, lang):
    """What a person reads for ``name`` (a column, section or parameter):
    ``str``, or ``(group, label)`` for a column under a group header."""
    _ = translator(spec, lang)
    text = spec.labels.get(name) or KERNEL_LABELS.get(name) or name
    if isinstance(text, (tuple, list)):
        return _(text[0]), _(text[1])
    return _(str(text))


def flat_label(spec, name, lang) -> str:
    text = label(spec, name, lang)
    return f"{text[0]}: {text[1]}" if isinstance(text, tuple) else text


def is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def numeric_column(series) -> bool:
    """Numbers (ints, floats, money as Decimal objects) go right-aligned;
    booleans and text do not."""
    if series.dtype.kind in "iuf":
        return True
    if series.dtype.kind == "b":
        return False
    values = series.dropna()
    return bool(len(values)) and all(is_number(v) for v in values)


def code_column(series) -> bool:
    """Short text without spaces (numbers such as ``00-00000001``): kept on one line."""
    values = [v for v in series.dropna() if isinstance(v, str)]
    return bool(values) and len(values) == len(series.dropna()) and \
        all(len(v) <= 20 and not any(ch.isspace() for ch in v) for v in values)


def header_rows(labels) -> list[list[dict]]:
    """One header row, or two when some labels are ``(group, label)``: the
    group spans its consecutive columns, an ungrouped label spans both rows."""
    if not any(isinstance(x, tuple) for x in labels):
        return [[{"text": x, "colspan": 1, "rowspan": 1} for x in labels]]
    top, bottom = [], []
    for x in labels:
        if isinstance(x, tuple):
            if top and top[-1].get("group") == x[0]:
                top[-1]["colspan"] += 1
            else:
                top.append({"text": x[0], "colspan": 1, "rowspan": 1, "group": x[0]})
            bottom.append({"text": x[1], "colspan": 1, "rowspan": 1})
        else:
            top.append({"text": x, "colspan": 1, "rowspan": 2})
    return [top, bottom]


def section_view(result, name, frame, lang) -> dict:
    """One section as the page shows it (see ``ReportResult.html_sections``)."""
    from .charts import svg_chart
    from .i18n import format_value
    spec = result.spec
    localised = result._localised_cells(frame, lang)
    tree = spec.tree_level if spec.tree_level in frame.columns else ""
    shown = [c for c in frame.columns if c != tree]
    labels = [label(spec, str(c), lang) for c in shown]
    numeric = [numeric_column(frame[c]) for c in shown]
    codes = [not n and code_column(frame[c]) for c, n in zip(shown, numeric)]
    levels = [int(v) if v == v else 0 for v in frame[tree]] if tree else [None] * len(frame)
    deepest = max(levels) if tree and levels else 0
    rows = []
    for level, values in zip(levels, localised[shown].itertuples(index=False)):
        rows.append({"cells": [format_value(v, lang, result.zone) for v in values],
                     # a number in a mixed column (a setting's value) goes right too
                     "num": [n or is_number(v) for n, v in zip(numeric, values)],
                     "level": None if level is None else min(level, MAX_LEVEL),
                     "group": level is not None and level < deepest})
    view = {"name": flat_label(spec, name, lang),
            "charts": [svg_chart(c, localised, lang, lambda n: flat_label(spec, str(n), lang))
                       for c in spec.charts if c.section == name],
            "columns": [f"{x[0]}: {x[1]}" if isinstance(x, tuple) else x for x in labels],
            "header": header_rows(labels), "numeric": numeric, "codes": codes, "rows": rows, "tree": bool(tree)}
    view["table"] = _environment().get_template("report_table.html").render(
        section=view, empty=translator(spec, lang)("(no rows)"))
    return view


def _environment():
    from .templates import trusted_environment
    return trusted_environment([TEMPLATES])


def _text(result, value, lang, rules):
    from .i18n import format_value
    _ = translator(result.spec, lang)
    if isinstance(value, bool):
        return _("yes" if value else "no")
    if isinstance(rules, dict) and rules.get("allowed") and isinstance(value, str):
        return _(value)
    return format_value(value, lang, result.zone)


def parameter_lines(result, lang) -> list[tuple[str, str]]:
    """The report's period and filters as the top of the page shows them,
    as 1C's forms do ("Parameters: Period: 01.01.2015 - 31.12.2015",
    "Filter: Not marked for deletion")."""
    spec, params = result.spec, result.params
    _ = translator(spec, lang)
    schema = spec.schema
    lines = []
    if "date_from" in schema or "date_to" in schema:
        start, end = params.get("date_from"), params.get("date_to")
        if start or end:
            period = " – ".join([_text(result, start, lang, None) if start else "…",
                                 _text(result, end, lang, None) if end else "…"])
        else:
            period = _("not limited")
        lines.append((_("Period"), period))
    filters = []
    for key, rules in schema.items():
        if key in ("date_from", "date_to", *PAGING) or key not in params:
            continue
        value = params[key]
        if value in (None, "") or (key == "include_marked" and not value):
            continue
        meta = rules.get("meta") if isinstance(rules, dict) else None
        name = _(meta["label"]) if isinstance(meta, dict) and meta.get("label") else flat_label(spec, key, lang)
        filters.append((name, _text(result, value, lang, rules)))
    if "include_marked" in schema and not params.get("include_marked"):
        filters.append((_("Filter"), _("Not marked for deletion")))
    return lines + filters


def book_index(crm, pages: list[tuple[object, str]]) -> str:
    """The report book's index: the reports grouped by plugin (in plugin
    order), each with the question it answers and a link to its page."""
    from .i18n import translate
    lang = crm.lang
    order = {p.name: i for i, p in enumerate(crm.plugins)}
    titles = {p.name: (getattr(p.meta, "title", "") or p.name) for p in crm.plugins}
    groups: dict[str, list] = {}
    for spec, href in sorted(pages, key=lambda sp: (order.get(sp[0].plugin, 99), sp[0].id)):
        _ = translator(spec, lang)
        groups.setdefault(spec.plugin, []).append({
            "href": href, "id": spec.id, "title": _(spec.title),
            "question": _(spec.question or spec.description) if (spec.question or spec.description) else ""})
    return _environment().get_template("book_index.html").render(
        lang=lang, title=translate("Report book", lang),
        groups=[(translate(titles.get(name, name), lang, domain=name), reports) for name, reports in groups.items()],
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
