"""A small hand-made world for deals tests: two partners in different
access groups, two managers, one kind of each process type."""
import datetime as dt
from decimal import Decimal

import pytest

UTC = dt.timezone.utc


def at(day, hour=9):
    return dt.datetime(2015, *day, hour, 0, tzinfo=UTC)


@pytest.fixture
def world(crm):
    ids = {}
    ids["wholesale"] = crm.create("core.access_group", {"name": "Опт"}).id
    ids["retail"] = crm.create("core.access_group", {"name": "Розница"}).id
    ids["ann"] = crm.create("core.user", {"login": "ann", "name": "Анна", "roles": "manager"}).id
    ids["bob"] = crm.create("core.user", {"login": "bob", "name": "Борис", "roles": "manager"}).id
    crm.create("core.user_access", {"user": ids["ann"], "access_group": ids["wholesale"]})
    crm.create("core.user_access", {"user": ids["ann"], "access_group": ids["retail"]})
    crm.create("core.user_access", {"user": ids["bob"], "access_group": ids["wholesale"]})
    ids["acme"] = crm.create("core.partner", {"name": "Акме", "access_group": ids["wholesale"]}).id
    ids["shop"] = crm.create("core.partner", {"name": "Лавка", "access_group": ids["retail"]}).id
    ids["tv"] = crm.create("core.product", {"code": "TV", "name": "Телевизор"}).id
    ids["fan"] = crm.create("core.product", {"code": "FAN", "name": "Вентилятор"}).id
    ids["competitor"] = crm.create("deals.loss_reason", {"name": "Проигрыш конкуренту"}).id
    ids["price"] = crm.create("deals.loss_reason", {"name": "Высокая цена"}).id
    for name in ("Контакт", "Предложение", "Исполнение", "Чужой этап"):
        ids[name] = crm.create("deals.stage", {"name": name}).id
    ids["process"] = crm.create("deals.kind", {"name": "Процесс", "process": "process"}).id
    for seq, (name, point, days) in enumerate((("Контакт", "Связаться", 2), ("Предложение", "Предложить", 3),
                                               ("Исполнение", "Исполнить", 5)), start=1):
        crm.create("deals.kind_stage", {"kind": ids["process"], "stage": ids[name], "sequence": seq,
                                        "route_point": point, "task_days": days,
                                        "tasks": f"{point} по сделке {{{{ deal }}}}" if seq != 2 else
                                        "Подготовить КП для {{ client }}\nСогласовать КП по сделке {{ deal }}"})
    ids["manual"] = crm.create("deals.kind", {"name": "Вручную", "process": "manual"}).id
    for name in ("Контакт", "Предложение", "Исполнение"):
        crm.create("deals.kind_stage", {"kind": ids["manual"], "stage": ids[name]})
    ids["other"] = crm.create("deals.kind", {"name": "Другой", "process": "manual"}).id
    crm.create("deals.kind_stage", {"kind": ids["other"], "stage": ids["Чужой этап"]})
    ids["flat"] = crm.create("deals.kind", {"name": "Без этапов", "process": "none"}).id
    return ids


def new_deal(crm, ids, kind, potential="100.00", client="acme", responsible="ann", when=(3, 1), **extra):
    from crmkit_deals import api
    return api.create(crm, {"name": extra.pop("name", f"Сделка {kind}"), "client": ids[client],
                            "responsible": ids[responsible], "kind": ids[kind], "potential": Decimal(potential),
                            "currency": "USD", "start_date": dt.date(2015, *when), **extra}, at=at(when))
