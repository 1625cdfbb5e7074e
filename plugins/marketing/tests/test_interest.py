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


def test_interest_without_a_source_and_sources_out_of_sight(crm, open_crm):
    """An interest stored without a source (an import, an old base) is
    counted under "(no source)" instead of stopping the report; a source
    partner the user may not see shows as its reference, never its name."""
    from crmkit_marketing import models as m
    seed = build_seed(crm)
    hidden_group = crm.create("core.access_group", {"name": "Закрытые"}).id
    crm.update("core.partner", seed["partners"]["Диваны и кровати (магазин)"], {"access_group": hidden_group})
    extra = crm.create("deals.deal", {"name": "Без источника", "client": seed["partners"]["Протон"],
                                      "start_date": "2015-05-05", "potential": "10", "currency": "USD"})
    m.PrimaryInterest.create(subject_type="deals.deal", subject_id=extra.id, partner=seed["partners"]["Протон"],
                             channel=seed["channels"]["Выставки"], date="2015-05-05")
    m.PrimaryInterest.create(subject_type="core.partner", subject_id=seed["partners"]["Протон"],
                             partner=seed["partners"]["Протон"], channel=seed["channels"]["Выставки"],
                             date="2015-05-05")
    result = crm.report("marketing.primary_interest", **PERIOD_2015)
    by_source = _rows(result["By source"], "primary interest source")
    assert by_source["(no source)"] == (1, 1) and by_source["Total"] == (7, 5)
    assert by_source["Диваны и кровати (магазин)"] == (1, 1)
    assert list(result["New clients by source"]["primary interest source"]) == ["(no source)"]
    assert "(без источника)" in crm.report("marketing.primary_interest", **PERIOD_2015).render("table", lang="ru")
    crm.create("core.user", {"login": "seller", "name": "Продавец", "roles": "manager"})
    seller = open_crm(user="seller")
    seen = _rows(seller.report("marketing.primary_interest", **PERIOD_2015)["By source"], "primary interest source")
    hidden = f"core.partner:{seed['partners']['Диваны и кровати (магазин)']}"
    assert hidden in seen and "Диваны и кровати (магазин)" not in seen


def test_names_reads_many_records_in_one_query(crm, open_crm):
    seed = build_seed(crm)
    events = sorted(seed["events"].items(), key=lambda kv: kv[1])
    ids = [rid for _, rid in events] + [10 ** 6, None]
    assert crm.names("marketing.event", ids) == {rid: name for name, rid in events}
    assert crm.names("marketing.event", []) == {}
    group = crm.create("core.access_group", {"name": "Закрытые"}).id
    partner = seed["partners"]["Протон"]
    crm.update("core.partner", partner, {"access_group": group})
    crm.create("core.user", {"login": "seller", "name": "Продавец", "roles": "manager"})
    assert partner not in open_crm(user="seller").names("core.partner", [partner])
    assert crm.names("core.partner", [partner]) == {partner: "Протон"}
