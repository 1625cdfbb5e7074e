"""Injection: SQL through filter, sort and report keys and values; formulas
through exports; the template payload set through every template path.

Keys are whitelisted (refused with a ValidationError naming them); values
are bound parameters (treated as data, LIKE wildcards included). Run on
both databases by the ``crm`` fixture.
"""
from __future__ import annotations

import csv
import io
import json

import pytest

from crmkit import AccessDenied, NotFound, ValidationError

from .conftest import ADVERSARY, INSTALLED, installed, needs

pytestmark = pytest.mark.plugins(*INSTALLED)

SQL_KEYS = ["1=1", "name or (select 1)", "name) or (1=1", "amount desc,(select 1)",
            "x'; DROP TABLE core_partner;--", "name;--", "name__raw", "name__contains) or (1=1",
            "id\" or \"1\"=\"1", "core_partner.name", "(select name from core_user)"]
SQL_VALUES = ["1=1", "' or '1'='1", "x'; DROP TABLE core_partner;--", "name or (select 1)",
              "%", "_", "\\", "'; SELECT pg_sleep(5);--", "\x00"[:0] + "Robert'); DROP TABLE core_user;--"]
REFUSED = (ValidationError, NotFound, AccessDenied)


def tables_intact(crm, partners):
    assert crm.count("core.partner", include_marked=True) == partners
    assert crm.count("core.user", include_marked=True) >= 0


@pytest.fixture
def seeded(crm):
    for name in ["Дальстрой", "50% off", "under_score", "back\\slash", "x'; DROP TABLE core_partner;--"]:
        crm.create("core.partner", {"name": name})
    return crm


def test_filter_and_sort_keys_refused(seeded):
    for key in SQL_KEYS:
        with pytest.raises(ValidationError) as exc:
            seeded.find("core.partner", **{key: "x"})
        assert key in exc.value.errors
        with pytest.raises(ValidationError) as exc:
            seeded.find("core.partner", order_by=key)
        assert "order_by" in exc.value.errors
        with pytest.raises(ValidationError):
            seeded.count("core.partner", **{key: 1})
        with pytest.raises(ValidationError):
            seeded.export("core.partner", "csv", **{key: "x"})
    tables_intact(seeded, 5)


@needs("deals")
def test_deal_sort_keys_refused(crm):
    for key in ["amount desc,(select 1)", "-amount,(select 1)", "amount; DELETE FROM deals_deal"]:
        with pytest.raises(ValidationError):
            crm.find("deals.deal", order_by=key)


def test_filter_values_are_data(seeded):
    names = [p.name for p in seeded.find("core.partner")]
    for value in SQL_VALUES:
        assert [p.name for p in seeded.find("core.partner", name=value)] == [n for n in names if n == value]
        got = sorted(p.name for p in seeded.find("core.partner", name__contains=value))
        assert got == sorted(n for n in names if value in n), f"contains {value!r} is not literal"
        got = sorted(p.name for p in seeded.find("core.partner", name__startswith=value))
        assert got == sorted(n for n in names if n.startswith(value)), f"startswith {value!r} is not literal"
        assert seeded.find("core.partner", name__in=[value, "Дальстрой"])
    tables_intact(seeded, 5)


def test_injected_text_round_trips(seeded):
    evil = "x'; DROP TABLE core_partner;--"
    p = seeded.find("core.partner", name=evil)[0]
    assert seeded.get("core.partner", p.code).name == evil
    seeded.update("core.partner", p.id, {"comment": "'); DELETE FROM core_partner; --"})
    assert seeded.get("core.partner", p.id).comment == "'); DELETE FROM core_partner; --"
    tables_intact(seeded, 5)


def test_cli_where_and_order_by_keys_refused(seeded, cli):
    for key in SQL_KEYS:
        out = cli("list", "core.partner", "--where", f"{key}=x")
        assert out.exit_code == 1 and "error" in out.output, out.output
        out = cli("list", "core.partner", "--order-by", key)
        assert out.exit_code == 1 and "order_by" in out.output, out.output
        out = cli("export", "core.partner", "--where", f"{key}=x")
        assert out.exit_code == 1, out.output
    tables_intact(seeded, 5)


def test_cli_where_values_are_data(seeded, cli):
    for value in SQL_VALUES:
        out = cli("list", "core.partner", "--where", f"name__contains={value}", "--format", "json")
        assert out.exit_code == 0, out.output
        names = [p["name"] for p in json.loads(out.output)]
        assert all(value in n for n in names)
    tables_intact(seeded, 5)


def _report_cases():
    from .world import REGISTRY
    cases = []
    for rid, spec in sorted(REGISTRY.reports.items()):
        for name, rules in spec.params.items():
            types = rules.get("type")
            types = types if isinstance(types, list) else [types]
            if "string" in types:
                cases.append((rid, name))
    return cases


def test_report_params_are_data_or_refused(seeded):
    for report_id, param in _report_cases():
        for value in SQL_VALUES[:5]:
            try:
                seeded.report(report_id, **{param: value}).render("csv")
            except REFUSED:
                pass
        with pytest.raises(ValidationError):
            seeded.report(report_id, **{f"{param} or 1=1": "x"})
    tables_intact(seeded, 5)


def test_cli_report_param_keys_refused(seeded, cli):
    out = cli("report", "run", "core.interactions", "-p", "1=1")
    assert out.exit_code == 1
    out = cli("report", "run", "core.interactions", "-p", "date_from=2015-01-01'; DROP TABLE core_partner;--")
    assert out.exit_code == 1 and "date_from" in out.output
    tables_intact(seeded, 5)


@pytest.mark.parametrize("rule, fragment", [
    ({"all": [{"field": "name or 1=1", "op": "eq", "value": "x"}]}, "unknown field"),
    ({"all": [{"field": "name", "op": "= 1 or 1 =", "value": "x"}]}, "unknown operator"),
    ({"all": [{"field": "(select 1)", "op": "eq", "value": 1}]}, "unknown field"),
    ({"all": [{"field": "name", "op": "eq", "value": "x", "sql": "1=1"}]}, "a condition has"),
])
def test_segment_rule_keys_refused(seeded, rule, fragment):
    with pytest.raises(ValidationError) as exc:
        seeded.create("core.segment", {"name": "evil", "method": "rule", "rule": json.dumps(rule)})
    assert fragment in " ".join(exc.value.errors["rule"])
    assert seeded.count("core.segment") == 0


def test_segment_rule_values_are_data(seeded):
    from crmkit.core.segments import matching_ids
    rule = {"any": [{"field": "name", "op": "contains", "value": "%"},
                    {"field": "name", "op": "eq", "value": "' or '1'='1"}]}
    segment = seeded.create("core.segment", {"name": "pct", "method": "rule", "rule": json.dumps(rule)})
    ids = matching_ids(seeded, segment)
    assert {seeded.get("core.partner", i).name for i in ids} == {"50% off"}


# -- formulas in exports ----------------------------------------------------

FORMULAS = ["=1+1", "+7 Телеком", "-minus", "@SUM(A1)", "＝1+1", "＋7", "－1", "＠SUM(A1)",
            "=HYPERLINK(\"http://x\")", "=cmd|' /C calc'!A0"]
CONTROL_PREFIXED = ["\t=1+1", "\r=1+1"]


def _csv_cells(text):
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _runnable_cells(text):
    """Cells a spreadsheet would run as a formula, reading the CSV as it does."""
    return [c for c in _csv_cells(text) if c.startswith(PREFIXES)]


def test_export_neutralises_every_prefix(crm):
    for name in FORMULAS:
        crm.create("core.partner", {"name": name})
    for comment in ("\t=1+1",):   # CharFields are stripped; comments keep a leading tab
        crm.create("core.access_group", {"name": "tab", "comment": comment})
    text = crm.export("core.partner", "csv") + crm.export("core.access_group", "csv")
    cells = _csv_cells(text)
    for value in FORMULAS + ["\t=1+1"]:
        assert "'" + value in cells, f"{value!r} not neutralised"
    assert _runnable_cells(text) == []
    exported = json.loads(crm.export("core.partner", "json"))
    assert set(FORMULAS) <= {p["name"] for p in exported}   # JSON carries the data as it is


def test_carriage_returns_cannot_start_a_formula_row(crm):
    crm.create("core.access_group", {"name": "cr", "comment": "\r=1+1"})
    region = crm.create("core.region", {"name": "Север\r=HYPERLINK(\"http://x\")"})
    crm.create("core.partner", {"name": "Acme\r=1+1", "region": region.id})
    for text in (crm.export("core.partner", "csv"), crm.export("core.access_group", "csv"),
                 crm.report("core.partners_by_region").render("csv")):
        assert _runnable_cells(text) == [], text


@needs("analysis")
def test_negative_numbers_stay_numbers(crm):
    p = crm.create("core.partner", {"name": "Возврат"})
    crm.create("core.product", {"code": "P-1", "name": "Телевизор"})
    crm.import_frame("analysis.sale", __import__("pandas").DataFrame([
        {"document": "-RTU-1", "date": "2015-01-01", "partner": p.code, "product": "P-1", "quantity": "-3",
         "revenue": "-1500.50", "cost": "-1000", "currency": "RUB"}]))
    rows = list(csv.DictReader(io.StringIO(crm.export("analysis.sale", "csv"))))
    assert rows[0]["document"] == "'-RTU-1"
    assert float(rows[0]["quantity"]) == -3 and float(rows[0]["revenue"]) == -1500.5
    assert not rows[0]["revenue"].startswith("'")


def test_report_csv_and_xlsx_neutralise_and_keep_numbers(crm):
    import openpyxl
    for name in FORMULAS:
        crm.create("core.region", {"name": name})
    for i, region in enumerate(crm.find("core.region")):
        crm.create("core.partner", {"name": f"p{i}", "region": region.id})
    result = crm.report("core.partners_by_region")
    cells = _csv_cells(result.render("csv"))
    for value in FORMULAS:
        assert "'" + value in cells and value not in cells
    sheet = openpyxl.load_workbook(io.BytesIO(result.render("xlsx"))).active
    values = [c for row in sheet.iter_rows(min_row=2, values_only=True) for c in row]
    assert all(not (isinstance(v, str) and v.startswith(("=", "+", "-", "@", "＝", "＋", "－", "＠")))
               for v in values)
    assert any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


# -- templates ---------------------------------------------------------------

from tests.test_templates import PAYLOADS as KERNEL_PAYLOADS  # noqa: E402

PAYLOADS = KERNEL_PAYLOADS + [
    "{{ partner.delete_instance() }}",
    "{{ partner.save() }}",
    "{{ partner.get_by_id(1) }}",
    "{{ partner.select().count() }}",
    "{{ partner._meta.database }}",
    "{{ partner.__class__.__base__.__subclasses__() }}",
    "{% set x = partner.__dict__ %}{{ x }}",
    "{{ partner.manager.delete_instance() }}",
    "{{ ''.join(['a'] * 10**8) }}",
    "{{ range(10**7)|list|length }}",
    "{{ (partner|attr('_record')).delete_instance() }}",
    "{{ partner|attr('_crm') }}",
]


def _harmless(crm, render, partner_id):
    try:
        out = render()
    except ValidationError:
        out = ""
    assert crm.count("core.partner", include_marked=True) >= 1
    assert crm.get("core.partner", partner_id).name == "Дальстрой"
    assert "class" not in out and "globals" not in out.lower() and "Database" not in out
    assert "Crm object" not in out and len(out) < 300_000


def test_template_payloads_through_the_kernel(crm):
    p = crm.create("core.partner", {"name": "Дальстрой"})
    for payload in PAYLOADS:
        _harmless(crm, lambda: crm.render_template(payload, {"partner": p}), p.id)
        _harmless(crm, lambda: crm.render_template(payload, {"partner": p}, html=True), p.id)


@needs("marketing")
def test_template_payloads_through_marketing_templates(crm):
    from crmkit_marketing.render import context_for, render_message
    p = crm.create("core.partner", {"name": "Дальстрой"})
    for payload in PAYLOADS:
        try:
            template = crm.create("marketing.template", {"name": "t", "purpose": "mailing", "subject": "s",
                                                         "body_text": payload, "body_html": payload, "sms": True,
                                                         "sms_text": payload})
        except ValidationError as exc:   # refused when saved: as good as refused when rendered
            assert set(exc.errors) & {"body_text", "body_html", "sms_text"}, exc.errors
            continue
        _harmless(crm, lambda: json.dumps(render_message(crm, template, context_for(crm, partner=p))), p.id)


@needs("deals")
def test_template_payloads_through_deal_stage_tasks(crm):
    """Stage task titles are templates too: refused when saved, harmless when rendered."""
    from crmkit_deals.api import create as create_deal
    kinds = crm.find("deals.kind_stage", limit=1)
    if not kinds:
        pytest.skip("no deal stage to template")
    for payload in PAYLOADS:
        try:
            crm.update("deals.kind_stage", kinds[0].id, {"tasks": payload})
        except ValidationError as exc:
            assert "tasks" in exc.errors


def _secret_head(open_crm):
    admin = open_crm(extra=[ADVERSARY])
    secret = admin.create("core.access_group", {"name": "secret"})
    mine = admin.create("core.access_group", {"name": "mine"})
    spy = admin.create("core.user", {"login": "spy", "name": "Spy", "roles": "everything,manager,marketer"})
    admin.create("core.user_access", {"user": spy.id, "access_group": mine.id})
    head = admin.create("core.partner", {"name": "ZZSECRET holding", "access_group": secret.id})
    child = admin.create("core.partner", {"name": "Child", "head": head.id, "access_group": mine.id})
    return admin.as_user("spy"), child


def test_kernel_template_follows_references_through_access(open_crm):
    spy, child = _secret_head(open_crm)
    out = spy.render_template("{{ partner.head.name }}|{{ partner.head }}", {"partner": spy.get("core.partner", child.id)})
    assert "ZZSECRET" not in out


@needs("marketing")
def test_marketing_template_follows_references_through_access(open_crm):
    from crmkit_marketing.render import context_for, render_message
    spy, child = _secret_head(open_crm)
    template = spy.create("marketing.template", {"name": "t", "purpose": "mailing", "subject": "Hi",
                                                 "body_text": "{{ partner.head.name }}"})
    out = render_message(spy, template, context_for(spy, partner=spy.get("core.partner", child.id)))
    assert "ZZSECRET" not in json.dumps(out, ensure_ascii=False)
