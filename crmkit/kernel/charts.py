"""Inline SVG charts for report pages: bars, a funnel, a heat map.

No JavaScript, no external files and no style attributes (the web's CSP
forbids inline styles): colours are presentation attributes, so the page
stays self-contained. Numbers are written as the page's language writes
them (``2 477,16`` in Russian), counts without decimals; the digits on a
coloured cell take the colour (black or white) that contrasts more with it.
"""
from __future__ import annotations

from html import escape

PALETTE = ["#3b6ea8", "#e07b39", "#5aa05a", "#c44e52", "#8172b2", "#937860"]
DARK, LIGHT = "#111111", "#ffffff"


def _num(value):
    try:
        f = float(value)
        return 0.0 if f != f else f
    except (TypeError, ValueError):
        return 0.0


def _counts(series) -> bool:
    """Whole numbers (counts): integer columns, or numbers none of which has a fraction."""
    if series.dtype.kind in "iu":
        return True
    if series.dtype.kind == "f":
        return False
    values = [v for v in series.dropna() if not isinstance(v, bool)]
    return bool(values) and all(isinstance(v, int) or (hasattr(v, "dtype") and v.dtype.kind in "iu")
                                for v in values)


def number_text(value, lang, whole=False) -> str:
    """A chart number in ``lang``: ``1 769,40`` (ru), ``1,769.40`` (en); ``whole`` without decimals."""
    from .i18n import format_value
    value = _num(value)
    if whole:
        return format_value(int(round(value)), lang)
    return format_value(value, lang)


def _luminance(rgb) -> float:
    """WCAG relative luminance of an ``(r, g, b)`` colour of 0..255."""
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(rgb1, rgb2) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    a, b = sorted((_luminance(rgb1), _luminance(rgb2)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def hex_rgb(colour: str):
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def ink_for(rgb) -> str:
    """The text colour, black or white, that contrasts more with ``rgb``."""
    return DARK if contrast(rgb, hex_rgb(DARK)) >= contrast(rgb, hex_rgb(LIGHT)) else LIGHT


def svg_chart(chart, frame, lang="en", label=None) -> str:
    """A chart of ``frame``; ``label(name)`` gives a column's label (legend)."""
    from .i18n import translate
    title = translate(chart.title, lang) if chart.title else ""
    if frame is None or len(frame) == 0:
        return ""
    wanted = [chart.x, *([chart.y] if isinstance(chart.y, str) else list(chart.y)), chart.value]
    if any(name and name not in frame.columns for name in wanted):
        return ""    # parameters gave the section another shape (deals.managers grouped by holding)
    draw = {"bar": _bars, "funnel": _funnel, "heatmap": _heatmap}.get(chart.kind)
    if draw is None:
        raise ValueError(f"unknown chart kind {chart.kind!r}")
    body = draw(chart, frame, lang, label or (lambda name: translate(str(name), lang)))
    caption = f'<figcaption>{escape(title)}</figcaption>' if title else ""
    return f'<figure class="chart">{caption}{body}</figure>'


def _cell_text(value):
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or \
        (hasattr(value, "is_nan") and value.is_nan())


def _bars(chart, frame, lang, label):
    ys = [chart.y] if isinstance(chart.y, str) else list(chart.y)
    known = [not all(_missing(v) for v in row) for row in frame[ys].itertuples(index=False)]
    frame = frame[known]             # a row with no figure at all (a potential client) gets no bar
    labels = [_cell_text(v) for v in frame[chart.x]]
    values = [[_num(v) for v in frame[y]] for y in ys]
    whole = [_counts(frame[y]) for y in ys]
    top = max([max(v) for v in values if v] + [0]) or 1
    row_h, bar_h, label_w, width = 12 * len(ys) + 10, 11, 220, 720
    height = row_h * len(labels) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for i, name in enumerate(labels):
        y0 = i * row_h + 5
        parts.append(f'<text x="{label_w - 6}" y="{y0 + bar_h}" text-anchor="end" font-size="11">'
                     f'{escape(name[:40])}</text>')
        for j, series in enumerate(values):
            text = number_text(series[i], lang, whole[j])
            w = max(0.0, series[i]) / top * (width - label_w - 90)
            parts.append(f'<rect x="{label_w}" y="{y0 + j * 12}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[j % 6]}">'
                         f'<title>{escape(name)}: {escape(text)}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y0 + j * 12 + 9}" font-size="10">{escape(text)}</text>')
    legend_y = height - 8
    for j, y in enumerate(ys):
        parts.append(f'<rect x="{label_w + j * 160}" y="{legend_y - 9}" width="10" height="10" fill="{PALETTE[j % 6]}"/>'
                     f'<text x="{label_w + j * 160 + 14}" y="{legend_y}" font-size="11">{escape(label(y))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _funnel(chart, frame, lang, label):
    y = chart.y if isinstance(chart.y, str) else chart.y[0]
    labels = [_cell_text(v) for v in frame[chart.x]]
    values = [_num(v) for v in frame[y]]
    whole = _counts(frame[y])
    top = max(values + [0]) or 1
    width, step = 720, 34
    height = step * len(labels) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    cx = width / 2
    for i, (name, value) in enumerate(zip(labels, values)):
        nxt = values[i + 1] if i + 1 < len(values) else value * 0.8
        w1 = 120 + value / top * (width - 160)
        w2 = 120 + nxt / top * (width - 160)
        y0 = i * step + 5
        fill = PALETTE[i % 6]
        text = f"{name[:50]}: {number_text(value, lang, whole)}"
        pts = f"{cx - w1 / 2:.1f},{y0} {cx + w1 / 2:.1f},{y0} {cx + w2 / 2:.1f},{y0 + step - 4} {cx - w2 / 2:.1f},{y0 + step - 4}"
        parts.append(f'<polygon points="{pts}" fill="{fill}"><title>{escape(text)}</title></polygon>')
        parts.append(f'<text x="{cx}" y="{y0 + step / 2 + 2}" text-anchor="middle" font-size="12" '
                     f'fill="{ink_for(hex_rgb(fill))}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def heat_colour(share: float):
    """The fill of a heat-map cell holding ``share`` (0..1) of the largest value: pale to deep blue."""
    shade = int(235 - 175 * share)
    return shade, min(shade + 10, 245), 255


def _heatmap(chart, frame, lang, label):
    xs = list(dict.fromkeys(_cell_text(v) for v in frame[chart.x]))
    ys = list(dict.fromkeys(_cell_text(v) for v in frame[chart.y]))
    cells = {(_cell_text(r[chart.x]), _cell_text(r[chart.y])): _num(r[chart.value]) for _, r in frame.iterrows()}
    whole = _counts(frame[chart.value])
    top = max(cells.values(), default=0) or 1
    cw, ch, left, head = 90, 40, 100, 30
    width, height = left + cw * len(xs) + 10, head + ch * len(ys) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for i, x in enumerate(xs):
        parts.append(f'<text x="{left + i * cw + cw / 2}" y="{head - 8}" text-anchor="middle" font-size="12">{escape(x)}</text>')
    for j, y in enumerate(ys):
        parts.append(f'<text x="{left - 8}" y="{head + j * ch + ch / 2 + 4}" text-anchor="end" font-size="12">{escape(y)}</text>')
        for i, x in enumerate(xs):
            v = cells.get((x, y), 0.0)
            rgb = heat_colour(max(0.0, v) / top)
            text = number_text(v, lang, whole)
            parts.append(f'<rect x="{left + i * cw}" y="{head + j * ch}" width="{cw - 2}" height="{ch - 2}" '
                         f'fill="rgb({rgb[0]},{rgb[1]},{rgb[2]})"><title>{escape(x)}/{escape(y)}: {escape(text)}</title></rect>')
            parts.append(f'<text x="{left + i * cw + cw / 2}" y="{head + j * ch + ch / 2 + 4}" text-anchor="middle" '
                         f'font-size="12" font-weight="600" fill="{ink_for(rgb)}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
