"""Inline SVG charts for report pages: bars, a funnel, a heat map.

No JavaScript and no external files: the page stays self-contained.
"""
from __future__ import annotations

from html import escape

PALETTE = ["#3b6ea8", "#e07b39", "#5aa05a", "#c44e52", "#8172b2", "#937860"]


def _num(value):
    try:
        f = float(value)
        return 0.0 if f != f else f
    except (TypeError, ValueError):
        return 0.0


def svg_chart(chart, frame, lang="en") -> str:
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
    body = draw(chart, frame, lang)
    caption = f'<figcaption>{escape(title)}</figcaption>' if title else ""
    return f'<figure class="chart">{caption}{body}</figure>'


def _bars(chart, frame, lang):
    from .i18n import translate
    ys = [chart.y] if isinstance(chart.y, str) else list(chart.y)
    labels = [str(v) for v in frame[chart.x]]
    values = [[_num(v) for v in frame[y]] for y in ys]
    top = max([max(v) for v in values if v] + [0]) or 1
    row_h, bar_h, label_w, width = 12 * len(ys) + 10, 11, 220, 720
    height = row_h * len(labels) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, label in enumerate(labels):
        y0 = i * row_h + 5
        parts.append(f'<text x="{label_w - 6}" y="{y0 + bar_h}" text-anchor="end" font-size="11">{escape(label[:40])}</text>')
        for j, series in enumerate(values):
            w = max(0.0, series[i]) / top * (width - label_w - 90)
            parts.append(f'<rect x="{label_w}" y="{y0 + j * 12}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[j % 6]}">'
                         f'<title>{escape(label)}: {series[i]:,.2f}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y0 + j * 12 + 9}" font-size="10">{series[i]:,.2f}</text>')
    legend_y = height - 8
    for j, y in enumerate(ys):
        parts.append(f'<rect x="{label_w + j * 160}" y="{legend_y - 9}" width="10" height="10" fill="{PALETTE[j % 6]}"/>'
                     f'<text x="{label_w + j * 160 + 14}" y="{legend_y}" font-size="11">{escape(translate(y, lang))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _funnel(chart, frame, lang):
    labels = [str(v) for v in frame[chart.x]]
    values = [_num(v) for v in frame[chart.y if isinstance(chart.y, str) else chart.y[0]]]
    top = max(values + [0]) or 1
    width, step = 720, 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{step * len(labels) + 10}" role="img">']
    cx = width / 2
    for i, (label, value) in enumerate(zip(labels, values)):
        nxt = values[i + 1] if i + 1 < len(values) else value * 0.8
        w1 = 120 + value / top * (width - 160)
        w2 = 120 + nxt / top * (width - 160)
        y = i * step + 5
        pts = f"{cx - w1 / 2:.1f},{y} {cx + w1 / 2:.1f},{y} {cx + w2 / 2:.1f},{y + step - 4} {cx - w2 / 2:.1f},{y + step - 4}"
        parts.append(f'<polygon points="{pts}" fill="{PALETTE[i % 6]}" opacity="0.85"><title>{escape(label)}: {value:,.2f}</title></polygon>')
        parts.append(f'<text x="{cx}" y="{y + step / 2 + 2}" text-anchor="middle" font-size="12" fill="#fff">'
                     f'{escape(label[:50])}: {value:,.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _heatmap(chart, frame, lang):
    xs = list(dict.fromkeys(str(v) for v in frame[chart.x]))
    ys = list(dict.fromkeys(str(v) for v in frame[chart.y]))
    cells = {(str(r[chart.x]), str(r[chart.y])): _num(r[chart.value]) for _, r in frame.iterrows()}
    top = max(cells.values(), default=0) or 1
    cw, ch, left, head = 90, 40, 100, 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + cw * len(xs) + 10}" '
             f'height="{head + ch * len(ys) + 10}" role="img">']
    for i, x in enumerate(xs):
        parts.append(f'<text x="{left + i * cw + cw / 2}" y="{head - 8}" text-anchor="middle" font-size="12">{escape(x)}</text>')
    for j, y in enumerate(ys):
        parts.append(f'<text x="{left - 8}" y="{head + j * ch + ch / 2 + 4}" text-anchor="end" font-size="12">{escape(y)}</text>')
        for i, x in enumerate(xs):
            v = cells.get((x, y), 0.0)
            shade = int(235 - 175 * (v / top))
            parts.append(f'<rect x="{left + i * cw}" y="{head + j * ch}" width="{cw - 2}" height="{ch - 2}" '
                         f'fill="rgb({shade},{shade + 10 if shade < 245 else 245},255)"><title>{escape(x)}/{escape(y)}: {v:,.2f}</title></rect>')
            parts.append(f'<text x="{left + i * cw + cw / 2}" y="{head + j * ch + ch / 2 + 4}" text-anchor="middle" font-size="11">{v:,.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)
