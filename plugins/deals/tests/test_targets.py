"""Sales targets (deals.target) and the plan-and-actual report: figures
computed by hand from a small set of deals."""
import datetime as dt
from decimal import Decimal as D

import pytest

from crmkit import ValidationError
from crmkit_deals import api

from deals_testing import at, new_deal

pytestmark = pytest.mark.plugins("deals")


@pytest.fixture
def won(crm, world):
    """ann: d1 100 USD won 6.3, d3 30 USD in work to close 20.3 at 50 %;
    bob: d2 50 lost, d4 200 won 11.4. ann and bob in department Продажи."""
    w = dict(world)
    w["sales"] = crm.create("core.department", {"name": "Продажи"}).id
    for user in ("ann", "bob"):
        crm.update("core.user", w[user], {"department": w["sales"]})
    d1 = new_deal(crm, w, "manual", "100.00", name="d1", when=(3, 1))
    api.win(crm, d1.id, at=at((3, 6)))
    d2 = new_deal(crm, w, "manual", "50.00", responsible="bob", name="d2", when=(3, 2))
    api.lose(crm, d2.id, "Проигрыш конкуренту", at=at((3, 4)))
    new_deal(crm, w, "manual", "30.00", client="shop", name="d3", when=(3, 5), probability=50,
             end_date=dt.date(2015, 3, 20))
    d4 = new_deal(crm, w, "flat", "200.00", client="shop", responsible="bob", name="d4", when=(4, 1))
    api.win(crm, d4.id, at=at((4, 11)))
    return w


def target(crm, **data):
    return crm.create("deals.target", {"currency": "USD", **data})


def rows(crm, **params):
    frame = crm.report("deals.plan_actual", **params)["Plan and actual"]
    return [tuple(r) for r in frame.itertuples(index=False)]


def test_plan_actual_and_forecast(crm, won):
    target(crm, period="month", period_start="2015-03-01", responsible=won["ann"], amount="500", won_deals=2)
    target(crm, period="quarter", period_start="2015-04-01", department=won["sales"], won_deals=1)
    target(crm, period="month", period_start="2015-03-01", kind=won["flat"], amount="1000")
    target(crm, period="quarter", period_start="2015-01-01", amount="1000")
    assert rows(crm) == [
        # period, responsible, department, kind, currency, target, won, %, target n, won n, %, weighted, forecast, %
        ("Q1 2015", "(any)", "(any)", "(any)", "USD", D("1000.00"), D("100.00"), D("10.00"),
         None, 1, None, D("15.00"), D("115.00"), D("11.50")),
        ("March 2015", "(any)", "(any)", "Без этапов", "USD", D("1000.00"), D("0.00"), D("0.00"),
         None, 0, None, D("0.00"), D("0.00"), D("0.00")),
        ("March 2015", "Анна", "(any)", "(any)", "USD", D("500.00"), D("100.00"), D("20.00"),
         2, 1, D("50.00"), D("15.00"), D("115.00"), D("23.00")),
        ("Q2 2015", "(any)", "Продажи", "(any)", "USD", None, D("200.00"), None,
         1, 1, D("100.00"), D("0.00"), D("200.00"), None)]
    assert [r[0] for r in rows(crm, period="quarter", date_from="2015-02-01")] == ["Q2 2015"]
    assert [r[1] for r in rows(crm, responsible="ann")] == ["Анна"]


def test_the_actuals_are_those_the_user_sees(crm, won, open_crm):
    target(crm, period="month", period_start="2015-03-01", responsible=won["ann"], amount="500", won_deals=2)
    target(crm, period="quarter", period_start="2015-04-01", department=won["sales"], won_deals=1)
    bob = open_crm(user="bob")        # wholesale only: Лавка's d3 and d4 are hidden
    assert [(r[6], r[9], r[11], r[12]) for r in rows(bob)] == [
        (D("100.00"), 1, D("0.00"), D("100.00")), (D("0.00"), 0, D("0.00"), D("0.00"))]


def test_targets_and_deals_in_other_currencies(crm, won):
    target(crm, period="month", period_start="2015-03-01", responsible=won["ann"], amount="30000", currency="RUB")
    with pytest.raises(ValidationError, match="several currencies"):
        rows(crm)
    with pytest.raises(ValidationError, match="no USD exchange rate on or before 2015-03-01"):
        rows(crm, report_currency="RUB")
    crm.create("core.currency_rate", {"currency": "USD", "date": "2015-01-01", "rate": "60"})
    # won 100 USD x 60 = 6,000 of 30,000 RUB; 30 x 50 % x 60 = 900 weighted
    assert rows(crm, report_currency="RUB")[0][4:8] == ("RUB", D("30000.00"), D("6000.00"), D("20.00"))
    assert rows(crm, report_currency="USD")[0][4:8] == ("USD", D("500.00"), D("100.00"), D("20.00"))


@pytest.mark.parametrize("payload, field, fragment", [
    ({"period_start": "2015-03-02"}, "period_start", "does not start a month"),
    ({"period": "quarter", "period_start": "2015-02-01"}, "period_start", "does not start a quarter"),
    ({"amount": None, "won_deals": None}, "amount", "or both"),
    ({"amount": "-1"}, "amount", "min value"),
    ({"won_deals": -2}, "won_deals", "min value"),
    ({"currency": "XYZ"}, "currency", "ISO 4217"),
    ({"period": "week"}, "period", "unallowed"),
])
def test_bad_targets_are_refused(crm, won, payload, field, fragment):
    with pytest.raises(ValidationError) as exc:
        target(crm, **{"period": "month", "period_start": "2015-03-01", "amount": "10", **payload})
    assert fragment in str(exc.value.errors[field])
    assert crm.count("deals.target") == 0


def test_one_target_per_period_and_scope(crm, won):
    target(crm, period="month", period_start="2015-03-01", responsible=won["ann"], amount="10")
    with pytest.raises(ValidationError, match="exists"):
        target(crm, period="month", period_start="2015-03-01", responsible=won["ann"], won_deals=3)
    target(crm, period="month", period_start="2015-03-01", responsible=won["bob"], amount="10")
    target(crm, period="month", period_start="2015-03-01", amount="10")      # every manager: another scope


def test_targets_are_imported(crm, won, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text("period,period_start,responsible,amount,currency,won_deals\n"
                    "month,2015-03-01,ann,500,USD,2\nquarter,2015-04-01,bob,,USD,1\n", encoding="utf-8")
    crm.import_file("deals.target", path)
    assert [(r[0], r[1], r[5], r[8]) for r in rows(crm)] == [
        ("March 2015", "Анна", D("500.00"), 2), ("Q2 2015", "Борис", None, 1)]
    bad = tmp_path / "bad.csv"
    bad.write_text("period,period_start,responsible,amount\nmonth,2015-05-01,ann,5\nmonth,2015-05-07,ann,5\n",
                   encoding="utf-8")
    with pytest.raises(ValidationError):
        crm.import_file("deals.target", bad)
    assert crm.count("deals.target") == 2
