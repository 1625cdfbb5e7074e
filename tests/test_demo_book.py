"""`crmkit demo`: the presentation's demo base end to end, with every plugin,
and the figures of the presentation asserted exactly."""

import pytest

import crmkit


@pytest.fixture
def demo(db_url, tmp_path):
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    book = tmp_path / "book"
    result = CliRunner().invoke(build_cli(), ["--db", db_url, "demo", "--book", str(book)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    crm = crmkit.open(db_url)
    yield crm, book, result.output
    crm.close()


def sections(crm, report_id, **params):
    return {name: frame for name, frame in crm.report(report_id, **params).sections.items()}


YEAR_2015 = {"date_from": "2015-01-01", "date_to": "2015-12-31"}


def check_report_book_has_every_report_with_charts(demo):
    crm, book, output = demo
    index = (book / "index.html").read_text(encoding="utf-8")
    for report_id in crm.registry.reports:
        page = book / f"{report_id}.html"
        assert page.exists() and report_id in index
    assert "<polygon" in (book / "deals.funnel.html").read_text(encoding="utf-8")   # the funnel
    if "analysis.matrix" in crm.registry.reports:
        assert "<rect" in (book / "analysis.matrix.html").read_text(encoding="utf-8")  # heat map
    assert f"report book: {(book / 'index.html').resolve()}" in output
    assert "Deal efficiency" in output  # key tables printed in the terminal


def check_deal_efficiency_and_loss_reasons_2015(demo):
    crm = demo[0]
    by_status = crm.report("deals.efficiency", **YEAR_2015).frame
    rows = {r[0]: (int(r[1]), float(r[2])) for r in by_status.itertuples(index=False)}
    assert rows == {"In work": (3, 15000.00), "Won": (3, 2654.10), "Lost": (1, 707.76)}
    losses = crm.report("deals.loss_reasons", **YEAR_2015).frame
    first = losses.iloc[0].tolist()
    assert first[0] == "Проигрыш конкуренту" and int(first[1]) == 1 and float(first[2]) == 707.76


def check_deal_list(demo):
    crm = demo[0]
    deals = {d.name: (d.client.name, str(d.potential)) for d in crm.find("deals.deal")}
    assert deals["Продажа вентиляторов"] == ("Ассоль", "884.70")
    assert deals["Продажа пылесосов"] == ("Альтаир", "884.70")
    assert deals["Продажа телевизоров"] == ("Протон", "884.70")
    assert deals['Продажа товаров в магазины сети "Все для дома"'] == ("Все для дома Магазин", "10000.00")
    assert deals['Продажа товаров в магазины сети Торговый дом "Сигма"'] == ('Торговый дом "Сигма"', "5000.00")
    assert deals["Покупка кондиционеров"] == ("Видео маркет", "707.76")


def check_primary_interest_2015(demo):
    crm = demo[0]
    result = crm.report("marketing.primary_interest", **YEAR_2015)
    totals = [frame.iloc[-1] for name, frame in result.sections.items()
              if name in ("By source type", "By channel", "By source")]
    assert len(totals) == 3
    assert all((row.iloc[0], int(row["number of deals"]), int(row["number of distinct partners"]))
               == ("Total", 6, 5) for row in totals)


def check_claim_list_statuses(demo):
    crm = demo[0]
    claims = crm.find("claims.claim")
    assert len(claims) == 11
    statuses = sorted(c.status for c in claims)
    assert statuses.count("satisfied") == 7 and statuses.count("not_satisfied") == 3 \
        and statuses.count("registered") == 1


def check_task_list(demo):
    crm = demo[0]
    titles = [t.title for t in crm.find("core.task", order_by="number")]
    assert titles[:3] == ["Проверить демо-базу", "Узнать, что с клиентом Kikinda (Сербия)",
                          "Удалить запись Kikinda (Сербия)"]


def check_abc_xyz_distribution(demo):
    crm = demo[0]
    if "analysis.matrix" not in crm.registry.reports:
        return  # analysis plugin not installed
    counts = crm.report("analysis.matrix").sections
    frame = next(iter(counts.values()))
    cells = {(r[0], col): int(r[frame.columns.get_loc(col)]) for r in frame.itertuples(index=False)
             for col in ("A", "B", "C")}
    assert (cells[("X", "A")], cells[("X", "B")], cells[("X", "C")]) == (0, 1, 1)
    assert (cells[("Y", "A")], cells[("Y", "B")], cells[("Y", "C")]) == (0, 1, 0)
    assert (cells[("Z", "A")], cells[("Z", "B")], cells[("Z", "C")]) == (1, 0, 1)
    for report_id, diagonal in (("analysis.abc_changes", {"A": 1, "B": 2, "C": 2}),
                                ("analysis.xyz_changes", {"X": 2, "Y": 1, "Z": 2})):
        cells = crm.report(report_id)["cells"]
        assert {r.previous: int(r.count) for r in cells.itertuples()} == diagonal
        assert set(cells["change"]) == {"unchanged"} and (cells["previous"] == cells["current"]).all()


def check_russian_book_page(demo):
    crm = demo[0]
    text = crm.report("deals.efficiency", **YEAR_2015).render("table", lang="ru")
    assert "Эффективность сделок" in text and "15 000,00" in text and "2 654,10" in text
    assert "Выиграна" in text and "Проиграна" in text


def check_demo_refuses_a_database_with_data(demo, db_url):
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    out = CliRunner().invoke(build_cli(), ["--db", db_url, "demo", "--keep"])
    assert out.exit_code != 0 and "empty" in out.output


def check_demo_is_shown_in_moscow_time(demo, db_url):
    """The demo is a Moscow company: its users' zone is Europe/Moscow, so a
    task due 22.10.2015 23:59:59 (20:59:59 UTC) shows 23:59:59, and a claim
    registered 06.04.2015 0:00 is on 06.04, in tables, pages and workbooks."""
    import datetime as dt
    import io

    import openpyxl
    book = demo[1]      # the report book of `crmkit demo` is in the company's zone too
    assert "2015-10-22 23:59" in (book / "core.tasks.html").read_text(encoding="utf-8")
    orlov = crmkit.open(db_url, user="orlov")
    try:
        assert str(orlov.zone) == "Europe/Moscow"
        tasks = orlov.report("core.tasks")
        assert "22.10.2015 23:59:59" in tasks.render("table", lang="ru") and "20:59" not in tasks.render("table")
        assert "22.10.2015 23:59:59" in tasks.render("html", lang="ru")
        sheet = openpyxl.load_workbook(io.BytesIO(tasks.render("xlsx", lang="ru"))).active
        column = list(tasks.frame.columns).index("due")     # the workbook's columns are the report's
        due = [row[column] for row in sheet.iter_rows(min_row=2) if row[0].value == "00-00000001"][0]
        assert due.value == dt.datetime(2015, 10, 22, 23, 59, 59) and due.number_format == "dd.mm.yyyy hh:mm:ss"
    finally:
        orlov.close()
    volkov = crmkit.open(db_url, user="volkov")
    try:
        day = {"date_from": "2015-04-06", "date_to": "2015-04-06"}
        register = volkov.report("claims.register", **day)
        assert "00-00000001" in set(register.frame["code"])
        assert "06.04.2015" in register.render("table", lang="ru") and "05.04.2015" not in register.render(
            "table", lang="ru")
        volkov.zone = "UTC"       # the same claim, seen from UTC, is on 05.04
        assert "00-00000001" not in set(volkov.report("claims.register", **day).frame["code"])
    finally:
        volkov.close()


def check_efficiency_workbook(demo):
    """The efficiency tree as outline levels (no "Level" column), money and
    percentages formatted, widths from the content, header frozen and filtered."""
    import io

    import openpyxl
    crm = demo[0]
    book = openpyxl.load_workbook(io.BytesIO(crm.report("deals.efficiency", **YEAR_2015).render("xlsx")))
    sheet = book["Deals in work and won"]
    head = [c.value for c in sheet[1]]
    assert "Level" not in head and head[0] == "Deal kind / deal / client"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(head)).column_letter}" \
        f"{sheet.max_row}"
    rows = list(sheet.iter_rows(min_row=2))
    levels = [sheet.row_dimensions[r[0].row].outline_level for r in rows]
    assert levels[:5] == [0, 1, 2, 1, 2] and max(levels) == 2
    assert rows[0][0].font.b and rows[1][0].alignment.indent == 1 and rows[2][0].alignment.indent == 2
    share, potential = head.index("In work: share of deals, %"), head.index("In work: potential")
    assert rows[0][share].value == 0.6667 and rows[0][share].number_format == "0.00%"
    assert rows[0][potential].value == 15000 and rows[0][potential].number_format == "#,##0.00"
    label = sheet.column_dimensions["A"].width
    assert label >= max(len(str(r[0].value or "")) for r in rows)       # the widest label fits
    assert book.worksheets[0].column_dimensions["A"].width < label       # each column its own width
    if "analysis.abc_xyz_clients" in crm.registry.reports:   # shares and the XYZ variation are percent figures
        sheet = openpyxl.load_workbook(io.BytesIO(crm.report("analysis.abc_xyz_clients").render("xlsx"))).active
        head = [c.value for c in sheet[1]]
        first = [c for c in sheet[2]]
        assert (first[head.index("share")].value, first[head.index("share")].number_format) == (0.813, "0.00%")
        assert first[head.index("cv")].number_format == "0.00%" and first[head.index("value")].value == 1200000
        assert first[head.index("value")].number_format == "#,##0.00"


def check_deal_profit_has_the_deals_that_sold(demo):
    """The deal profit page is not empty: a sales line belongs to the won deal
    whose demand holds its product (Протон's televisions, Альтаир's vacuum
    cleaners), and the page shows those deals with their figures."""
    crm, book, _ = demo
    if "analysis.deal_profit" not in crm.registry.reports:
        return
    frame = crm.report("analysis.deal_profit").frame.set_index("deal_code")
    assert sorted(frame.index) == ["00-00000002", "00-00000003"]
    assert frame.loc["00-00000003", "client"] == "Протон" and frame.loc["00-00000003", "lines"] == 35
    assert frame.loc["00-00000003", "revenue"] == 175000.0 and frame.loc["00-00000003", "gross_profit"] == 43750.0
    page = (book / "analysis.deal_profit.html").read_text(encoding="utf-8")
    assert "Продажа телевизоров" in page and "Продажа пылесосов" in page


def test_demo_end_to_end(demo, db_url):
    """One demo load, every figure of the presentation (the load is the slow part)."""
    for check in (check_report_book_has_every_report_with_charts, check_deal_efficiency_and_loss_reasons_2015,
                  check_deal_list, check_primary_interest_2015, check_claim_list_statuses, check_task_list,
                  check_abc_xyz_distribution, check_russian_book_page, check_deal_profit_has_the_deals_that_sold):
        check(demo)
    check_efficiency_workbook(demo)
    check_demo_is_shown_in_moscow_time(demo, db_url)
    check_demo_refuses_a_database_with_data(demo, db_url)
