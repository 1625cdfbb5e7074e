"""Marketing's money in a report currency: won potential of deals (at each
deal's start date) and event budgets (at the event's planned start)."""
import decimal

import pytest

from crmkit import ValidationError

from conftest import PERIOD_2015, build_seed

pytestmark = pytest.mark.plugins("marketing", "deals")
D = decimal.Decimal


@pytest.fixture
def seeded(crm):
    seed = build_seed(crm)     # events in RUB (planned 2015-04-15), deals in USD (started 2015-03-03)
    crm.create("core.currency_rate", {"currency": "USD", "date": "2015-03-01", "rate": "60", "multiplier": 1})
    crm.create("core.currency_rate", {"currency": "USD", "date": "2015-04-10", "rate": "50", "multiplier": 1})
    return seed


def test_event_return_in_roubles_and_in_dollars(crm, seeded):
    frame = crm.report("marketing.event_return", report_currency="RUB", **PERIOD_2015).frame
    row = frame[frame["event"] == "Мир бытовой техники"].iloc[0]
    assert row["won potential"] == D("2654.10") * 60 and row["currency"] == "RUB"
    assert (row["actual cost"], row["cost per won deal"]) == (D("90000.00"), D("30000.00"))
    frame = crm.report("marketing.event_return", report_currency="USD", **PERIOD_2015).frame
    row = frame[frame["event"] == "Мир бытовой техники"].iloc[0]
    # budgets at the USD rate of 15.4 (50): 90,000 RUB = 1,800 USD, 600 a won deal
    assert (row["won potential"], row["actual cost"], row["budget currency"]) == (D("2654.10"), D("1800.00"), "USD")
    assert row["cost per won deal"] == D("600.00")


def test_primary_interest_won_potential_converted(crm, seeded):
    by_source = crm.report("marketing.primary_interest", report_currency="RUB", rates_on="report",
                           **PERIOD_2015)["By source"]
    won = {r["primary interest source"]: r["won potential"] for r in by_source.to_dict("records")}
    assert won["Мир бытовой техники"] == D("2654.10") * 50 and won["Total"] == D("2654.10") * 50


def test_a_missing_rate_is_named(crm, seeded):
    with pytest.raises(ValidationError) as exc:
        crm.report("marketing.event_return", report_currency="EUR", **PERIOD_2015)
    assert "no EUR exchange rate on or before 2015-04-15" in str(exc.value.errors["report_currency"])
