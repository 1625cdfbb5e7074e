"""Deal reports by department, team and holding, by close date, with the
won-only figures and total rows; every figure hand-computed from the small
world of test_reports_small, and none from rows the user may not see."""
from decimal import Decimal as D

import pytest

from crmkit import ValidationError

from test_reports_small import YEAR, rows, small  # noqa: F401  (the fixture)

pytestmark = pytest.mark.plugins("deals")


@pytest.fixture
def org(crm, small):  # noqa: F811
    """Departments Продажи > Север > Север-1 (Анна in Север-1, Борис in
    Продажи, a third manager in none); holdings Тайный (retail: Борис cannot
    see it) > Холдинг > Акме > Лавка."""
    w = dict(small)
    sales = crm.create("core.department", {"name": "Продажи"}).id
    north = crm.create("core.department", {"name": "Север", "parent": sales}).id
    north1 = crm.create("core.department", {"name": "Север-1", "parent": north}).id
    crm.update("core.user", w["ann"], {"department": north1})
    crm.update("core.user", w["bob"], {"department": sales})
    w["carl"] = crm.create("core.user", {"login": "carl", "name": "Карл", "roles": "manager"}).id
    w["secret"] = crm.create("core.partner", {"name": "Тайный", "access_group": w["retail"]}).id
    w["holding"] = crm.create("core.partner", {"name": "Холдинг", "access_group": w["wholesale"],
                                               "head": w["secret"]}).id
    crm.update("core.partner", w["acme"], {"head": w["holding"]})
    crm.update("core.partner", w["shop"], {"head": w["acme"]})
    w.update(sales=sales, north=north, north1=north1)
    return w


def test_department_filter_takes_the_tree_under_it(crm, org):
    # Анна's deals of 2015: d1 won 100, d3 in work 30; Борис's: d2 lost 50, d4 won 200
    assert rows(crm.report("deals.efficiency", department="Север", **YEAR)["By status"]) == [
        ("In work", 1, D("30.00")), ("Won", 1, D("100.00")), ("Lost", 0, D("0.00"))]
    assert rows(crm.report("deals.efficiency", department="Продажи", **YEAR)["By status"]) == [
        ("In work", 1, D("30.00")), ("Won", 2, D("300.00")), ("Lost", 1, D("50.00"))]
    assert rows(crm.report("deals.loss_reasons", department="Север-1", **YEAR).frame) == [("Total", 0, D("0.00"))]


def test_team_is_the_managers_department_tree(crm, org):
    assert rows(crm.report("deals.managers", team="ann", **YEAR).frame)[0][:4] == ("Анна", 1, 1, 0)
    assert [r[0] for r in rows(crm.report("deals.managers", team="bob", **YEAR).frame)] == ["Анна", "Борис", "Total"]
    with pytest.raises(ValidationError) as exc:
        crm.report("deals.managers", team="carl")
    assert "team" in exc.value.errors and "no department" in str(exc.value.errors["team"])


def test_managers_grouped_by_department_and_top_department(crm, org):
    frame = crm.report("deals.managers", group_by="department", **YEAR).frame
    assert [r[:5] for r in rows(frame)] == [("Продажи", 0, 1, 1, D("50.00")), ("Север-1", 1, 1, 0, D("100.00")),
                                            ("Total", 1, 2, 1, D("66.67"))]
    frame = crm.report("deals.managers", group_by="top_department,responsible", **YEAR).frame
    assert list(frame.columns[:2]) == ["Top department", "Responsible"]
    assert [r[:4] for r in rows(frame)] == [("Продажи", "Анна", 1, 1), ("Продажи", "Борис", 0, 1),
                                            ("Total", "", 1, 2)]


def test_a_deal_of_a_manager_without_department(crm, org):
    from deals_testing import new_deal
    new_deal(crm, org, "flat", "7.00", responsible="carl", name="carl's", when=(6, 1))
    frame = crm.report("deals.managers", group_by="department", **YEAR).frame
    assert rows(frame)[0][:3] == ("(no department)", 1, 0)


def test_holding_rolls_up_through_visible_heads_only(crm, org):
    # the administrator sees Тайный at the top of everything
    frame = crm.report("deals.managers", group_by="holding", **YEAR).frame
    assert [r[:4] for r in rows(frame)] == [("Тайный", 1, 2, 1), ("Total", 1, 2, 1)]
    # Борис sees only the wholesale partners: Холдинг is his top, Тайный is never named, Лавка's deals never counted
    bob = crm.as_user("bob")
    frame = bob.report("deals.managers", group_by="holding", **YEAR).frame
    assert rows(frame) == [
        ("Холдинг", 0, 1, 1, D("50.00"), D("0.00"), D("100.00"), D("50.00"), D("4.38"), D("5.88"), D("100.00")),
        ("Total", 0, 1, 1, D("50.00"), D("0.00"), D("100.00"), D("50.00"), D("4.38"), D("5.88"), D("100.00"))]
    for report in ("deals.managers", "deals.loss_reasons", "deals.forecast"):
        result = bob.report(report, group_by="holding")
        for fmt in ("csv", "html"):
            assert "Тайный" not in result.render(fmt) and "Лавка" not in result.render(fmt)


def test_holding_filter_is_a_partner_and_everything_under_it(crm, org):
    assert rows(crm.report("deals.efficiency", holding="Акме", **YEAR)["By status"]) == [
        ("In work", 1, D("30.00")), ("Won", 2, D("300.00")), ("Lost", 1, D("50.00"))]
    assert rows(crm.report("deals.efficiency", holding="Лавка", **YEAR)["By status"]) == [
        ("In work", 1, D("30.00")), ("Won", 1, D("200.00")), ("Lost", 0, D("0.00"))]
    bob = crm.as_user("bob")
    assert rows(bob.report("deals.efficiency", holding="Холдинг", **YEAR)["By status"]) == [
        ("In work", 0, D("0.00")), ("Won", 1, D("100.00")), ("Lost", 1, D("50.00"))]
    with pytest.raises(ValidationError) as exc:
        bob.report("deals.efficiency", holding="Тайный")
    assert "holding" in exc.value.errors


def test_close_date_basis(crm, org):
    # closed in April or later: only d4 (won 11.04, Борис); deals in work have no close date
    frame = crm.report("deals.managers", date_basis="close", date_from="2015-04-01").frame
    assert [r[:4] for r in rows(frame)] == [("Борис", 0, 1, 0), ("Total", 0, 1, 0)]
    frame = crm.report("deals.managers", date_basis="close", group_by="month").frame
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in rows(frame)] == [
        ("(no date)", 2, 0, 0, D("0.00")), ("2015-03", 0, 1, 1, D("100.00")), ("2015-04", 0, 1, 0, D("200.00")),
        ("Total", 2, 2, 1, D("300.00"))]
    # by start month the same won value sits where the deals began
    frame = crm.report("deals.managers", group_by="month", **YEAR).frame
    assert [(r[0], r[6]) for r in rows(frame)] == [("2015-03", D("100.00")), ("2015-04", D("200.00")),
                                                   ("Total", D("300.00"))]
    funnel = crm.report("deals.funnel", date_basis="close", date_from="2015-03-05", date_to="2015-03-31")
    assert rows(funnel["Sales funnel"])[0][:7] == ("Контакт", 0, D("0.00"), 1, D("100.00"), 0, D("0.00"))
    assert rows(crm.report("deals.loss_reasons", date_basis="close", date_to="2015-03-03").frame) == [
        ("Total", 0, D("0.00"))]


def test_loss_reasons_and_forecast_by_group(crm, org):
    frame = crm.report("deals.loss_reasons", group_by="department", **YEAR).frame
    assert rows(frame) == [("Продажи", "Проигрыш конкуренту", 1, D("50.00")), ("Total", "", 1, D("50.00"))]
    result = crm.report("deals.forecast", group_by="department")
    assert rows(result["By group"]) == [("Север-1", 2, D("1029.00"), D("114.90"), D("11.17"))]
    assert rows(result["Deals without a close date"]) == [
        (crm.find("deals.deal", name="d5")[0].code, "d5", "Акме", "Анна", D("999.00"), 10)]
    assert rows(crm.report("deals.forecast", date_basis="close", date_to="2015-06-30")["By close month"]) == [
        ("2015-05", 1, D("30.00"), D("15.00"), D("50.00"))]


def test_bad_group_and_basis_parameters(crm, org):
    for params, field in (({"group_by": "colour"}, "group_by"), ({"group_by": "kind,kind"}, "group_by"),
                          ({"date_basis": "middle"}, "date_basis"), ({"department": "Нет"}, "department"),
                          ({"team": "nobody"}, "team"), ({"holding": "Нет"}, "holding")):
        with pytest.raises(ValidationError) as exc:
            crm.report("deals.managers", **params)
        assert field in exc.value.errors, params
    with pytest.raises(ValidationError) as exc:
        crm.report("deals.primary_demand", group_by="department")
    assert "group_by" in exc.value.errors


def test_efficiency_trees_under_the_groups(crm, org):
    result = crm.report("deals.efficiency", group_by="department", **YEAR)
    tree = result["Deals in work and won"]
    assert tree.columns[1] == "Department / Deal kind / deal / client"
    # Продажи: Борис's d2 (lost, listed with zeros) and d4 (won 200); Север-1: Анна's d1 (won 100), d3 (in work 30)
    assert [r[:10] for r in rows(tree) if r[0] == 0] == [
        (0, "Продажи", "", 0, None, D("0.00"), None, 1, D("50.00"), D("200.00")),
        (0, "Север-1", "", 1, D("100.00"), D("30.00"), D("100.00"), 1, D("50.00"), D("100.00"))]
    assert [r[1] for r in rows(tree) if r[0] == 1] == ["Без этапов", "Вручную", "Вручную"]
    lost = result["Lost deals"]
    assert [r[:4] for r in rows(lost)][:2] == [(0, "Продажи", "", 1), (1, "Борис", "", 1)]
    # the summary is the same whatever the groups
    assert rows(result["By status"]) == rows(crm.report("deals.efficiency", **YEAR)["By status"])
    crm.lang = "ru"     # the header is worded when the report is built
    assert crm.report("deals.efficiency", group_by="department", **YEAR)["Deals in work and won"].columns[1] == \
        "Подразделение / Вид сделки / Сделка / Клиент"


def test_funnel_by_group_and_stage(crm, org):
    result = crm.report("deals.funnel", group_by="department", **YEAR)
    # Борис's d2 lost at Контакт after 2.5 days; Анна's d1 won through Контакт (2) and Предложение (3.5), d3 in work
    assert rows(result["By group"]) == [
        ("Продажи", "Контакт", 0, D("0.00"), 0, D("0.00"), 1, D("50.00"), D("2.50"), None, D("2.50")),
        ("Север-1", "Контакт", 1, D("30.00"), 1, D("100.00"), 0, D("0.00"), D("2.00"), D("2.00"), None),
        ("Север-1", "Предложение", 0, D("0.00"), 1, D("100.00"), 0, D("0.00"), D("3.50"), D("3.50"), None)]
    # the funnel itself is the same with or without groups
    assert rows(result["Sales funnel"]) == rows(crm.report("deals.funnel", **YEAR)["Sales funnel"])
    bob = crm.as_user("bob")
    assert [r[0] for r in rows(bob.report("deals.funnel", group_by="holding", **YEAR)["By group"])] == [
        "Холдинг", "Холдинг"]
