"""The demo base: the presentation's Первичный интерес 2015 and marketing screens."""
import pytest

YEAR = {"date_from": "2015-01-01", "date_to": "2015-12-31"}


def _rows(frame, key):
    return {row[key]: (row["number of deals"], row["number of distinct partners"])
            for row in frame.to_dict("records")}


@pytest.mark.plugins("deals", "marketing")
def test_demo_with_deals_gives_the_presentation_tables(crm, open_crm):
    crm.call_in_order("crmkit_load_demo", crm=crm)
    result = crm.report("marketing.primary_interest", **YEAR)
    assert _rows(result["By source type"], "source type") == {
        "Marketing event": (5, 4), "Client": (1, 1), "Total": (6, 5)}
    assert _rows(result["By channel"], "primary interest channel") == {
        "Выставки": (5, 4), "Сеть магазинов": (1, 1), "Total": (6, 5)}
    assert _rows(result["By source"], "primary interest source") == {
        'Выставка "Мир бытовой техники" -2015': (3, 3), "Акция: Распродажа бытовой техники": (1, 1),
        'Выставка "Электронный мир"': (1, 1), "Диваны и кровати (магазин)": (1, 1), "Total": (6, 5)}
    # Продажа телевизоров: Канал Выставки, Источник Выставка "Мир бытовой техники" -2015
    from crmkit_marketing.api import primary_interest_of
    tvs = crm.find("deals.deal", name="Продажа телевизоров")[0]
    interest = primary_interest_of(crm, tvs)
    assert interest.channel.name == "Выставки"
    assert crm.get("marketing.event", interest.source_id).name == 'Выставка "Мир бытовой техники" -2015'
    text = open_crm(lang="ru").report("marketing.primary_interest", **YEAR).render("table")
    assert "Маркетинговое мероприятие" in text and "Клиент" in text and "Итого" in text


@pytest.mark.plugins("marketing")
def test_demo_without_deals_loads(crm):
    crm.call_in_order("crmkit_load_demo", crm=crm)
    event = crm.find("marketing.event", name='Выставка "Мир бытовой техники" -2015')[0]
    assert event.responsible.login == "sokolov" and event.completed
    assert str(event.planned_start) == "2015-04-15" and str(event.planned_end) == "2015-04-19"
    assert event.client_segment.name == "Оптовые клиенты" and event.product_segment.name == "Бытовая техника"
    rows = [(p.partner.name, p.contact.name, p.role) for p in crm.find("marketing.participant", event=event.id)]
    assert rows == [("Альтаир", "Сидоров Иван Петрович", "client"), ("Сатурн", "Романов Иван Алексеевич", "client"),
                    ("Икар", "Петров Олег Семенович", "client"), ("Омега-Центр", "Савельев Иван Алексеевич", "client")]
    assert {(c.name, c.impact_type) for c in crm.find("marketing.channel")} == {
        ("Выставки", "event"), ("Сеть магазинов", "partner")}
    result = crm.report("marketing.primary_interest", **YEAR)
    assert result["New clients by source"]["number of clients"].tolist() == [1]  # Дальстрой 2's card
    template = crm.find("marketing.template", name="Оповещение при изменившемся статусе заказа")[0]
    assert template.body_text.startswith("Добрый день, #ПредставлениеПартнера#.")
    group = crm.find("marketing.mailing_group", name='Маркетинговая акция "Отмечаем юбилей"')[0]
    assert group.mode == "subscription" and group.send_email and not group.send_sms


@pytest.mark.plugins("marketing")
def test_event_is_a_subject_and_fills_its_target_list(crm):
    crm.call_in_order("crmkit_load_demo", crm=crm)
    event = crm.find("marketing.event", name="Акция: Распродажа бытовой техники")[0]
    crm.create("core.task", {"title": "Подготовить стенд", "subject": f"marketing.event:{event.id}"})
    crm.create("core.interaction", {"kind": "meeting", "date": "2015-05-01T10:00:00", "topic": "Открытие акции",
                                    "subject": f"marketing.event:{event.id}"})
    assert [t.title for t in crm.related(f"marketing.event:{event.id}", "core.task")] == ["Подготовить стенд"]
    assert crm.describe(f"marketing.event:{event.id}").endswith("Акция: Распродажа бытовой техники")
    from crmkit_marketing.events import fill_from_segment
    members = crm.count("core.segment_member", segment=event.client_segment_id, removed_at__isnull=True)
    assert members > 0 and fill_from_segment(crm, event.id) == members
    assert fill_from_segment(crm, event.id) == 0  # already there
