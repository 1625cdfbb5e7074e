"""The report engine: every format, formula neutralisation, charts, params."""
import io
import json

import pytest

from crmkit import ValidationError, neutralise

pytestmark = pytest.mark.plugins()


@pytest.fixture
def seeded(crm):
    for name in ("=HYPERLINK(\"http://x\")", "+7 Телеком", "-minus", "@at", "\tTab", "＝fullwidth", "Протон"):
        crm.create("core.partner", {"name": name})
    region = crm.create("core.region", {"name": "=cmd|' /C calc'!A0"})
    crm.create("core.partner", {"name": "Сатурн", "region": region.id})
    return crm


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+7", "'+7"), ("-x", "'-x"), ("@SUM", "'@SUM"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("＝1", "'＝1"), ("＋1", "'＋1"), ("－1", "'－1"), ("＠x", "'＠x"), ("plain", "plain"), (5, 5), (-5.5, -5.5),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_csv_and_xlsx_neutralise_but_keep_numbers(seeded):
    result = seeded.report("core.partners_by_region")
    text = result.render("csv")
    assert "'=cmd|" in text and ",1,1" in text


def test_xlsx_cells(seeded):
    import openpyxl
    data = seeded.report("core.partners_by_region").render("xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("region", "clients", "partners")
    assert ("'=cmd|' /C calc'!A0", 1, 1) in rows
    assert all(isinstance(r[2], int) for r in rows[1:])


def test_json_table_html(seeded):
    result = seeded.report("core.partners_by_region")
    doc = json.loads(result.render("json"))
    assert doc["report"] == "core.partners_by_region"
    assert {"region": "", "clients": 7, "partners": 7} in doc["sections"]["main"]
    table = result.render("table")
    assert table.splitlines()[0] == "Partners by region"
    html = result.render("html")
    assert html.startswith("<!doctype html>") and "<svg" in html and "<script" not in html
    assert "=cmd|&#39; /C calc&#39;!A0" in html or "=cmd|' /C calc'!A0" not in html


def test_html_escapes_data(crm):
    crm.create("core.region", {"name": "<script>alert(1)</script>"})
    crm.create("core.partner", {"name": "x", "region": crm.find("core.region")[0].id})
    html = crm.report("core.partners_by_region").render("html")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_params_validated(crm):
    with pytest.raises(ValidationError) as exc:
        crm.report("core.interactions", date_from="yesterday")
    assert "date_from" in exc.value.errors
    with pytest.raises(ValidationError):
        crm.report("core.interactions", bogus=1)
    with pytest.raises(ValidationError):
        crm.report("core.interactions").render("pdf")


@pytest.mark.parametrize("schema_extra", [{}, {"extra": {"type": "string", "forbidden": ["x"]}}],
                         ids=["fast", "cerberus"])
def test_param_rules_both_paths(schema_extra):
    """Report parameters: a list of types, defaults for missing fields, and
    the same answers whether the kernel's fast check or cerberus runs."""
    from crmkit import ReportSpec
    from crmkit.kernel.validation import FastSchema, check_params
    spec = ReportSpec("t.params", "Params", lambda crm, **p: None, params={
        "key": {"type": ["string", "integer"], "nullable": True},
        "kind": {"type": "string", "allowed": ["partner", "product"], "default": "partner"},
        "day": {"type": "date", "coerce": "date", "nullable": True}, **schema_extra})
    assert FastSchema.fits(spec.params) is not bool(schema_extra)
    assert check_params(spec, {"key": 7}) == {"key": 7, "kind": "partner"}
    assert check_params(spec, {"key": "A-1", "kind": "product", "day": "2015-03-03"})["day"].isoformat() == "2015-03-03"
    for bad, field in (({"key": 1.5}, "key"), ({"kind": "deal"}, "kind"), ({"day": "someday"}, "day"),
                       ({"bogus": 1}, "bogus")):
        with pytest.raises(ValidationError) as exc:
            check_params(spec, bad)
        assert list(exc.value.errors) == [field]


def test_russian_formats(crm):
    from crmkit import format_value
    import datetime as dt
    import decimal
    assert format_value(decimal.Decimal("1769.40"), "ru") == "1 769,40"
    assert format_value(15000.0, "ru") == "15 000,00"
    assert format_value(dt.date(2015, 3, 3), "ru") == "03.03.2015"
    assert format_value(dt.date(2015, 3, 3), "en") == "2015-03-03"


def test_report_cli(seeded, cli, tmp_path):
    out = cli("report", "list")
    assert "core.partners_by_region" in out.output
    out = cli("report", "run", "core.partners_by_region", "--format", "csv")
    assert out.exit_code == 0 and "'=cmd|" in out.output
    target = tmp_path / "r.xlsx"
    out = cli("report", "run", "core.partners_by_region", "--format", "xlsx", "-o", target)
    assert out.exit_code == 0 and target.read_bytes()[:2] == b"PK"
    out = cli("report", "run", "core.interactions", "-p", "date_from=nonsense")
    assert out.exit_code == 1 and "date_from" in out.output
