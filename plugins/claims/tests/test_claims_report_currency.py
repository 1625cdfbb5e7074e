"""Claims' compensation sums in a report currency: converted at the rate of
each claim's registration date, a missing rate an error; without one the
sums stay per currency."""
from decimal import Decimal

import pytest

from crmkit import ValidationError
from crmkit_claims import api

from claims_fixtures import at, base, claim

pytestmark = pytest.mark.plugins("claims")


@pytest.fixture
def paid(crm):
    ids = base(crm)
    crm.create("core.currency_rate", {"currency": "USD", "date": "2015-05-01", "rate": "50.5", "multiplier": 1})
    crm.create("core.currency_rate", {"currency": "USD", "date": "2015-06-01", "rate": "55", "multiplier": 1})
    for who, when, amount, currency in (("wholesale", "2015-05-04", "1500.50", "RUB"),
                                        ("retail", "2015-05-05", "100.00", "USD"),
                                        ("wholesale", "2015-06-02", "10.00", "USD")):
        record = claim(crm, ids, who=who, registered_at=at(f"{when}T12:00:00"), planned_end=at(f"{when}T18:00:00"))
        api.set_status(crm, record.code, "satisfied", compensation=amount, currency=currency)
    return ids


def compensation(result):
    """(group, currency, compensation, compensated) rows; the group's column is named after the report."""
    frame = result["compensation"]
    return [(label, *rest) for label, *rest in zip(frame.iloc[:, 0], frame["currency"], frame["compensation"],
                                                   frame["compensated"])]


def test_compensation_per_currency_or_converted(crm, paid):
    assert compensation(crm.report("claims.by_cause")) == [
        ("Испорченный товар", "RUB", Decimal("1500.50"), 1), ("Испорченный товар", "USD", Decimal("110.00"), 2)]
    # 1500.50 + 100 x 50.5 + 10 x 55
    assert compensation(crm.report("claims.by_cause", report_currency="RUB")) == [
        ("Испорченный товар", "RUB", Decimal("7100.50"), 3)]
    # all at the rate of the report date (the end of the period): 1500.50 + 110 x 55
    assert compensation(crm.report("claims.by_cause", report_currency="RUB", rates_on="report",
                                   date_to="2015-12-31")) == [("Испорченный товар", "RUB", Decimal("7550.50"), 3)]
    # 1500.50 / 50.5 = 29.71 + 100 + 10
    assert compensation(crm.report("claims.by_department", report_currency="USD"))[0][2:] == (Decimal("139.71"), 3)


def test_a_missing_rate_names_currency_and_date(crm, paid):
    with pytest.raises(ValidationError) as exc:
        crm.report("claims.by_employee", report_currency="EUR")
    assert "no EUR exchange rate on or before 2015-05-04" in str(exc.value.errors["report_currency"])


def test_converted_sums_count_only_visible_claims(crm, paid, open_crm):
    orlov = open_crm(user="orlov")          # wholesale only: 1500.50 RUB and 10 USD
    assert compensation(orlov.report("claims.by_cause", report_currency="RUB")) == [
        ("Испорченный товар", "RUB", Decimal("2050.50"), 2)]
