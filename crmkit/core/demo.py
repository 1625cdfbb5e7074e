"""The core part of the demo base, from the 1C presentation's screens."""
from __future__ import annotations

import datetime as dt

MSK = dt.timezone(dt.timedelta(hours=3))
ZONE = "Europe/Moscow"     # the demo is a Moscow company: its users' zone, and the zone it is loaded and shown in

USERS = [  # login, name, department, roles
    ("orlov", "Орлов Александр Владимирович", "Отдел продаж", "manager,marketer"),
    ("fedorov", "Федоров Борис Михайлович", "Отдел продаж", "manager"),
    ("lazurenko", "Лазуренко Илья Николаевич", "Отдел продаж", "manager"),
    ("volkov", "Волков Андрей Иванович", "Отдел по работе с претензиями", "claims_officer"),
    ("sokolov", "Соколов Михаил Васильевич", "Отдел маркетинга", "marketer"),
    ("petrov_s", "Петров Станислав Игоревич", "Отдел закупок торгового направления", "readonly"),
    ("analyst", "Аналитик Мария Сергеевна", "Отдел маркетинга", "analyst"),
]
GROUPS = ["Оптовые покупатели", "Розничные покупатели", "Сетевые магазины"]
REGIONS = [("MSK", "Москва"), ("SPB", "Санкт-Петербург"), ("DV", "Дальний Восток"), ("RS", "Сербия")]

# code, name, kind, head, manager, region, group, registered, flags
PARTNERS = [
    ("00-00000001", "Электромаркет", "company", None, "orlov", "MSK", "Сетевые магазины", "2015-06-10", "client"),
    ("00-00000002", "Электромаркет на Тверской", "company", "00-00000001", "orlov", "MSK", "Сетевые магазины", "2015-06-10", "client"),
    ("00-00000003", "Электромаркет на Невском", "company", "00-00000001", "orlov", "SPB", "Сетевые магазины", "2015-06-11", "client"),
    ("00-00000010", "Протон", "company", None, "fedorov", "MSK", "Оптовые покупатели", "2015-01-15", "client"),
    ("00-00000011", "Альтаир", "company", None, "lazurenko", "MSK", "Оптовые покупатели", "2015-01-20", "client"),
    ("00-00000012", "Ассоль", "company", None, "fedorov", "SPB", "Оптовые покупатели", "2015-02-01", "client"),
    ("00-00000013", "Видео маркет", "company", None, "fedorov", "MSK", "Оптовые покупатели", "2015-02-10", "client"),
    ("00-00000014", "Все для дома", "company", None, "fedorov", "MSK", "Сетевые магазины", "2015-02-12", "client"),
    ("00-00000015", "Все для дома Магазин", "company", "00-00000014", "fedorov", "MSK", "Сетевые магазины", "2015-02-12", "client"),
    ("00-00000016", "Торговый дом \"Сигма\"", "company", None, "fedorov", "SPB", "Оптовые покупатели", "2015-02-20", "client"),
    ("00-00000017", "Сатурн", "company", None, "sokolov", "MSK", "Оптовые покупатели", "2015-03-01", "client"),
    ("00-00000018", "Икар", "company", None, "sokolov", "MSK", "Оптовые покупатели", "2015-03-01", "client"),
    ("00-00000019", "Омега-Центр", "company", None, "sokolov", "MSK", "Оптовые покупатели", "2015-03-02", "client"),
    ("00-00000020", "Алхимов А.А.", "individual", None, "volkov", "MSK", "Розничные покупатели", "2015-04-01", "client"),
    ("00-00000021", "Kikinda (Сербия)", "company", None, "orlov", "RS", "Оптовые покупатели", "2015-10-19", "client"),
    ("00-00000022", "Диваны и кровати (магазин)", "company", None, "orlov", "MSK", "Сетевые магазины", "2015-03-01", "client"),
    ("00-00000030", "Мир техники", "company", None, None, "MSK", None, "2015-01-01", "competitor"),
    ("00-00000035", "Дальстрой", "company", None, "orlov", "DV", "Оптовые покупатели", "2015-10-20", "client"),
    ("00-00000036", "Дальстрой 2", "company", "00-00000035", "orlov", "DV", "Оптовые покупатели", "2015-10-21", "client"),
]
CONTACTS = [  # partner code, name, position
    ("00-00000011", "Сидоров Иван Петрович", "директор"),
    ("00-00000017", "Романов Иван Алексеевич", "закупщик"),
    ("00-00000018", "Петров Олег Семенович", "директор"),
    ("00-00000019", "Савельев Иван Алексеевич", "менеджер"),
    ("00-00000035", "Смирнов Олег Иванович", "коммерческий директор"),
    ("00-00000010", "Кузнецов Павел Андреевич", "закупщик"),
]
CONTACT_INFO = [  # partner code or contact name, kind, label, value
    ("00-00000035", "phone", "office", "+7 (423) 240-11-22"),
    ("00-00000035", "email", "office", "info@dalstroy.example"),
    ("00-00000035", "address", "legal address", "690091, Владивосток, ул. Светланская, 1"),
    ("00-00000001", "web", "site", "electromarket.example"),
    ("Смирнов Олег Иванович", "phone", "mobile", "8 914 700-12-34"),
    ("Смирнов Олег Иванович", "email", "work", "smirnov@dalstroy.example"),
    ("Сидоров Иван Петрович", "email", "work", "sidorov@altair.example"),
]


def _at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=MSK)


def load(crm):
    crm.zone = ZONE    # days the demo derives (a deal's start date) are Moscow days, as its book shows them
    groups = {name: crm.create("core.access_group", {"name": name}).id for name in GROUPS}
    departments = {}
    users = {}
    for login, name, dept, roles in USERS:
        if dept not in departments:
            departments[dept] = crm.create("core.department", {"name": dept}).id
        users[login] = crm.create("core.user", {"login": login, "name": name, "department": departments[dept],
                                                "roles": roles, "email": f"{login}@crmkit.example",
                                                "time_zone": ZONE}).id
    for login, group in (("orlov", "Оптовые покупатели"), ("orlov", "Сетевые магазины"),
                         ("fedorov", "Оптовые покупатели"), ("fedorov", "Сетевые магазины"),
                         ("lazurenko", "Оптовые покупатели"), ("volkov", "Розничные покупатели"),
                         ("volkov", "Оптовые покупатели"), ("sokolov", "Оптовые покупатели"),
                         ("sokolov", "Сетевые магазины"), ("sokolov", "Розничные покупатели")):
        crm.create("core.user_access", {"user": users[login], "access_group": groups[group]})
    regions = {code: crm.create("core.region", {"code": code, "name": name}).id for code, name in REGIONS}
    partners = {}
    for code, name, kind, head, manager, region, group, registered, flag in PARTNERS:
        partners[code] = crm.create("core.partner", {
            "code": code, "name": name, "public_name": name, "kind": kind,
            "head": partners.get(head), "manager": users.get(manager), "region": regions[region],
            "access_group": groups.get(group), "registered_on": registered,
            "is_client": flag == "client", "is_competitor": flag == "competitor",
            "gender": "male" if kind == "individual" else None}).id
    contacts = {}
    for code, name, position in CONTACTS:
        contacts[name] = crm.create("core.contact", {"partner": partners[code], "name": name, "position": position}).id
    for owner, kind, label, value in CONTACT_INFO:
        key = {"partner": partners[owner]} if owner in partners else {"contact": contacts[owner]}
        crm.create("core.contact_info", {**key, "kind": kind, "label": label, "value": value})
    groups_p = {"Бытовая техника": None, "Инструменты": None}
    for name in groups_p:
        groups_p[name] = crm.create("core.product_group", {"name": name}).id
    for code, name, group in (("TV-001", "Телевизор LED 42\"", "Бытовая техника"),
                              ("VC-001", "Пылесос моющий", "Бытовая техника"),
                              ("FAN-001", "Вентилятор напольный", "Бытовая техника"),
                              ("AC-001", "Кондиционер сплит-система", "Бытовая техника"),
                              ("DR-001", "Дрель ударная", "Инструменты")):
        crm.create("core.product", {"code": code, "name": name, "group": groups_p[group]})
    crm.create("core.interaction", {
        "kind": "call", "direction": "incoming", "date": _at("2015-10-21T00:00:00"),
        "partner": partners["00-00000035"], "contact": contacts["Смирнов Олег Иванович"],
        "responsible": users["orlov"], "how": "by phone", "topic": "Интерес к бизнес-форуму",
        "text": "Клиент спрашивал о программе форума и условиях участия."})
    crm.create("core.interaction", {
        "kind": "meeting", "date": _at("2015-10-22T11:00:00"), "duration": 60,
        "partner": partners["00-00000036"], "responsible": users["orlov"],
        "topic": "Знакомство с филиалом Дальстрой 2", "text": "Обсудили поставки в новый филиал."})
    crm.create("core.interaction", {
        "kind": "email", "direction": "outgoing", "date": _at("2015-10-23T09:30:00"),
        "partner": partners["00-00000001"], "responsible": users["orlov"],
        "topic": "Прайс-лист на ноябрь", "text": "Направляем прайс-лист."})
    for number, created, title, due, priority in (
            ("00-00000001", "2015-10-20T14:20:37", "Проверить демо-базу", "2015-10-22T23:59:59", "low"),
            ("00-00000002", "2015-10-20T14:23:04", "Узнать, что с клиентом Kikinda (Сербия)", "2015-10-21T23:59:59", "normal"),
            ("00-00000003", "2015-10-20T14:23:45", "Удалить запись Kikinda (Сербия)", "2015-10-22T23:59:59", "high")):
        task = crm.create("core.task", {"number": number, "title": title, "author": users["orlov"],
                                        "performer": users["orlov"], "due": _at(due), "priority": priority,
                                        **({"subject": ("core.partner", partners["00-00000021"])}
                                           if "Kikinda" in title else {})})
        crm.model("core.task").update(created_at=_at(created)).where(crm.model("core.task").id == task.id).execute()
    crm.create("core.note", {"title": "разное", "author": users["orlov"], "colour": "yellow"})
    crm.create("core.note", {"title": "Антивирус?", "author": users["orlov"], "text": "Проверить антивирус на ноутбуке."})
    crm.create("core.reminder", {"user": users["orlov"], "remind_at": _at("2015-10-20T15:30:35"),
                                 "event_at": _at("2015-10-20T15:30:35"), "description": "Позвонить на ЛК"})
    crm.create("core.segment", {"name": "Оптовые клиенты", "kind": "partner", "method": "rule",
                                "rule": '{"all": [{"field": "is_client", "op": "eq", "value": true}, '
                                        f'{{"field": "access_group", "op": "eq", "value": {groups["Оптовые покупатели"]}}}]}}'})
    crm.create("core.segment", {"name": "Бытовая техника", "kind": "product", "method": "rule",
                                "rule": f'{{"all": [{{"field": "group", "op": "eq", "value": {groups_p["Бытовая техника"]}}}]}}'})
    from .segments import compute
    for seg in crm.find("core.segment"):
        compute(crm, seg.id)
    return ["core.tasks", ("core.interactions", {}), "core.partners_by_region"]
