"""The marketing part of the demo base, from the presentation's screens.

Channels "Выставки" (sources are events) and "Сеть магазинов" (sources are
partners); the events of the screens; the mailing group "Отмечаем юбилей"
with its notification template; and the primary interest that gives the
"Первичный интерес" report of 2015: 6 deals / 5 partners. Deals come from
the deals plugin's demo, found by name; without deals they are skipped.
"""
from __future__ import annotations

CHANNELS = [("Выставки", "event"), ("Сеть магазинов", "partner")]

# name, planned start, planned end, client segment, product segment, completed, planned cost, actual cost
EVENTS = [
    ('Выставка "Мир бытовой техники" -2015', "2015-04-15", "2015-04-19", "Оптовые клиенты", "Бытовая техника",
     True, "150000", "142500"),
    ("Акция: Распродажа бытовой техники", "2015-05-01", "2015-05-31", "Оптовые клиенты", "Бытовая техника",
     True, "50000", "48000"),
    ('Выставка "Электронный мир"', "2015-09-10", "2015-09-13", None, None, True, "120000", "126000"),
]
PARTICIPANTS = [  # event, partner code, contact person
    ('Выставка "Мир бытовой техники" -2015', "00-00000011", "Сидоров Иван Петрович"),
    ('Выставка "Мир бытовой техники" -2015', "00-00000017", "Романов Иван Алексеевич"),
    ('Выставка "Мир бытовой техники" -2015', "00-00000018", "Петров Олег Семенович"),
    ('Выставка "Мир бытовой техники" -2015', "00-00000019", "Савельев Иван Алексеевич"),
]
# deal name -> channel, source (an event name or a partner code)
DEAL_INTEREST = [
    ("Продажа телевизоров", "Выставки", ('Выставка "Мир бытовой техники" -2015')),
    ("Продажа пылесосов", "Выставки", 'Выставка "Мир бытовой техники" -2015'),
    ("Продажа вентиляторов", "Выставки", 'Выставка "Мир бытовой техники" -2015'),
    ("что-то продаём", "Выставки", "Акция: Распродажа бытовой техники"),
    ("Покупка кондиционеров", "Выставки", 'Выставка "Электронный мир"'),
    ('Продажа товаров в магазины сети "Все для дома"', "Сеть магазинов", "00-00000022"),
]
PARTNER_INTEREST = [("00-00000036", "Выставки", "Акция: Распродажа бытовой техники")]  # Дальстрой 2's card

GROUP = 'Маркетинговая акция "Отмечаем юбилей"'
ORDER_TEMPLATE = ("Добрый день, #ПредставлениеПартнера#.\n"
                  "По вашему заказу #ПредставлениеЗаказа# изменился статус. "
                  "Текущий статус заказа: #СтатусЗаказа#.\n"
                  "-----\nНоменклатура\n-----\n#ТаблицаНоменклатуры#\n\n#ДополнительнаяИнформация#\n")
JUBILEE_TEMPLATE = ("Добрый день, #ПредставлениеПартнера#.\n"
                    "Нашей компании исполняется 20 лет! Приглашаем вас на праздничную распродажу "
                    "бытовой техники со скидками до 20%.\n"
                    "Ваш менеджер: #ОсновнойМенеджер#.\n\n"
                    "Отписаться от рассылки: #СсылкаОтписки#\n")


def _by_name(crm, entity, name):
    found = crm.find(entity, name=name)
    return found[0] if found else None


def load(crm):
    users = {u.login: u.id for u in crm.find("core.user")}
    contacts = {c.name: c.id for c in crm.find("core.contact")}
    channels = {name: crm.create("marketing.channel", {"name": name, "impact_type": kind}).id
                for name, kind in CHANNELS}
    events = {}
    for name, start, end, client_seg, product_seg, completed, planned, actual in EVENTS:
        seg = {k: getattr(_by_name(crm, "core.segment", v), "id", None)
               for k, v in (("client_segment", client_seg), ("product_segment", product_seg)) if v}
        events[name] = crm.create("marketing.event", {
            "name": name, "planned_start": start, "planned_end": end, "responsible": users.get("sokolov"),
            "completed": completed, "budget_planned": planned, "budget_actual": actual, "currency": "RUB", **seg}).id
    for event, code, contact in PARTICIPANTS:
        crm.create("marketing.participant", {"event": events[event], "partner": crm.get("core.partner", code).id,
                                             "role": "client", "contact": contacts.get(contact)})

    from .interest import set_primary_interest

    def source_ref(source):
        return ("marketing.event", events[source]) if source in events else \
            ("core.partner", crm.get("core.partner", source).id)

    for code, channel, source in PARTNER_INTEREST:
        set_primary_interest(crm, ("core.partner", crm.get("core.partner", code).id), channels[channel],
                             source_ref(source))
    if "deals.deal" in crm.registry.entities:
        for deal_name, channel, source in DEAL_INTEREST:
            deal = _by_name(crm, "deals.deal", deal_name)
            if deal is not None:
                set_primary_interest(crm, ("deals.deal", deal.id), channels[channel], source_ref(source))

    group = crm.create("marketing.mailing_group", {
        "name": GROUP, "mode": "subscription", "send_email": True, "send_sms": False,
        "partner_email_label": "office", "contact_email_label": "work", "responsible": users.get("sokolov"),
        "purge_after_days": 90,
        "description": "Поздравления и приглашения к юбилею компании; рассылки согласно подпискам."}).id
    kind = crm.create("marketing.notification_kind", {
        "code": "marketing.order_status_changed", "name": "Оповещение при изменившемся статусе заказа",
        "group": group}).id
    crm.create("marketing.template", {
        "name": "Оповещение при изменившемся статусе заказа", "purpose": "notification", "kind": kind,
        "group": group, "email": True, "subject": "Статус заказа #ПредставлениеЗаказа#: #СтатусЗаказа#",
        "body_text": ORDER_TEMPLATE})
    jubilee = crm.create("marketing.template", {
        "name": "Приглашение на юбилей", "purpose": "mailing", "group": group, "email": True,
        "subject": "#ПредставлениеПартнера#, приглашаем на юбилей компании", "body_text": JUBILEE_TEMPLATE}).id
    from .consent import subscribe
    subscribe(crm, group, "email", partner=crm.get("core.partner", "00-00000035").id, method="web form")
    subscribe(crm, group, "email", contact=contacts.get("Сидоров Иван Петрович"), method="exhibition form")
    segment = _by_name(crm, "core.segment", "Оптовые клиенты")
    crm.create("marketing.mailing", {"name": "Приглашение на юбилей компании", "group": group, "template": jubilee,
                                     "audience": "subscribers" if segment is None else "segment",
                                     "segment": getattr(segment, "id", None)})
    return [("marketing.primary_interest", {"date_from": "2015-01-01", "date_to": "2015-12-31"}),
            ("marketing.event_return", {"date_from": "2015-01-01", "date_to": "2015-12-31"})]
