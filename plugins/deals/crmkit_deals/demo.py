"""The deals part of the demo base: the presentation's 2015 deals.

Moves are recorded at their 2015 moments (Moscow time) through the public
API, so the stage history, the tasks and every report come from the same
path as live work.
"""
from __future__ import annotations

import datetime as dt

from . import api

MSK = dt.timezone(dt.timedelta(hours=3))

TYPICAL = [  # stage, route point, task title template, days to do it
    ("Первичный контакт", "Отразить первичный контакт", "Отразить первичный контакт по сделке {{ deal }}", 2),
    ("Квалификация клиента", "Квалифицировать клиента", "Квалифицировать клиента по сделке {{ deal }}", 3),
    ("Формирование предложения", "Сформировать предложение", "Сформировать предложение по сделке {{ deal }}", 3),
    ("Презентация", "Провести презентацию", "Провести презентацию по сделке {{ deal }}", 3),
    ("Согласование условий", "Согласовать условия", "Согласовать условия по сделке {{ deal }}", 3),
    ("Подготовка к выполнению обязательств", "Подготовиться к выполнению обязательств",
     "Подготовиться к выполнению обязательств по сделке {{ deal }}", 3),
    ("Выполнение обязательств", "Выполнить обязательства", "Выполнить обязательства по сделке {{ deal }}", 5),
]
MANUAL = ["Первичный контакт", "Квалификация клиента", "Формирование предложения", "Выполнение обязательств"]
LOSS_REASONS = ["Проигрыш конкуренту", "Высокая цена", "Клиент отказался от покупки"]
AGREEMENTS = [  # name, client code (None: a general agreement)
    ("Оптовые продажи (предоплата)", None),
    ("Оптовое (кредит)", "00-00000012"),
    ("Видео маркет", "00-00000013"),
    ("ДС Продажи инструментов", "00-00000011"),
    ("Сетевые магазины (комиссия)", "00-00000015"),
    ("Дистрибьюторское (обувь)", "00-00000016"),
]


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=MSK)


def _kinds(crm):
    stages = {}
    for name, *_ in TYPICAL:
        stages[name] = crm.create("deals.stage", {"name": name}).id
    kinds = {}
    kinds["Типовая продажа"] = crm.create("deals.kind", {
        "name": "Типовая продажа", "process": "process",
        "comment": "Продажа по бизнес-процессу: задачи этапа ставятся ответственному"}).id
    for seq, (stage, point, task, days) in enumerate(TYPICAL, start=1):
        crm.create("deals.kind_stage", {"kind": kinds["Типовая продажа"], "stage": stages[stage], "sequence": seq,
                                        "route_point": point, "tasks": task, "task_days": days})
    kinds["Произвольная продажа"] = crm.create("deals.kind", {
        "name": "Произвольная продажа", "process": "manual", "comment": "Этапы переключаются вручную"}).id
    for seq, stage in enumerate(MANUAL, start=1):
        crm.create("deals.kind_stage", {"kind": kinds["Произвольная продажа"], "stage": stages[stage],
                                        "sequence": seq})
    for name, comment in (("Долгосрочные проекты", "Без этапов"),
                          ("Обособленный учет по сделкам", "Без этапов, обособленный учет товаров")):
        kinds[name] = crm.create("deals.kind", {"name": name, "process": "none", "comment": comment}).id
    return kinds


def load(crm):
    partner = {p.code: p.id for p in crm.find("core.partner")}
    user = {u.login: u.id for u in crm.find("core.user")}
    product = {p.code: p.id for p in crm.find("core.product")}
    contact = {c.name: c.id for c in crm.find("core.contact")}
    kinds = _kinds(crm)
    for name in LOSS_REASONS:  # the catalogue; deals name their reason when lost
        crm.create("deals.loss_reason", {"name": name})
    agreements = {name: crm.create("deals.agreement", {"name": name, "client": partner.get(code)}).id
                  for name, code in AGREEMENTS}

    def deal(name, client, responsible, kind, agreement, potential, start, end, probability=0, **extra):
        return api.create(crm, {"name": name, "client": partner[client], "responsible": user[responsible],
                                "kind": kinds[kind], "agreement": agreements[agreement], "potential": potential,
                                "currency": "USD", "probability": probability, "start_date": start[:10],
                                "end_date": end, **extra}, at=at(start))

    def demand(record, code, quantity, price):
        crm.create("deals.demand", {"deal": record.id, "product": product[code], "quantity": quantity,
                                    "price": price})

    # 1. manual stages, won
    fans = deal("Продажа вентиляторов", "00-00000012", "fedorov", "Произвольная продажа", "Оптовое (кредит)",
                "884.70", "2015-02-10T09:00:00", "2015-03-02", 70)
    demand(fans, "FAN-001", 30, "29.49")
    for stage, moment in (("Квалификация клиента", "2015-02-18T15:00:00"),
                          ("Формирование предложения", "2015-02-20T15:00:00"),
                          ("Выполнение обязательств", "2015-02-25T15:00:00")):
        api.move_to_stage(crm, fans.id, stage, at=at(moment))
    api.win(crm, fans.id, at=at("2015-03-02T15:00:00"))

    # 2. no stages, won
    vacuum = deal("Продажа пылесосов", "00-00000011", "lazurenko", "Обособленный учет по сделкам",
                  "Оптовые продажи (предоплата)", "884.70", "2015-02-16T10:00:00", "2015-02-27", 60)
    demand(vacuum, "VC-001", 10, "88.47")
    api.win(crm, vacuum.id, at=at("2015-02-27T12:00:00"))

    # 3. the process-driven "Продажа телевизоров" (00-00000003), won after all seven stages
    tvs = deal("Продажа телевизоров", "00-00000010", "fedorov", "Типовая продажа",
               "Оптовые продажи (предоплата)", "884.70", "2015-03-03T09:00:00", "2015-04-06", 80)
    demand(tvs, "TV-001", 3, "294.90")
    crm.create("deals.participant", {"deal": tvs.id, "contact": contact["Кузнецов Павел Андреевич"],
                                     "role": "закупщик"})
    for moment in ("2015-03-20T09:00:00", "2015-03-24T09:00:00", "2015-03-27T09:00:00", "2015-03-30T09:00:00",
                   "2015-04-01T09:00:00", "2015-04-03T09:00:00", "2015-04-06T09:00:00"):
        api.complete_stage(crm, tvs.id, result="выполнено", at=at(moment))
    api.win(crm, tvs.id, at=at("2015-04-06T09:00:00"))

    # 4. manual stages, lost to a competitor at the first stage
    conditioners = deal("Покупка кондиционеров", "00-00000013", "fedorov", "Произвольная продажа", "Видео маркет",
                        "707.76", "2015-04-07T10:00:00", "2015-04-07", 30)
    demand(conditioners, "AC-001", 2, "353.88")
    crm.create("deals.participant", {"deal": conditioners.id, "partner": partner["00-00000030"],
                                     "role": "конкурент"})
    api.lose(crm, conditioners.id, "Проигрыш конкуренту", at=at("2015-04-07T16:00:00"))

    # 5, 6. long-term projects without stages, in work
    deal("Продажа товаров в магазины сети \"Все для дома\"", "00-00000015", "fedorov", "Долгосрочные проекты",
         "Сетевые магазины (комиссия)", "10000", "2015-06-01T10:00:00", "2015-12-31", 50)
    deal("Продажа товаров в магазины сети Торговый дом \"Сигма\"", "00-00000016", "fedorov", "Долгосрочные проекты",
         "Дистрибьюторское (обувь)", "5000", "2015-06-15T10:00:00", "2015-12-31", 40)

    # 7. just started: the process has given Орлов the first-contact task
    something = deal("что-то продаём", "00-00000011", "orlov", "Типовая продажа", "ДС Продажи инструментов",
                     "0", "2015-10-19T17:55:57", None, 10)
    crm.create("deals.participant", {"deal": something.id, "contact": contact["Сидоров Иван Петрович"],
                                     "role": "лицо, принимающее решение"})
    Task = crm.model("core.task")
    Task.update(author=user["orlov"], created_at=at("2015-10-19T17:55:57")).where(
        (Task.subject_type == "deals.deal") & (Task.subject_id == something.id)).execute()

    # sales targets of 2015: Федоров's first quarter (won 884,70 of 2 000 by one of two deals), Лазуренко's,
    # and Федоров's fourth quarter, whose forecast is the weighted long-term projects (7 000 of 15 000)
    for login, start, amount, won in (("fedorov", "2015-01-01", "2000", 2), ("lazurenko", "2015-01-01", "1000", None),
                                      ("fedorov", "2015-10-01", "15000", None)):
        crm.create("deals.target", {"period": "quarter", "period_start": start, "responsible": user[login],
                                    "amount": amount, "currency": "USD", "won_deals": won})
    # and the sales department's second quarter: two won deals wanted, one won (the televisions)
    sales = crm.find("core.department", name="Отдел продаж")
    if sales:
        crm.create("deals.target", {"period": "quarter", "period_start": "2015-04-01", "department": sales[0].id,
                                    "won_deals": 2, "currency": "USD"})

    year = {"date_from": "2015-01-01", "date_to": "2015-12-31"}
    return [("deals.efficiency", year), ("deals.funnel", year), ("deals.loss_reasons", year),
            ("deals.managers", year), ("deals.primary_demand", year), ("deals.forecast", {}),
            ("deals.plan_actual", year)]
