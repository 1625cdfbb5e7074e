"""Every report on a small hand-computed data set, figures exact."""
import datetime as dt
from decimal import Decimal as D

import pytest

from crmkit import ValidationError
from crmkit_deals import api, stats

from deals_testing import at, new_deal

pytestmark = pytest.mark.plugins("deals")
YEAR = {"date_from": "2015-01-01", "date_to": "2015-12-31"}


@pytest.fixture
def small(crm, world):
    w = dict(world)
    d1 = new_deal(crm, w, "manual", "100.00", name="d1", when=(3, 1))
    api.move_to_stage(crm, d1.id, "next", at=at((3, 3)))                  # 2 days at Контакт
    api.win(crm, d1.id, at=at((3, 6), 21))                                 # 3.5 days at Предложение
    d2 = new_deal(crm, w, "manual", "50.00", responsible="bob", name="d2", when=(3, 2))
    api.lose(crm, d2.id, "Проигрыш конкуренту", at=at((3, 4), 21))        # 2.5 days at Контакт
    d3 = new_deal(crm, w, "manual", "30.00", client="shop", name="d3", when=(3, 5), probability=50,
                  end_date=dt.date(2015, 5, 20))
    d4 = new_deal(crm, w, "flat", "200.00", client="shop", responsible="bob", name="d4", when=(4, 1))
    api.win(crm, d4.id, at=at((4, 11), 12))
    api.create(crm, {"name": "d5", "client": w["acme"], "responsible": w["ann"], "kind": w["flat"],
                     "potential": "999", "probability": 10, "start_date": "2014-12-01"})
    d6 = new_deal(crm, w, "manual", "77.00", name="d6", when=(3, 7))
    crm.mark_deleted("deals.deal", d6.id)
    for deal, product, qty, price in ((d1, "tv", 3, 10), (d2, "tv", 1, 10), (d2, "fan", 2, 5), (d3, "fan", 1, 5)):
        crm.create("deals.demand", {"deal": deal.id, "product": w[product], "quantity": qty, "price": price})
    w.update(d1=d1.id, d2=d2.id, d3=d3.id, d4=d4.id)
    return w


def rows(frame):
    return [tuple(r) for r in frame.itertuples(index=False)]


def test_funnel(crm, small):
    assert rows(crm.report("deals.funnel", **YEAR)["Sales funnel"]) == [
        ("Контакт", 1, D("30.00"), 1, D("100.00"), 1, D("50.00"), D("2.25"), D("2.00"), D("2.50")),
        ("Предложение", 0, D("0.00"), 1, D("100.00"), 0, D("0.00"), D("3.50"), D("3.50"), None)]
    chart = crm.report("deals.funnel", **YEAR)["Funnel chart"]
    assert rows(chart) == [("Контакт", 3, D("180.00")), ("Предложение", 1, D("100.00"))]
    by_kind = crm.report("deals.funnel", kind="Вручную", responsible="bob", **YEAR)["Sales funnel"]
    assert rows(by_kind) == [
        ("Контакт", 0, D("0.00"), 0, D("0.00"), 1, D("50.00"), D("2.50"), None, D("2.50")),
        ("Предложение", 0, D("0.00"), 0, D("0.00"), 0, D("0.00"), None, None, None),
        ("Исполнение", 0, D("0.00"), 0, D("0.00"), 0, D("0.00"), None, None, None)]
    marked = crm.report("deals.funnel", include_marked=True, **YEAR)["Sales funnel"]
    assert rows(marked)[0][:3] == ("Контакт", 2, D("107.00"))


def test_efficiency_and_segment_filter(crm, small):
    assert rows(crm.report("deals.efficiency", **YEAR)["By status"]) == [
        ("In work", 1, D("30.00")), ("Won", 2, D("300.00")), ("Lost", 1, D("50.00"))]
    assert rows(crm.report("deals.efficiency")["By status"])[0] == ("In work", 2, D("1029.00"))
    segment = crm.create("core.segment", {"name": "Розничные", "kind": "partner", "method": "manual"})
    crm.create("core.segment_member", {"segment": segment.id, "member_id": small["shop"]})
    result = crm.report("deals.efficiency", segment="Розничные", **YEAR)
    assert rows(result["By status"]) == [("In work", 1, D("30.00")), ("Won", 1, D("200.00")), ("Lost", 0, D("0.00"))]
    detail = rows(result["Deals in work and won"])
    assert [r[:6] for r in detail] == [
        (0, "Без этапов", "", 0, None, D("0.00")), (1, "d4", "Борис", 0, None, D("0.00")),
        (2, "Лавка", "", 0, None, D("0.00")),
        (0, "Вручную", "", 1, D("100.00"), D("30.00")), (1, "d3", "Анна", 1, D("100.00"), D("30.00")),
        (2, "Лавка", "", 1, D("100.00"), D("30.00"))]
    assert [r[7:] for r in detail if r[0] == 0] == [(1, D("100.00"), D("200.00"), D("100.00")),
                                                    (0, None, D("0.00"), None)]


def test_efficiency_tree_without_kind_or_responsible(crm, small):
    """Deals with no kind go under "(no kind)", those with no responsible
    show an empty name; siblings of the same name stay apart, by id."""
    made = [api.create(crm, {"name": "Тёзка", "client": small[client], "potential": pot, "currency": "USD",
                             "start_date": "2016-02-01"}).id
            for client, pot in (("shop", "5.00"), ("acme", "15.00"))]
    frame = crm.report("deals.efficiency", date_from="2016-01-01")["Deals in work and won"]
    assert [r[:6] for r in rows(frame)] == [
        (0, "(no kind)", "", 2, D("100.00"), D("20.00")),
        (1, "Тёзка", "", 1, D("50.00"), D("5.00")), (2, "Лавка", "", 1, D("100.00"), D("5.00")),
        (1, "Тёзка", "", 1, D("50.00"), D("15.00")), (2, "Акме", "", 1, D("100.00"), D("15.00"))]
    assert made[0] < made[1]
    assert rows(frame)[0][6] == D("100.00")   # share of the potential: 20 of 20


def test_loss_reasons_with_filters(crm, small):
    assert rows(crm.report("deals.loss_reasons", **YEAR).frame) == [
        ("Проигрыш конкуренту", 1, D("50.00")), ("Total", 1, D("50.00"))]
    assert rows(crm.report("deals.loss_reasons", responsible="ann", **YEAR).frame) == [("Total", 0, D("0.00"))]
    assert rows(crm.report("deals.loss_reasons", client="Акме").frame)[0] == ("Проигрыш конкуренту", 1, D("50.00"))


def test_managers(crm, small):
    assert rows(crm.report("deals.managers", **YEAR).frame) == [
        ("Анна", 1, 1, 0, D("100.00"), D("30.00"), D("100.00"), D("0.00"), D("5.88"), D("5.88"), D("100.00")),
        ("Борис", 0, 1, 1, D("50.00"), D("0.00"), D("200.00"), D("50.00"), D("6.69"), D("10.50"), D("200.00")),
        # won-only cycle (5.875 + 10.5) / 2, average won deal 300 / 2, overall win rate 2 of 3
        ("Total", 1, 2, 1, D("66.67"), D("30.00"), D("300.00"), D("50.00"), D("6.42"), D("8.19"), D("150.00"))]


def test_primary_demand(crm, small):
    result = crm.report("deals.primary_demand", **YEAR)
    assert rows(result["By product"]) == [
        ("Вентилятор", 2, D("3"), D("15.00"), D("0"), D("0.00"), D("2"), D("10.00"), D("1"), D("5.00"), D("0.00")),
        ("Телевизор", 2, D("4"), D("40.00"), D("3"), D("30.00"), D("1"), D("10.00"), D("0"), D("0.00"),
         D("75.00"))]
    assert rows(result["By deal"]) == [("d1", "Акме", "Won", D("30.00"), "yes", ""),
                                       ("d2", "Акме", "Lost", D("20.00"), "no", "Проигрыш конкуренту"),
                                       ("d3", "Лавка", "In work", D("5.00"), "not yet", "")]


def test_probability_statistics_and_forecast(crm, small):
    # closed: d1 won (ann, acme, manual, passed Контакт+Предложение), d2 lost (bob, acme, manual,
    # Контакт), d4 won (bob, shop, flat); overall 2/3, each rate pulled toward it with weight 5
    result = api.probability_breakdown(crm, small["d3"])
    assert [(r["factor"], r["won"], r["closed"], r["raw_rate"], r["rate"]) for r in result["factors"]] == [
        ("stage", 1, 2, D("50.00"), D("61.90")),      # (1 + 5*2/3) / (2 + 5)
        ("manager", 1, 1, D("100.00"), D("72.22")),   # (1 + 5*2/3) / (1 + 5)
        ("partner", 1, 1, D("100.00"), D("72.22")),
        ("kind", 1, 2, D("50.00"), D("61.90"))]
    assert result["probability"] == 67 and result["manual"] == 50
    forecast = crm.report("deals.forecast")
    assert rows(forecast["By close month"]) == [("(no date)", 1, D("999.00"), D("99.90"), D("10.00")),
                                                ("2015-05", 1, D("30.00"), D("15.00"), D("50.00"))]
    api.refresh_probability(crm, small["d3"])
    forecast = crm.report("deals.forecast")
    assert rows(forecast["By responsible"]) == [("Анна", 2, D("1029.00"), D("120.00"), D("11.66"))]
    assert rows(forecast["By close month"])[1] == ("2015-05", 1, D("30.00"), D("20.10"), D("67.00"))


def test_stage_statistics_count_each_closed_deal_once_within_access(crm, open_crm, small):
    # a deal that passes a stage twice counts once there; a marked-deleted closed deal and
    # a closed deal the user may not see count nowhere; an open deal's passages count nowhere
    w = small
    back = new_deal(crm, w, "manual", name="back and forth", when=(5, 1))
    api.move_to_stage(crm, back.id, "Исполнение", at=at((5, 2)))
    api.move_to_stage(crm, back.id, "previous", at=at((5, 3)))
    api.move_to_stage(crm, back.id, "Контакт", at=at((5, 4)))
    api.move_to_stage(crm, back.id, "next", at=at((5, 5)))
    api.lose(crm, back.id, "Высокая цена", at=at((5, 6)))
    gone = new_deal(crm, w, "manual", name="won then deleted", when=(5, 1))
    api.win(crm, gone.id, at=at((5, 2)))
    crm.mark_deleted("deals.deal", gone.id)
    hidden = new_deal(crm, w, "manual", client="shop", responsible="bob", name="retail", when=(5, 1))
    api.move_to_stage(crm, hidden.id, "next", at=at((5, 2)))
    api.win(crm, hidden.id, at=at((5, 3)))
    K, P, E = w["Контакт"], w["Предложение"], w["Исполнение"]
    # closed and visible to all: d1 won (К, П), d2 lost (К), back lost (К twice, П twice, И), retail won (К, П)
    assert stats.statistics(crm)["stage"] == {K: (2, 4), P: (2, 3), E: (0, 1)}
    bob = open_crm(user="bob")       # wholesale only: Лавка's deals are not his
    assert stats.statistics(bob)["stage"] == {K: (1, 3), P: (1, 2), E: (0, 1)}


def test_no_closed_deals_no_statistics(crm, world):
    deal = new_deal(crm, world, "manual")
    assert api.probability_breakdown(crm, deal.id)["probability"] is None


def test_mixed_currencies_are_never_added(crm, small):
    new_deal(crm, small, "flat", "10.00", name="euro", currency="EUR", when=(5, 1))
    with pytest.raises(ValidationError) as exc:
        crm.report("deals.efficiency", **YEAR)
    assert "currency" in exc.value.errors
    assert rows(crm.report("deals.efficiency", currency="EUR", **YEAR)["By status"])[0] == ("In work", 1, D("10.00"))


def test_bad_report_parameters(crm, small):
    for params, field in (({"kind": "Нет такого"}, "kind"), ({"responsible": "nobody"}, "responsible"),
                          ({"date_from": "вчера"}, "date_from"), ({"group_by": "x"}, "group_by"),
                          ({"currency": "1234"}, "currency")):
        with pytest.raises(ValidationError) as exc:
            crm.report("deals.funnel", **params)
        assert field in exc.value.errors


def test_every_report_renders_in_every_format(crm, small):
    for report in ("deals.funnel", "deals.efficiency", "deals.loss_reasons", "deals.forecast",
                   "deals.primary_demand", "deals.managers"):
        result = crm.report(report)
        for fmt in ("table", "csv", "json", "html", "xlsx"):
            assert result.render(fmt)


def test_vectorised_probabilities_round_as_the_breakdown_does():
    """stats.probabilities (the forecast's, for all deals at once) gives
    breakdown's probability for every combination, ties of the half-up
    rounding included (overall rates of 1/2, 1/3, 2/5 ...)."""
    import random
    import pandas as pd
    from crmkit_deals import stats
    rnd = random.Random(7)
    for won_all, closed_all in ((1, 2), (1, 3), (2, 5), (7, 9), (0, 4), (5, 5), (37, 120), (0, 0)):
        table = {f: {k: (w, w + rnd.randint(0, 6)) for k in range(1, 6) for w in [rnd.randint(0, 6)]}
                 for f in stats.FACTORS}
        table["overall"] = (won_all, closed_all)
        keys = pd.DataFrame([{f: rnd.choice([None, 1, 2, 3, 4, 5, 9]) for f in stats.FACTORS} for _ in range(300)])
        got = stats.probabilities(table, keys)
        for row, value in zip(keys.to_dict("records"), got):
            ids = [None if row[f] != row[f] else int(row[f]) for f in stats.FACTORS]   # NaN: no key
            expected = stats.breakdown(table, *ids)[1]
            assert value == (-1 if expected is None else expected), (won_all, closed_all, row)
