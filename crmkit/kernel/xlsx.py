"""A report as a workbook a manager works with: one sheet per section.

Moments are real Excel dates in the user's zone (Excel has no zones: the
local wall time is written), dates are dates; money and other fractional
numbers have two decimals and a thousands separator; shares given in
percent (a column named ``..., %``, ``*_pct``, ``*share`` or ``cv``) are
Excel percentages; widths follow the content; the header is frozen and filtered.
A tree section (a numeric ``Level`` column, as the deal efficiency report
has) becomes outline levels: its rows group under their parent, the label
is indented, and the ``Level`` column itself is not written. Text that a
spreadsheet would run as a formula is neutralised (``reports.neutralise``).
"""
from __future__ import annotations

import datetime as dt
import decimal
import io

LEVEL = "Level"
MIN_WIDTH, MAX_WIDTH = 8, 60
FORMATS = {
    "en": {"date": "yyyy-mm-dd", "moment": "yyyy-mm-dd hh:mm"},
    "ru": {"date": "dd.mm.yyyy", "moment": "dd.mm.yyyy hh:mm:ss"},
}
MONEY = "#,##0.00"
PERCENT = "0.00%"


PERCENT_NAMES = {"cv"}     # the XYZ coefficient of variation, in percent


def is_percent(name: str) -> bool:
    """A column of shares in percent (66.67 meaning 66.67 %), by its English name."""
    name = str(name).strip().lower()
    return name.endswith(("%", "_pct", "share")) or name in PERCENT_NAMES


def _is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)      # NaN, NaT
    except (TypeError, ValueError):
        return False


def _cell(value, zone):
    """(kind, value) of a cell: moment, date, bool, int, number, text or None."""
    if _is_missing(value):
        return None, None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and not hasattr(value, "to_pydatetime"):
        try:
            value = value.item()
        except (AttributeError, ValueError):
            pass
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        return "moment", value
    if isinstance(value, dt.date):
        return "date", value
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, int):
        return "int", value
    if isinstance(value, (float, decimal.Decimal)):
        return "number", float(value)
    return "text", str(value)


def _tree_levels(frame):
    """The outline level of each row of a tree section, or None."""
    if LEVEL not in frame.columns or frame[LEVEL].dtype.kind not in "iu":
        return None
    return [int(v) for v in frame[LEVEL].tolist()]


def write_workbook(sections, titles, lang, zone) -> bytes:
    """``sections``: ``{name: (original frame, localised neutralised frame)}``;
    ``titles``: ``{name: sheet title}``."""
    import xlsxwriter
    from .i18n import format_value
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    shapes = FORMATS.get(lang, FORMATS["en"])
    cache = {}

    def fmt(**props):
        key = tuple(sorted(props.items()))
        if key not in cache:
            cache[key] = book.add_format(props)
        return cache[key]

    used = set()
    for name, (original, frame) in sections.items():
        sheet_name = "".join(ch for ch in titles[name] if ch not in "[]:*?/\\")[:31] or "Sheet"
        while sheet_name in used:
            sheet_name = sheet_name[:28] + f"_{len(used)}"
        used.add(sheet_name)
        sheet = book.add_worksheet(sheet_name)
        levels = _tree_levels(original)
        keep = [i for i, c in enumerate(original.columns) if not (levels is not None and c == LEVEL)]
        percent = {i: is_percent(original.columns[i]) for i in keep}
        label = keep[0] if levels is not None and keep else None
        widths = {}
        header = fmt(bold=True, text_wrap=True, valign="top", bottom=1)
        for c, i in enumerate(keep):
            text = str(frame.columns[i])
            sheet.write_string(0, c, text, header)
            widths[c] = max(len(word) for word in text.split()) if text.strip() else 0
            widths[c] = max(widths[c], min(len(text), 24))
        rows = frame.itertuples(index=False)
        for r, row in enumerate(rows, start=1):
            level = levels[r - 1] if levels is not None else None
            group = level is not None and r < len(levels) and levels[r] > level
            if level:
                sheet.set_row(r, None, None, {"level": min(level, 7)})
            for c, i in enumerate(keep):
                kind, value = _cell(row[i], zone)
                props = {"bold": True} if group else {}
                if i == label and level:
                    props["indent"] = level
                if kind is None:
                    if props:
                        sheet.write_blank(r, c, None, fmt(**props))
                    continue
                if kind in ("moment", "date"):
                    if kind == "moment" and (value.hour, value.minute, value.second) == (0, 0, 0):
                        kind = "date"
                    sheet.write_datetime(r, c, value, fmt(num_format=shapes[kind], **props))
                    shown = len(shapes[kind])
                elif kind == "bool":
                    sheet.write_boolean(r, c, value, fmt(**props) if props else None)
                    shown = 5
                elif kind == "int" and not percent[i]:
                    sheet.write_number(r, c, value, fmt(**props) if props else None)
                    shown = len(str(value))
                elif kind in ("int", "number"):
                    if percent[i]:
                        sheet.write_number(r, c, round(value / 100, 12), fmt(num_format=PERCENT, **props))
                        shown = len(f"{value:.2f}") + 1
                    else:
                        sheet.write_number(r, c, value, fmt(num_format=MONEY, **props))
                        shown = len(format_value(decimal.Decimal(str(value)), "en"))
                else:
                    sheet.write_string(r, c, value, fmt(**props) if props else None)
                    shown = max((len(part) for part in value.splitlines()), default=0) + (2 * level if
                                                                                         i == label and level else 0)
                widths[c] = max(widths[c], shown)
        for c in widths:
            sheet.set_column(c, c, max(MIN_WIDTH, min(MAX_WIDTH, widths[c] + 2)))
        sheet.freeze_panes(1, 0)
        if len(frame) and keep:
            sheet.autofilter(0, 0, len(frame), len(keep) - 1)
        if levels is not None:
            sheet.outline_settings(True, False, True, False)   # a group's row is above its children
    book.close()
    return buf.getvalue()
