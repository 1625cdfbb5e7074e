"""Sales reports in a report currency: revenue and cost of each line at the
rate of its date (or of the report date), in SQL; a missing rate an error."""
import pytest

from crmkit import ValidationError

from helpers import partner, product, sale

pytestmark = pytest.mark.plugins("analysis", "deals")


@pytest.fixture
def sales(crm):
    crm.create("core.currency_rate", {"currency": "USD", "date": "2024-01-01", "rate": "90", "multiplier": 1})
    crm.create("core.currency_rate", {"currency": "USD", "date": "2024-02-01", "rate": "100", "multiplier": 1})
    a, tv = partner(crm, "A"), product(crm, "TV")
    sale(crm, a, tv, "2024-01-15", 1000, cost=600, currency="RUB")
    sale(crm, a, tv, "2024-01-20", 10, cost=4, currency="USD")       # 900 / 360 RUB
    sale(crm, a, tv, "2024-02-03", 20, cost=10, currency="USD")      # 2,000 / 1,000 RUB
    return a


def test_assortment_dynamics_by_month_in_roubles(crm, sales):
    dyn = crm.report("analysis.assortment", report_currency="RUB")["dynamics"]
    assert [(r["month"], r["revenue"], r["gross_profit"]) for r in dyn.to_dict("records")] == [
        ("2024-01", 1900.0, 940.0), ("2024-02", 2000.0, 1000.0)]
    at_report = crm.report("analysis.assortment", report_currency="RUB", rates_on="report",
                           date_to="2024-01-31")["dynamics"]
    assert [(r["month"], r["revenue"]) for r in at_report.to_dict("records")] == [("2024-01", 1900.0)]


def test_deal_profit_and_segments_in_dollars(crm, sales):
    deal = crm.create("deals.deal", {"name": "Сделка", "client": sales.id, "start_date": "2024-01-10"})
    crm.model("analysis.sale").update(deal_id=deal.id).execute()
    row = crm.report("analysis.deal_profit", report_currency="USD").frame.to_dict("records")[0]
    # 1,000 RUB / 90 = 11.11 + 10 + 20; cost 600 / 90 = 6.67 + 4 + 10
    assert (row["revenue"], row["cost"], row["gross_profit"]) == (41.11, 20.67, 20.44)
    segment = crm.create("core.segment", {"name": "Все", "kind": "partner", "method": "manual"})
    crm.create("core.segment_member", {"segment": segment.id, "member_id": sales.id})
    seg = crm.report("analysis.segments", report_currency="RUB").frame.to_dict("records")[0]
    assert (seg["segment"], seg["revenue"], seg["gross_profit"]) == ("Все", 3900.0, 1940.0)


def test_a_missing_rate_is_named(crm, sales):
    with pytest.raises(ValidationError) as exc:
        crm.report("analysis.deal_profit", report_currency="CNY")
    assert "no CNY exchange rate on or before 2024-01-15" in str(exc.value.errors["report_currency"])


def test_abc_xyz_across_currencies_classifies_in_one(crm):
    """Clients buying in RUB and USD are classified on their revenue in the
    report currency (each line at the rate of its date); without one, sales
    in several currencies are an error, never a sum of roubles and dollars."""
    from crmkit_analysis import models as m
    from crmkit_analysis.classify import run

    from helpers import MONTHLY, classes
    crm.create("core.currency_rate", {"currency": "USD", "date": "2024-01-01", "rate": "90", "multiplier": 1})
    crm.create("core.currency_rate", {"currency": "USD", "date": "2024-03-01", "rate": "100", "multiplier": 1})
    tv = product(crm, "TV")
    rub, usd, small = partner(crm, "R"), partner(crm, "U"), partner(crm, "S")
    for month in ("01", "02", "03"):
        sale(crm, rub, tv, f"2024-{month}-10", 5000, currency="RUB")      # 15,000 RUB
        sale(crm, small, tv, f"2024-{month}-11", 300, currency="RUB")      # 900 RUB
    sale(crm, usd, tv, "2024-01-15", 100, currency="USD")                # 9,000 RUB
    sale(crm, usd, tv, "2024-03-15", 200, currency="USD")                # 20,000 RUB: U is first in roubles
    with pytest.raises(ValidationError) as exc:
        run(crm, "partner", "2024-04-01", **MONTHLY)
    assert "several currencies (RUB, USD)" in exc.value.errors["report_currency"][0]
    assert m.Run.select().count() == 0
    summary = run(crm, "partner", "2024-04-01", report_currency="RUB", **MONTHLY)
    got = classes(crm, summary["run"], m.ClientClass)
    # 29,000 / 45,900 = 63 % -> A; R: 15,000 (before it 63 % < 80) -> A; S: before it 96 % -> C
    assert {code: abc for code, (abc, _) in got.items()} == {"U": "A", "R": "A", "S": "C"}
    assert got["R"][1] == "X" and got["U"][1] == "Z"           # R steady, U in two months of three
    in_usd = run(crm, "partner", "2024-04-01", report_currency="usd", **MONTHLY)
    assert in_usd["run"] != summary["run"]                      # other settings: another run
    assert classes(crm, in_usd["run"], m.ClientClass) == got     # the same order in any currency
    with pytest.raises(ValidationError) as exc:                  # a rate missing before the window's first sale
        run(crm, "partner", "2024-04-01", report_currency="EUR", **MONTHLY)
    assert "no EUR exchange rate on or before" in exc.value.errors["report_currency"][0]
    with pytest.raises(ValidationError) as exc:
        run(crm, "partner", "2024-04-01", report_currency="XX1", **MONTHLY)
    assert "unknown currency code" in exc.value.errors["report_currency"][0]
    assert run(crm, "partner", "2024-04-01", measure="documents", **MONTHLY)["run"]   # a count needs no rate
