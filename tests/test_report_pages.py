"""The report book and every HTML report page, swept over the demo base in
English and Russian: labels (never a raw field name) as headers, no
``nan``, numbers right-aligned, chart numbers in the page's language,
readable heat-map digits, the period and filters on top, an index grouped
by plugin with each report's question, tree reports indented with group
headers, and an A4 landscape print that keeps every column (rendered to
PDF by headless Chromium and measured)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

import crmkit
from crmkit.kernel.charts import contrast, hex_rgb

YEAR_2015 = {"date_from": "2015-01-01", "date_to": "2015-12-31"}
# a header that is a field name: snake_case, or (English) a lower-case identifier such as "avg_days", "cv"
RAW_NAME = re.compile(r"_|^[a-z][a-z0-9]*( [a-z0-9_]+)*$")
LATIN_WORD = re.compile(r"\b[a-z]{3,}\b")          # an English word left on a Russian page
MISSING = re.compile(r"\b(nan|NaN|None|NaT|inf)\b")
NUMBER = re.compile(r"^-?\d{1,3}([\u00a0 ,]\d{3})*([.,]\d+)?$")


class Page(HTMLParser):
    """The parts of a report page the checks read: header texts, cells
    (text, classes, row classes) and the visible text."""

    def __init__(self, html):
        super().__init__()
        self.headers, self.cells, self.text, self._stack = [], [], [], []
        self._cell = None
        self._row, self._table, self._col = "", 0, 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._stack.append(tag)
        if tag == "table":
            self._table += 1
        if tag == "tr":
            self._row, self._col = attrs.get("class") or "", 0
        if tag in ("th", "td"):
            self._cell = {"tag": tag, "class": attrs.get("class") or "", "row": self._row, "text": "",
                          "colspan": int(attrs.get("colspan") or 1), "column": (self._table, self._col)}
            self._col += 1

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()
        if tag in ("th", "td") and self._cell is not None:
            self._cell["text"] = self._cell["text"].strip()
            (self.headers if tag == "th" else self.cells).append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._stack and self._stack[-1] in ("style", "title"):
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"] += data


@pytest.fixture
def demo(db_url, tmp_path):
    """The presentation's demo base with every plugin; sessions in both languages."""
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    result = CliRunner().invoke(build_cli(), ["--db", db_url, "demo", "--book", str(tmp_path / "book")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    en, ru = crmkit.open(db_url, lang="en"), crmkit.open(db_url, lang="ru")
    yield en, ru, tmp_path
    en.close()
    ru.close()


def pages(crm):
    """Every registered report's page (over 2015 where it has a period) in the session's language."""
    for spec in sorted(crm.registry.reports.values(), key=lambda s: s.id):
        params = {k: v for k, v in YEAR_2015.items() if k in spec.params}
        for given in ({}, params) if params else ({},):
            yield spec, given, crm.report(spec.id, **given).render("html")


def test_every_report_page_reads_as_a_report_form(demo):
    en, ru, _ = demo
    swept = 0
    for crm, lang in ((en, "en"), (ru, "ru")):
        for spec, params, html in pages(crm):
            page, where = Page(html), f"{spec.id} {params} [{lang}]"
            text = " ".join(page.text)
            assert not MISSING.search(text), (where, MISSING.search(text).group())
            for h in page.headers:
                assert h["text"], where
                assert not RAW_NAME.search(h["text"]), (where, h["text"])
                if lang == "ru":
                    assert not LATIN_WORD.search(h["text"]), (where, h["text"])
            columns: dict = {}          # a column of numbers (money, counts, shares) stands on the right
            for cell in page.cells:
                if cell["text"]:
                    columns.setdefault(cell["column"], []).append(cell)
            for cells in columns.values():
                if all(NUMBER.match(c["text"]) for c in cells):
                    assert all("num" in c["class"].split() for c in cells), (where, cells[0]["text"])
            swept += 1
    assert swept >= 2 * len(en.registry.reports)


def test_every_column_has_a_label_through_the_spec(demo):
    """Every column name a build uses is declared in its spec's labels, unless
    it already reads as a label (a capitalised name, a class such as "A")."""
    en = demo[0]
    from crmkit.kernel.report_pages import KERNEL_LABELS
    for spec in en.registry.reports.values():
        params = {k: v for k, v in YEAR_2015.items() if k in spec.params}
        for name, frame in en.report(spec.id, **params).sections.items():
            for column in [name, *map(str, frame.columns)]:
                if column in spec.labels or column in KERNEL_LABELS:
                    continue
                assert not RAW_NAME.search(column), (spec.id, column)
        for param, rules in spec.schema.items():      # shown on top as "label: value"
            meta = rules.get("meta") if isinstance(rules, dict) else None
            assert param in spec.labels or param in KERNEL_LABELS or param in ("date_from", "date_to") \
                or (isinstance(meta, dict) and meta.get("label")), (spec.id, param)


def test_period_and_filters_on_top(demo):
    en, ru, _ = demo
    html = ru.report("deals.efficiency", **YEAR_2015, kind="Долгосрочные проекты").render("html")
    top = html[:html.index("<table")]
    assert "Период:" in top and "01.01.2015 – 31.12.2015" in top
    assert "Вид сделки:" in top and "Долгосрочные проекты" in top
    assert "Отбор:" in top and "Непомеченные на удаление" in top
    assert "Какое количество сделок выиграно?" in top
    english = en.report("deals.funnel").render("html")
    assert "Period:" in english and "not limited" in english[:english.index("<table")]


def test_index_groups_reports_by_plugin_with_their_questions(demo):
    en, ru, tmp_path = demo
    from crmkit.kernel.demo import write_book
    index = write_book(ru, tmp_path / "ru").read_text(encoding="utf-8")
    groups = re.findall(r"<h2>(.*?)</h2>", index)
    assert groups[0] == "Партнеры и контакты" and "Продажи" in groups and "Анализ" in groups
    sales = index[index.index("<h2>Продажи</h2>"):]
    sales = sales[:sales.index("</section>")]
    assert re.search(r'href="deals.funnel.html">Воронка продаж</a> — <span class="question">'
                     r'Какова эффективность каждой стадии воронки продаж\?</span>', sales)
    for report_id in ru.registry.reports:
        assert f'href="{report_id}.html"' in index
        assert (tmp_path / "ru" / f"{report_id}.html").exists()
    for spec in en.registry.reports.values():
        assert spec.question, f"{spec.id} says which question it answers"


def test_tree_report_indented_with_group_headers(demo):
    ru = demo[1]
    html = ru.report("deals.efficiency", **YEAR_2015).render("html")
    section = html[html.index("Сделки в работе и выигранные"):html.index("Проигранные сделки")]
    page = Page(section)
    headers = [(h["text"], h["colspan"]) for h in page.headers]
    assert ("В работе", 4) in headers and ("Выиграна", 4) in headers
    assert "Уровень" not in html and "Level" not in html
    rows = [c for c in page.cells if c["row"]]
    first = {c["row"]: c["text"] for c in reversed(rows)}     # the first cell of each kind of row
    assert first["level-0 group"] == "Долгосрочные проекты"
    assert any(r.startswith("level-2") and "group" not in r for r in first)   # clients: leaves
    funnel = Page(ru.report("deals.funnel", **YEAR_2015).render("html"))
    assert {("В работе", 2), ("Выиграно", 2), ("Проиграно", 2)} <= {(h["text"], h["colspan"]) for h in funnel.headers}


def test_charts_speak_the_page_language(demo):
    en, ru, _ = demo
    charts = lambda html: " ".join(re.findall(r"<svg.*?</svg>", html, re.S))      # noqa: E731
    funnel = charts(ru.report("deals.funnel", **YEAR_2015).render("html"))
    assert "Первичный контакт: 2 477,16" in funnel and "Первичный контакт: 4<" in funnel   # a count: no decimals
    assert "2,477.16" not in funnel and "4,00" not in funnel
    english = charts(en.report("deals.funnel", **YEAR_2015).render("html"))
    assert ": 2,477.16<" in english and ": 4<" in english and ": 4.00<" not in english
    clients = ru.report("analysis.abc_xyz_clients").render("html")
    chart = clients[clients.index("<svg"):clients.index("</svg>")]
    assert "Электромаркет" in chart and "00-00000001" not in chart     # bars named, not coded
    assert "Видео маркет" not in chart         # a potential client has no figure, so no bar (not a "0,00")
    assert '<td class="code">00-00000001</td>' in clients                 # a number never wraps at its hyphen


def test_heat_map_digits_contrast_with_their_cell(demo):
    ru = demo[1]
    html = ru.report("analysis.matrix").render("html")
    cells = re.findall(r'<rect [^>]*fill="rgb\((\d+),(\d+),(\d+)\)">.*?</rect><text [^>]*fill="(#[0-9a-f]{6})">', html)
    assert len(cells) >= 9
    ratios = [contrast(tuple(map(int, c[:3])), hex_rgb(c[3])) for c in cells]
    assert min(ratios) >= 4.5, ratios                        # WCAG AA for normal text
    assert "lost" not in html[html.index("<svg"):]           # axis labels translated like the table


def test_print_is_a4_landscape_and_keeps_every_column(demo, page):
    """The efficiency table on paper: every column, its last one included,
    within the A4 landscape page (it lost its last column before)."""
    from crmkit.testing import screenshot
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    ru, tmp_path = demo[1], demo[2]
    file = tmp_path / "efficiency.html"
    file.write_text(ru.report("deals.efficiency", **YEAR_2015).render("html"), encoding="utf-8")
    page.goto(file.as_uri())
    screenshot(page, "report-efficiency-screen")
    page.emulate_media(media="print")
    pdf = tmp_path / "efficiency.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)      # the stylesheet's @page decides the paper
    page.set_viewport_size({"width": 1032, "height": 780})  # A4 landscape less 12 mm margins, in CSS px
    screenshot(page, "report-efficiency-print")
    margin = 12 / 25.4 * 72
    texts = []
    for sheet in extract_pages(str(pdf)):
        assert round(sheet.width) == 842 and round(sheet.height) == 595      # A4 landscape, in points
        for box in sheet:
            if isinstance(box, LTTextContainer):
                assert box.x1 <= sheet.width - margin + 1, box.get_text()
                texts.append(" ".join(box.get_text().split()))
    flat = "".join(" ".join(texts).split()).replace("\u00ad", "").replace("-", "")
    squeeze = lambda text: "".join(text.split())                             # noqa: E731
    for header in ("Вид сделки / Сделка / Клиент", "Выиграна", "Проигранные сделки"):
        assert squeeze(header) in flat, header
    # the last column of both tables (in work and won; lost): its header three times over
    assert flat.count(squeeze("Доля в потенциальной сумме продажи, %")) >= 3
