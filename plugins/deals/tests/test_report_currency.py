"""Deal reports in a report currency: every amount converted in SQL at the
rate of its deal's start date (or of the report date), a missing rate an
error naming the currency and the date; figures computed by hand."""
import datetime as dt
from decimal import Decimal as D

import pytest

from crmkit import ValidationError
from crmkit_deals import api

from deals_testing import at, new_deal

pytestmark = pytest.mark.plugins("deals")
YEAR = {"date_from": "2015-01-01", "date_to": "2015-12-31"}
RATES = [("USD", "2014-11-30", "50", 1), ("USD", "2015-02-20", "60", 1), ("USD", "2015-03-04", "65", 1),
         ("JPY", "2015-01-01", "52.5", 100), ("EUR", "2015-02-01", "70", 1)]


@pytest.fixture
def deals(crm, world):
    """USD deals on 1.3 (rate 60), 2.3 (60), 5.3 (65), 1.4 (65); a RUB deal
    of 2014; a JPY deal on 6.3 (52.5 per 100)."""
    w = dict(world)
    for currency, day, rate, multiplier in RATES:
        crm.create("core.currency_rate", {"currency": currency, "date": day, "rate": rate, "multiplier": multiplier})
    d1 = new_deal(crm, w, "manual", "100.00", name="d1", when=(3, 1))
    api.win(crm, d1.id, at=at((3, 6)))
    d2 = new_deal(crm, w, "manual", "50.00", responsible="bob", name="d2", when=(3, 2))
    api.lose(crm, d2.id, "Проигрыш конкуренту", at=at((3, 4)))
    new_deal(crm, w, "manual", "30.00", client="shop", name="d3", when=(3, 5))
    d4 = new_deal(crm, w, "flat", "200.00", client="shop", responsible="bob", name="d4", when=(4, 1))
    api.win(crm, d4.id, at=at((4, 11)))
    api.create(crm, {"name": "d5", "client": w["acme"], "responsible": w["ann"], "kind": w["flat"],
                     "potential": "999", "currency": "RUB", "start_date": "2014-12-01"})
    d6 = new_deal(crm, w, "flat", "10000.00", name="d6", when=(3, 6), currency="JPY")
    crm.create("deals.demand", {"deal": d1.id, "product": w["tv"], "quantity": 3, "price": 10})
    crm.create("deals.demand", {"deal": d6.id, "product": w["fan"], "quantity": 2, "price": 1000})
    return w


def by_status(result):
    return [tuple(r) for r in result["By status"].itertuples(index=False)]


def test_amounts_are_converted_at_the_rate_of_their_own_date(crm, deals):
    # in work: d3 30 USD x 65 + d5 999 RUB + d6 10000 JPY x 0.525; won: d1 100 x 60 + d4 200 x 65; lost: d2 50 x 60
    assert by_status(crm.report("deals.efficiency", report_currency="RUB")) == [
        ("In work", 3, D("1950.00") + D("999.00") + D("5250.00")), ("Won", 2, D("19000.00")),
        ("Lost", 1, D("3000.00"))]
    funnel = crm.report("deals.funnel", report_currency="rub", kind="Вручную", **YEAR)["Sales funnel"]
    assert [tuple(r)[:7] for r in funnel.itertuples(index=False)][0] == (
        "Контакт", 1, D("1950.00"), 1, D("6000.00"), 1, D("3000.00"))


def test_or_all_at_the_rate_of_the_report_date(crm, deals):
    result = crm.report("deals.efficiency", report_currency="RUB", rates_on="report", **YEAR)
    assert by_status(result) == [("In work", 2, D("1950.00") + D("5250.00")), ("Won", 2, D("19500.00")),
                                 ("Lost", 1, D("3250.00"))]
    early = crm.report("deals.efficiency", report_currency="RUB", rates_on="report", date_to="2015-03-03",
                       date_from="2015-01-01")   # 3.3: USD at 60
    assert by_status(early) == [("In work", 0, D("0.00")), ("Won", 1, D("6000.00")), ("Lost", 1, D("3000.00"))]


def test_a_cross_rate_through_the_base_currency(crm, deals):
    # to USD: d5 999 RUB / 50 = 19.98; d6 10000 JPY x 0.525 / 65 (USD on 6.3) = 80.77; d3 30 USD as it is
    result = crm.report("deals.efficiency", report_currency="USD", detail=False)
    assert by_status(result)[0] == ("In work", 3, D("30.00") + D("19.98") + D("80.77"))
    managers = crm.report("deals.managers", report_currency="USD")
    assert [(r[0], r[5], r[6], r[7]) for r in managers.frame.itertuples(index=False)] == [
        ("Анна", D("130.75"), D("100.00"), D("0.00")), ("Борис", D("0.00"), D("200.00"), D("50.00")),
        ("Total", D("130.75"), D("300.00"), D("50.00"))]
    grouped = crm.report("deals.managers", report_currency="USD", group_by="department,holding").frame
    assert tuple(grouped.iloc[-1, [0, 6, 7, 8]]) == ("Total", D("130.75"), D("300.00"), D("50.00"))


def test_every_money_report_takes_a_report_currency(crm, deals):
    for report in ("deals.efficiency", "deals.forecast", "deals.primary_demand", "deals.managers"):
        with pytest.raises(ValidationError, match="several currencies"):
            crm.report(report)                       # USD, RUB and JPY are never added up unconverted
    demand = crm.report("deals.primary_demand", report_currency="RUB")
    assert [(r[0], r[3], r[5], r[9]) for r in demand["By product"].itertuples(index=False)] == [
        ("Вентилятор", D("1050.00"), D("0.00"), D("1050.00")), ("Телевизор", D("1800.00"), D("1800.00"), D("0.00"))]
    assert sorted((r[0], r[3]) for r in demand["By deal"].itertuples(index=False)) == [
        ("d1", D("1800.00")), ("d6", D("1050.00"))]
    lost = crm.report("deals.loss_reasons", report_currency="RUB").frame
    assert [tuple(r) for r in lost.itertuples(index=False)] == [
        ("Проигрыш конкуренту", 1, D("3000.00")), ("Total", 1, D("3000.00"))]
    forecast = crm.report("deals.forecast", report_currency="RUB")["By responsible"]
    assert [tuple(r)[:3] for r in forecast.itertuples(index=False)] == [("Анна", 3, D("8199.00"))]


def test_a_missing_rate_is_an_error_naming_currency_and_date(crm, deals):
    new_deal(crm, deals, "flat", "5.00", name="early euro", when=(1, 15), currency="EUR")
    with pytest.raises(ValidationError) as exc:
        crm.report("deals.efficiency", report_currency="RUB")
    assert "no EUR exchange rate on or before 2015-01-15" in str(exc.value.errors["report_currency"])
    with pytest.raises(ValidationError) as exc:
        crm.report("deals.managers", report_currency="CNY", date_from="2015-02-01")
    assert "no CNY exchange rate on or before 2015-03-01" in str(exc.value.errors["report_currency"])
    with pytest.raises(ValidationError) as exc:
        crm.report("deals.funnel", report_currency="XYZ")
    assert "unknown currency code" in str(exc.value.errors["report_currency"])
    # a marked rate is no rate
    usd = crm.find("core.currency_rate", currency="USD", date=dt.date(2014, 11, 30))[0]
    crm.mark_deleted("core.currency_rate", usd.id)
    with pytest.raises(ValidationError, match="no USD exchange rate on or before 2014-12-01"):
        crm.report("deals.efficiency", report_currency="USD", date_to="2014-12-31")


def test_without_a_report_currency_nothing_changes(crm, deals):
    assert by_status(crm.report("deals.efficiency", currency="USD", **YEAR)) == [
        ("In work", 1, D("30.00")), ("Won", 2, D("300.00")), ("Lost", 1, D("50.00"))]
    assert by_status(crm.report("deals.efficiency", currency="USD", report_currency="USD", **YEAR)) == [
        ("In work", 1, D("30.00")), ("Won", 2, D("300.00")), ("Lost", 1, D("50.00"))]


def test_converted_figures_count_only_the_deals_the_user_sees(crm, deals, open_crm):
    bob = open_crm(user="bob")          # wholesale only: Акме's deals d1, d2, d5, d6
    assert by_status(bob.report("deals.efficiency", report_currency="RUB")) == [
        ("In work", 2, D("999.00") + D("5250.00")), ("Won", 1, D("6000.00")), ("Lost", 1, D("3000.00"))]
    new_deal(crm, deals, "flat", "5.00", client="shop", name="hidden euro", when=(1, 15), currency="EUR")
    bob.report("deals.efficiency", report_currency="RUB")   # a rate missing for a deal bob cannot see: no error


def test_rates_loaded_for_part_of_the_rows_still_convert_the_rest(crm, deals):
    """The factor is a lookup in the rates the report's check loaded (on
    PostgreSQL); a row outside what it loaded (another currency, an earlier
    or later day) falls back to the sub-select, never to a wrong rate."""
    from crmkit.core.currency import conversion
    D_ = crm.model("deals.deal")
    conv = conversion(crm, {"report_currency": "RUB"}, "deals.efficiency")
    amount = conv.amount(D_.potential, D_.currency, D_.start_date)       # made before the check, as targets do
    conv.check(crm.query("deals.deal").where(D_.name == "d3"), D_.currency, D_.start_date)   # USD on 5.3 only
    q = crm.query("deals.deal", D_.name, amount.alias("rub")).order_by(D_.name)
    got = {name: D(str(value)).quantize(D("0.01")) for name, value in q.tuples()}
    assert got == {"d1": D("6000.00"), "d2": D("3000.00"), "d3": D("1950.00"), "d4": D("13000.00"),
                   "d5": D("999.00"), "d6": D("5250.00")}
    conv = conversion(crm, {"report_currency": "USD"}, "deals.efficiency")
    conv.check(crm.query("deals.deal").where(D_.name == "d6"), D_.currency, D_.start_date)    # JPY and USD on 6.3
    q = crm.query("deals.deal", D_.name, conv.amount(D_.potential, D_.currency, D_.start_date).alias("usd"))
    got = {name: D(str(value)).quantize(D("0.01")) for name, value in q.tuples()}
    assert got["d5"] == D("19.98") and got["d6"] == D("80.77") and got["d3"] == D("30.00")


def test_a_span_too_long_to_keep_converts_by_sub_select(crm, deals, monkeypatch):
    import crmkit.core.currency as currency
    kept = by_status(crm.report("deals.efficiency", report_currency="USD"))
    monkeypatch.setattr(currency, "MAX_SPAN_DAYS", 1)
    assert by_status(crm.report("deals.efficiency", report_currency="USD")) == kept
    assert kept[0] == ("In work", 3, D("30.00") + D("19.98") + D("80.77"))


def test_a_rate_marked_for_deletion_is_not_kept_for_the_lookup(crm, deals):
    """The rates the conversion keeps are read as the user reads them: a
    marked rate is skipped (the day takes the one before it)."""
    r = crm.find("core.currency_rate", currency="USD", date=dt.date(2015, 3, 4))[0]
    crm.mark_deleted("core.currency_rate", r.id)
    # d3 30 USD on 5.3 now at 60 (the 20.2 rate), d6 at 52.5 per 100
    assert by_status(crm.report("deals.efficiency", report_currency="RUB", detail=False))[0] == (
        "In work", 3, D("1800.00") + D("999.00") + D("5250.00"))
