"""The report engine: params -> DataFrames -> table, CSV, JSON, XLSX, HTML.

A report's ``build`` aggregates in SQL and shapes in pandas; the kernel
validates its parameters, checks the user may read it, and renders it.
Every spreadsheet-bound format neutralises formula-like text cells.
"""
from __future__ import annotations

import datetime as dt
import decimal
import importlib
import io
import json

import attrs

from .errors import ValidationError
from .validation import check_params
from .values import plain

FORMATS = ("table", "csv", "json", "xlsx", "html")
EXPORTS = ("csv", "json", "xlsx")      # files: a paged report gives every row unless a page is asked for
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value):
    """Prefix text that a spreadsheet would run as a formula with ``'``.

    Numbers stay numbers; only strings are touched.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame):
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            # element by element into an object column: ``map`` would turn a column of
            # whole numbers with a blank into floats (a reference exported as 1.0)
            out[col] = out[col].__class__([v if v is None or v != v else neutralise(v) for v in out[col].tolist()],
                                          index=out.index, dtype=object)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(frame, buf):
    """CSV where a text cell holding a line break is always quoted, so that a
    ``\r`` inside a value cannot start a new row (that would run as a formula)."""
    import csv
    frame.to_csv(buf, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def _plain(value):
    """JSON and XLSX cells: numbers stay numbers."""
    return plain(value, decimals=float)


@attrs.define
class ReportResult:
    """What a report returns: its spec, parameters and named DataFrames."""

    spec: object
    params: dict
    sections: dict
    lang: str = "en"
    zone: object = None       # the user's tzinfo: moments are shown in it (None: the operator's)

    @property
    def frame(self):
        """The first (main) section."""
        return next(iter(self.sections.values()))

    def __getitem__(self, name):
        return self.sections[name]

    def render(self, fmt="table", lang=None):
        """Render to ``table`` / ``csv`` / ``json`` / ``html`` (str) or ``xlsx`` (bytes)."""
        if fmt not in FORMATS:
            raise ValidationError({"format": f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}"})
        lang = lang or self.lang
        from .i18n import in_context
        with in_context(self.spec.id):
            return getattr(self, f"_render_{fmt}")(lang)

    def _titles(self, lang):
        from .i18n import translate
        return translate(self.spec.title, lang), {name: translate(self._kernel_name(name), lang)
                                                  for name in self.sections}

    def _kernel_name(self, name):
        """A name the kernel put in the frame (the paging section's ``rows``,
        ``shown`` ...) by its label, unless the report labels it itself."""
        from .report_pages import KERNEL_LABELS
        return name if name in self.spec.labels or name not in KERNEL_LABELS else KERNEL_LABELS[name]

    def _localised(self, frame, lang):
        """Column names, and text cells that are catalogue messages
        ("Total", "won" ...), in ``lang``."""
        from .i18n import translate
        frame = self._localised_cells(frame, lang)
        return frame.rename(columns={c: translate(self._kernel_name(str(c)), lang) for c in frame.columns})

    def _localised_cells(self, frame, lang):
        """Text cells that are catalogue messages in ``lang`` (a copy when any is)."""
        from .i18n import translate
        if lang and lang != "en":
            frame = frame.copy()
            for col in frame.columns:
                if frame[col].dtype == object or str(frame[col].dtype) in ("string", "str"):
                    values = {v for v in frame[col].dropna().unique() if isinstance(v, str)}
                    mapping = {v: translate(v, lang) for v in values}
                    if any(k != v for k, v in mapping.items()):
                        frame[col] = frame[col].map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)
        return frame

    def _render_table(self, lang):
        from .i18n import format_value
        title, names = self._titles(lang)
        out = [title, "=" * len(title)]
        for name, frame in self.sections.items():
            if len(self.sections) > 1:
                out += ["", names[name], "-" * len(names[name])]
            frame = self._localised(frame, lang)
            cols = [str(c) for c in frame.columns]
            rows = [[format_value(v, lang, self.zone) for v in row] for row in frame.itertuples(index=False)]
            widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
            numeric = [frame[c].dtype.kind in "iuf" or (len(frame) and isinstance(frame[c].iloc[0], decimal.Decimal))
                       for c in frame.columns]
            fmt_row = lambda r: "  ".join(v.rjust(w) if num else v.ljust(w)
                                          for v, w, num in zip(r, widths, numeric)).rstrip()
            out.append(fmt_row(cols))
            out.append("  ".join("-" * w for w in widths))
            out += [fmt_row(r) for r in rows]
            if not rows:
                from .i18n import translate
                out.append(translate("(no rows)", lang, domain="kernel"))
        return "\n".join(out) + "\n"

    def _render_csv(self, lang):
        from .zones import local_frame      # moments in the user's zone, with its offset
        buf = io.StringIO()
        for i, (name, frame) in enumerate(self.sections.items()):
            if len(self.sections) > 1:
                if i:
                    buf.write("\n")
                buf.write(f"# {name}\n")
            write_csv(neutralise_frame(self._localised(local_frame(frame, self.zone), lang)), buf)
        return buf.getvalue()

    def _render_json(self, lang):
        from .zones import local_moment     # ISO 8601 in the user's zone, with its offset
        cell = lambda v: _plain(local_moment(v, self.zone))
        doc = {"report": self.spec.id, "title": self._titles(lang)[0],
               "params": {k: cell(v) for k, v in self.params.items()},
               "sections": {name: [{str(k): cell(v) for k, v in row.items()}
                                   for row in frame.to_dict(orient="records")]
                            for name, frame in self.sections.items()}}
        return json.dumps(doc, ensure_ascii=False, indent=2, default=str)

    def _render_xlsx(self, lang):
        from .xlsx import write_workbook
        from .zones import output_zone
        titles = self._titles(lang)[1]
        sections = {name: (frame, neutralise_frame(self._localised(frame, lang)))
                    for name, frame in self.sections.items()}
        return write_workbook(sections, titles, lang, self.zone or output_zone())

    def html_sections(self, lang=None):
        """Each section as a page shows it: its label, its inline SVG charts,
        column labels (``columns``; ``header``: the header rows with group
        headers), which columns are numbers, the rows (cells as text, tree
        level, group row or not) and ``table``, the section's table as HTML.
        The report book and the web pages both use this."""
        from .i18n import in_context
        from .report_pages import section_view
        lang = lang or self.lang
        with in_context(self.spec.id):
            return [section_view(self, name, frame, lang) for name, frame in self.sections.items()]

    def parameter_lines(self, lang=None):
        """``[(label, text)]``: the period and the filters, for the top of a page."""
        from .i18n import in_context
        from .report_pages import parameter_lines
        with in_context(self.spec.id):
            return parameter_lines(self, lang or self.lang)

    def _render_html(self, lang):
        from .i18n import format_value, translate
        from .report_pages import TEMPLATES
        from .templates import trusted_environment
        title, _ = self._titles(lang)
        env = trusted_environment([TEMPLATES])
        template = env.get_template(self.spec.template or "report.html")
        return template.render(title=title, report=self.spec, sections=self.html_sections(lang),
                               params=self.parameter_lines(lang), lang=lang,
                               question=translate(self.spec.question, lang) if self.spec.question else "",
                               generated=format_value(dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                                                      lang, self.zone))


def resolve_build(build):
    if isinstance(build, str):
        module, _, name = build.partition(":")
        return getattr(importlib.import_module(module), name)
    return build


def export_params(spec, params: dict, fmt: str) -> dict:
    """The parameters of ``spec`` rendered as ``fmt``: an export of a paged
    report holds every row unless the caller asked for a page."""
    if spec.page_size and fmt in EXPORTS and "page" not in params and "page_size" not in params:
        return {**params, "page_size": 0}
    return params


def paged(crm, query, page, page_size, columns=None):
    """One page of a report's rows and the section that says where it is.

    :return: ``(frame, rows)``: the page (``page_size`` 0: every row) and a
        one-row frame with the total, the rows shown, the page, the pages and
        how to ask for the rest.
    """
    import pandas as pd
    total = query.order_by().count() if page_size else None
    frame = crm.frame(query.paginate(page, page_size) if page_size else query, columns=columns)
    total = len(frame) if total is None else total
    first = (page - 1) * page_size + 1 if page_size else 1
    pages = -(-total // page_size) if page_size else 1
    shown = f"{first}–{first + len(frame) - 1}" if len(frame) else "0"
    from .i18n import Message
    more = Message("page={page}; page_size=0 for every row", domain="kernel", page=page + 1) \
        if page_size and page < pages else ""
    return frame, pd.DataFrame([{"rows": total, "shown": shown, "page": page if page_size else 1,
                                 "pages": pages, "more": more}])


def run_report(crm, report_id, params) -> ReportResult:
    spec = crm.registry.report(report_id)
    crm.require("read", report_id)
    with crm.reading_input():
        clean = check_params(spec, params)
        result = resolve_build(spec.build)(crm, **clean)
    if not isinstance(result, dict):
        result = {"main": result}
    return ReportResult(spec, clean, result, crm.lang, crm.zone)
