"""Primary interest: the seed's report figures, source validation, access."""
import decimal

import pytest

from crmkit import ValidationError

from conftest import PERIOD_2015, build_seed

pytestmark = pytest.mark.plugins("marketing", "deals")


def _rows(frame, key):
    return {row[key]: (row["number of deals"], row["number of distinct partners"])
            for row in frame.to_dict("records")}


def test_primary_interest_report_reproduces_the_presentation(crm):
    build_seed(crm)
    result = crm.report("marketing.primary_interest", **PERIOD_2015)
    assert _rows(result["By source type"], "source type") == {
        "Marketing event": (5, 4), "Client": (1, 1), "Total": (6, 5)}
    assert list(result["By source type"]["source type"]) == ["Marketing event", "Client", "Total"]
    assert _rows(result["By channel"], "primary interest channel") == {
        "Выставки": (5, 4), "Сеть магазинов": (1, 1), "Total": (6, 5)}
    by_source = result["By source"]
    assert _rows(by_source, "primary interest source") == {
        "Мир бытовой техники": (3, 3), "Акция: Распродажа бытовой техники": (1, 1),
        'Выставка "Электронный мир"': (1, 1), "Диваны и кровати (магазин)": (1, 1), "Total": (6, 5)}
    assert list(by_source["primary interest source"])[0] == "Мир бытовой техники"
    won = {r["primary interest source"]: (r["won deals"], r["won potential"]) for r in by_source.to_dict("records")}
    assert won["Мир бытовой техники"] == (3, decimal.Decimal("2654.10"))
    assert won['Выставка "Электронный мир"'] == (0, decimal.Decimal("0.00"))
    assert won["Total"] == (3, decimal.Decimal("2654.10"))
    assert set(by_source["currency"]) == {"USD"}


def test_report_in_russian(crm):
    build_seed(crm)
    text = crm.report("marketing.primary_interest", **PERIOD_2015).render("table", lang="ru")
    assert "Первичный интерес" in text and "По каналам первичного интереса" in text
    assert "Количество различных партнеров" in text


def test_period_and_deletion_mark(crm):
    seed = build_seed(crm)
    everything = crm.report("marketing.primary_interest")
    assert _rows(everything["By channel"], "primary interest channel")["Total"] == (7, 5)
    crm.mark_deleted("deals.deal", seed["deals"]["Продажа телевизоров"])
    result = crm.report("marketing.primary_interest", **PERIOD_2015)
    assert _rows(result["By channel"], "primary interest channel")["Выставки"] == (4, 3)  # Протон had only that deal


def test_source_of_wrong_type_rejected(crm):
    seed = build_seed(crm)
    deal = seed["deals"]["Продажа в магазины Сигма"]
    with pytest.raises(ValidationError) as err:
        crm.create("marketing.primary_interest", {"subject": f"deals.deal:{deal}",
                                                  "channel": seed["channels"]["Выставки"],
                                                  "source": f"core.partner:{seed['partners']['Протон']}"})
    assert "source" in err.value.errors and "marketing.event" in err.value.errors["source"][0]
    with pytest.raises(ValidationError) as err:  # a partner channel does not take events
        crm.create("marketing.primary_interest", {"subject": f"deals.deal:{deal}",
                                                  "channel": seed["channels"]["Сеть магазинов"],
                                                  "source": f"marketing.event:{seed['events']['Мир бытовой техники']}"})
    assert "source" in err.value.errors
    with pytest.raises(ValidationError) as err:  # a source that does not exist
        crm.create("marketing.primary_interest", {"subject": f"deals.deal:{deal}",
                                                  "channel": seed["channels"]["Выставки"],
                                                  "source": "marketing.event:999"})
    assert "source" in err.value.errors
    with pytest.raises(ValidationError) as err:  # only partners and deals have a primary interest
        crm.create("marketing.primary_interest", {"subject": f"marketing.event:{seed['events']['Мир бытовой техники']}",
                                                  "channel": seed["channels"]["Выставки"],
                                                  "source": f"marketing.event:{seed['events']['Мир бытовой техники']}"})
    assert "subject" in err.value.errors
    assert crm.count("marketing.primary_interest", subject_id=deal, subject_type="deals.deal") == 0
    individual = crm.create("marketing.channel", {"name": "Рекомендация", "impact_type": "individual"})
    with pytest.raises(ValidationError) as err:  # a company is not an individual
        crm.create("marketing.primary_interest", {"subject": f"deals.deal:{deal}", "channel": individual.id,
                                                  "source": f"core.partner:{seed['partners']['Протон']}"})
    assert "individual" in err.value.errors["source"][0]


def test_set_primary_interest_updates_and_follows_the_client(crm):
    from crmkit_marketing.api import primary_interest_of, set_primary_interest
    seed = build_seed(crm)
    deal = seed["deals"]["Продажа в магазины Сигма"]
    first = set_primary_interest(crm, f"deals.deal:{deal}", "Выставки",
                                 f"marketing.event:{seed['events']['Мир бытовой техники']}")
    again = set_primary_interest(crm, f"deals.deal:{deal}", "Сеть магазинов",
                                 f"core.partner:{seed['partners']['Протон']}")
    assert first.id == again.id and again.partner_id == seed["partners"]["Торговый дом Сигма"]
    crm.update("deals.deal", deal, {"client": seed["partners"]["Ассоль"]})
    assert primary_interest_of(crm, ("deals.deal", deal)).partner_id == seed["partners"]["Ассоль"]
    with pytest.raises(ValidationError) as err:  # one primary interest per subject
        crm.create("marketing.primary_interest", {"subject": f"deals.deal:{deal}",
                                                  "channel": seed["channels"]["Выставки"],
                                                  "source": f"marketing.event:{seed['events']['Мир бытовой техники']}"})
    assert "subject" in err.value.errors


def test_user_without_access_sees_nothing(crm, open_crm):
    build_seed(crm, access_group="Оптовые покупатели")
    crm.create("core.user", {"login": "outsider", "name": "Посторонний", "roles": "marketer"})
    outsider = open_crm(user="outsider")
    result = outsider.report("marketing.primary_interest", **PERIOD_2015)
    assert _rows(result["By channel"], "primary interest channel") == {"Total": (0, 0)}
    assert outsider.find("marketing.primary_interest") == []
    assert len(crm.find("marketing.primary_interest")) == 7


def test_event_return(crm):
    seed = build_seed(crm)
    frame = crm.report("marketing.event_return", **PERIOD_2015).frame
    row = frame[frame["event"] == "Мир бытовой техники"].iloc[0]
    # the 2016 deal counts too: the event brought it, whenever it was opened
    assert (row["deals"], row["won deals"]) == (4, 3)
    assert row["won potential"] == decimal.Decimal("2654.10")
    assert row["cost per won deal"] == decimal.Decimal("30000.00")
    other = frame[frame["event"] == 'Выставка "Электронный мир"'].iloc[0]
    assert (other["deals"], other["won deals"]) == (1, 0) and other["cost per won deal"] is None
    assert seed["events"]
