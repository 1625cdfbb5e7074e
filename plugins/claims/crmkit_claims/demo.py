"""The claims part of the demo base: the presentation's eleven claims.

The claim list screen gives each claim's registration date, end date, status
and name (times cut off by the column width are completed here); the claim
form gives Алхимов А.А.'s claim in full. Causes, culprits, plans and
compensations of the other claims are this demo's own, spread over the
demo partners a claims officer (Волков) may see."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

MSK = dt.timezone(dt.timedelta(hours=3))

CAUSES = ["Испорченный товар", "Брак производителя", "Срыв сроков поставки", "Некачественное обслуживание"]
EXTRA_DEPARTMENTS = ["Склад", "Служба доставки"]
SERVICE, QUALITY, DELAY = ("Претензии по обслуживанию", "Претензия по качеству товара", "Срыв сроков поставки")
PURCHASING = "Отдел закупок торгового направления"

# In the presentation's order (name, then number). Fields: name, client code,
# contact, registered, planned end, actual end, status, cause, responsible,
# guilty department, guilty employee, compensation (RUB), description.
CLAIMS = [
    (SERVICE, "00-00000010", "Кузнецов Павел Андреевич", "2015-04-06 00:00:00", "2015-04-20 18:00:00",
     "2015-05-06 12:00:00", "satisfied", "Некачественное обслуживание", "orlov", "Отдел продаж", "fedorov",
     "5000", "Менеджер не перезвонил клиенту в обещанный срок."),
    (SERVICE, "00-00000011", "Сидоров Иван Петрович", "2015-04-03 12:18:00", "2015-04-13 18:00:00",
     "2015-04-30 12:18:00", "satisfied", "Некачественное обслуживание", "orlov", "Отдел продаж", "lazurenko",
     "2500", "Неверно оформлены документы на отгрузку."),
    (QUALITY, "00-00000020", None, "2015-05-04 00:00:00", "2015-05-14 18:00:00",
     "2015-05-12 18:00:09", "not_satisfied", "Испорченный товар", "volkov", PURCHASING, "petrov_s",
     "0", "Претензия от клиента по качеству товара."),
    (QUALITY, "00-00000012", None, "2015-04-11 12:31:00", "2015-04-21 18:00:00",
     "2015-04-14 12:31:00", "satisfied", "Испорченный товар", "volkov", "Склад", None,
     "12000", "Товар поврежден при хранении на складе."),
    (QUALITY, "00-00000013", None, "2015-04-02 18:04:00", "2015-04-12 18:00:00",
     "2015-04-12 18:04:00", "not_satisfied", "Брак производителя", "volkov", PURCHASING, "petrov_s",
     "0", "Заводской брак партии пылесосов."),
    (QUALITY, "00-00000017", "Романов Иван Алексеевич", "2015-05-12 18:05:00", "2015-05-22 18:00:00",
     None, "registered", "Брак производителя", "volkov", None, None,
     "0", "Не включается телевизор из последней поставки."),
    (QUALITY, "00-00000018", "Петров Олег Семенович", "2015-05-01 00:00:00", "2015-05-11 18:00:00",
     "2015-05-10 00:00:00", "satisfied", "Испорченный товар", "volkov", "Склад", None,
     "8990.50", "Вентиляторы пришли с разбитыми корпусами."),
    (QUALITY, "00-00000019", "Савельев Иван Алексеевич", "2015-04-02 08:11:01", "2015-04-12 18:00:00",
     "2015-04-12 14:11:01", "satisfied", "Брак производителя", "volkov", PURCHASING, "petrov_s",
     "15000", "Кондиционеры не держат заданную температуру."),
    (QUALITY, "00-00000016", None, "2015-05-02 18:11:00", "2015-05-12 18:00:00",
     "2015-05-12 18:11:00", "not_satisfied", "Испорченный товар", "volkov", PURCHASING, "petrov_s",
     "0", "Дрели с признаками коррозии."),
    (DELAY, "00-00000010", None, "2015-05-02 18:02:00", "2015-05-08 18:00:00",
     "2015-05-05 12:02:00", "satisfied", "Срыв сроков поставки", "volkov", "Служба доставки", None,
     "3000", "Поставка задержана на три дня."),
    (DELAY, "00-00000011", "Сидоров Иван Петрович", "2015-03-10 18:07:00", "2015-03-20 18:00:00",
     "2015-03-20 12:07:00", "satisfied", "Срыв сроков поставки", "volkov", "Служба доставки", None,
     "7000", "Поставка к открытию магазина сорвана."),
]
DECISIONS = {"satisfied": "Компенсировать клиенту ущерб.", "not_satisfied": "Претензия признана необоснованной."}
PLAN = ["Проверка обоснованности претензии", "Подготовка ответа клиенту"]


def _at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=MSK) if text else None


def load(crm):
    """Catalogues as the system user; the claims themselves as Волков, the
    claims officer, so that his access and the status history are real."""
    from . import models as m
    causes = {name: crm.create("claims.cause", {"name": name}).id for name in CAUSES}
    for name in EXTRA_DEPARTMENTS:
        crm.create("core.department", {"name": name})
    departments = {d.name: d.id for d in crm.find("core.department")}
    users = {u.login: u.id for u in crm.find("core.user")}
    partners = {p.code: p.id for p in crm.find("core.partner")}
    contacts = {c.name: c.id for c in crm.find("core.contact")}
    officer = crm.as_user("volkov")
    for (name, client, contact, registered, planned, ended, status, cause, responsible, department,
         employee, compensation, description) in CLAIMS:
        claim = officer.create("claims.claim", {
            "name": name, "client": partners[client], "contact": contacts.get(contact),
            "description": description, "cause": causes[cause], "responsible": users[responsible],
            "guilty_department": departments.get(department), "guilty_employee": users.get(employee),
            "registered_at": _at(registered), "planned_end": _at(planned)})
        if status == "registered":
            officer.create("claims.stage", {"claim": claim.id, "title": "Экспертиза товара",
                                            "due": _at(planned) - dt.timedelta(days=3)})
            from .api import create_task
            stage = create_task(officer, m.Stage.get(m.Stage.claim == claim.id))
            task = crm.model("core.task")       # given on the day the claim was registered, not the demo's
            task.update(created_at=_at(registered)).where(task.id == stage.task_id).execute()
            continue
        officer.update("claims.claim", claim.id, {"status": "in_work"})
        start, end = _at(registered), _at(ended)
        for i, title in enumerate(PLAN, 1):
            stage = officer.create("claims.stage", {"claim": claim.id, "title": title,
                                                    "due": start + (end - start) * i / len(PLAN)})
            officer.update("claims.stage", stage.id, {"done": True, "result": "Выполнено"})
            m.Stage.update(done_at=start + (end - start) * i / len(PLAN)).where(m.Stage.id == stage.id).execute()
        officer.update("claims.claim", claim.id, {
            "status": status, "actual_end": end, "decision": DECISIONS[status],
            "compensation": Decimal(compensation), "currency": "RUB"})
        # the history was written now; date it as the presentation's claim went
        times = [start, start + dt.timedelta(hours=1), end]
        for change, at in zip(m.StatusChange.select().where(m.StatusChange.claim == claim.id)
                              .order_by(m.StatusChange.id), times):
            m.StatusChange.update(at=at).where(m.StatusChange.id == change.id).execute()
    first = m.StatusChange.select().where(m.StatusChange.new_status == "registered")
    for change in first:
        m.StatusChange.update(at=change.claim.registered_at).where(m.StatusChange.id == change.id).execute()
    if "marketing" in [p.name for p in crm.plugins]:
        # set up after the history is loaded: 2015's status changes notify no client today
        from .notify import ensure_notification_kind
        ensure_notification_kind(crm)
    return ["claims.register", "claims.by_cause", ("claims.resolution", {"at": "2015-06-01T00:00:00+03:00"})]
