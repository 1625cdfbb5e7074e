"""Business rules of deals records beyond their schemas."""
from __future__ import annotations

import datetime as dt

import peewee as pw

from . import context
from . import models as m


def is_currency(code) -> bool:
    from babel.numbers import is_currency as babel_is_currency
    return isinstance(code, str) and len(code) == 3 and babel_is_currency(code)


def route(kind_id):
    """The kind's stages in order, as KindStage rows."""
    if kind_id is None:
        return []
    return list(m.KindStage.select().where(m.KindStage.kind == kind_id).order_by(m.KindStage.sequence))


def _value(data, record, name):
    if name in data:
        return data[name]
    if record is None:
        return None
    field = m.Deal._meta.fields[name]
    return getattr(record, name + "_id") if hasattr(field, "rel_model") else getattr(record, name)


def validate_deal(crm, data, record):
    errors: dict = {}
    creating = record is None
    if "currency" in data and data["currency"] is not None:
        data["currency"] = str(data["currency"]).strip().upper()
        if not is_currency(data["currency"]):
            errors["currency"] = f"{data['currency']!r} is not an ISO 4217 currency code"
    if data.get("potential") is not None and data["potential"] < 0:
        errors["potential"] = "cannot be negative"
    if creating:
        if data.get("start_date") is None:   # an empty start (unknown in a file) is today, the local day
            data["start_date"] = context.moment().astimezone(crm.zone).date()
        if data.get("responsible") is None and crm.actor.id is not None:
            data["responsible"] = crm.actor.id
    elif "start_date" in data and data["start_date"] is None:
        errors["start_date"] = "a deal keeps its start date"
    start, end = _value(data, record, "start_date"), _value(data, record, "end_date")
    if start and end and end < start:
        errors["end_date"] = "is before the start date"

    client = _value(data, record, "client")
    agreement = data.get("agreement")
    if agreement is not None:
        owner = m.Agreement.select(m.Agreement.client).where(m.Agreement.id == agreement).scalar()
        if owner is not None and owner != client:
            errors["agreement"] = "is an agreement with another client"

    if not creating and context.explicit_moment() is not None and ("stage" in data or "status" in data):
        last = m.StageHistory.select(pw.fn.MAX(m.StageHistory.entered_at)).where(
            m.StageHistory.deal == record.id).scalar()
        if last is not None and context.explicit_moment() < last:
            from crmkit import local_moment
            errors["at"] = f"is before the deal's last move ({local_moment(last, crm.zone).isoformat()})"
    kind = _value(data, record, "kind")
    if not creating and "kind" in data and data["kind"] != record.kind_id:
        errors["kind"] = "the kind of a deal cannot change once it is created"
        return errors
    _check_status(data, record, errors)
    _check_stage(data, record, kind, errors)
    return errors or None


def _check_status(data, record, errors):
    old = record.status if record is not None else None
    status = data.get("status", old or "in_work")
    reason = _value(data, record, "loss_reason")
    if status == "lost":
        if reason is None:
            errors["loss_reason"] = "a lost deal needs a loss reason"
    elif data.get("loss_reason") is not None:
        errors["loss_reason"] = "only a lost deal has a loss reason"
    elif record is not None and record.loss_reason_id is not None and status != old:
        data["loss_reason"] = None          # reopened or won: the old reason no longer holds
    if status != old:
        data["closed_at"] = context.moment() if status in ("won", "lost") else None


def _check_stage(data, record, kind, errors):
    creating = record is None
    stages = route(kind)
    kind_name = m.Kind.select(m.Kind.name).where(m.Kind.id == kind).scalar() if kind else None
    process = m.Kind.select(m.Kind.process).where(m.Kind.id == kind).scalar() if kind else None
    if not stages:
        if data.get("stage") is not None:
            errors["stage"] = (f"deals of kind {kind_name!r} have no stages" if kind_name
                               else "a deal without a kind has no stages")
        return
    ids = [s.stage_id for s in stages]
    if creating:
        if data.get("stage") is None:
            data["stage"] = ids[0]
        elif data["stage"] not in ids:
            errors["stage"] = f"is not a stage of kind {kind_name!r}"
        elif process == "process" and data["stage"] != ids[0]:
            errors["stage"] = f"a deal of the process-driven kind {kind_name!r} starts at its first stage"
        return
    if "stage" not in data or data["stage"] == record.stage_id:
        return
    new = data["stage"]
    if new is None or new not in ids:
        errors["stage"] = f"is not a stage of kind {kind_name!r}"
    elif data.get("status", record.status) != "in_work":
        errors["stage"] = "the deal is closed: reopen it before moving it"
    elif process == "process" and not context.process_move():
        errors["stage"] = (f"deals of the process-driven kind {kind_name!r} move on when the stage's "
                           f"tasks are completed (crmkit deals complete)")


def validate_kind_stage(crm, data, record):
    errors = {}
    kind = data.get("kind", record.kind_id if record else None)
    if data.get("sequence") is not None and data["sequence"] < 1:
        errors["sequence"] = "starts at 1"
    if data.get("task_days") is not None and data["task_days"] < 0:
        errors["task_days"] = "cannot be negative"
    if kind is not None and data.get("kind") is not None:
        process = m.Kind.select(m.Kind.process).where(m.Kind.id == kind).scalar()
        if process == "none":
            errors["kind"] = "this kind has no stages (process 'none')"
    if "tasks" in data and data["tasks"]:
        from crmkit import CrmError
        for line in data["tasks"].splitlines():
            if line.strip():
                try:
                    crm.check_template(line, field="tasks")
                    crm.render_template(line, {"deal": "", "client": "", "stage": "", "route_point": ""},
                                        field="tasks")
                except CrmError as exc:
                    errors["tasks"] = "; ".join(m for ms in getattr(exc, "errors", {}).values()
                                                for m in (ms if isinstance(ms, list) else [ms])) or str(exc)
    if record is None and data.get("sequence") is None and kind is not None:
        last = m.KindStage.select(m.KindStage.sequence).where(m.KindStage.kind == kind) \
            .order_by(m.KindStage.sequence.desc()).scalar()
        data["sequence"] = (last or 0) + 1
    return errors or None


def validate_participant(data, record):
    partner = data.get("partner", record.partner_id if record else None)
    contact = data.get("contact", record.contact_id if record else None)
    if partner is None and contact is None:
        return {"partner": "give a partner or a contact person"}
    return None


def validate_demand(data, record):
    errors = {}
    quantity = data.get("quantity", record.quantity if record else 1)
    price = data.get("price", record.price if record else 0)
    if quantity is not None and quantity <= 0:
        errors["quantity"] = "must be positive"
    if price is not None and price < 0:
        errors["price"] = "cannot be negative"
    if not errors and quantity is not None and price is not None \
            and ("quantity" in data or "price" in data or record is None):
        from decimal import ROUND_HALF_UP, Decimal
        price = Decimal(price).quantize(Decimal("0.01"), ROUND_HALF_UP)   # as it will be stored
        if "price" in data:
            data["price"] = price
        data["amount"] = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return errors or None


def validate_target(crm, data, record):
    """A target starts on the first day of its month or quarter, aims at an
    amount or a number of won deals (or both), in a known currency, and is
    the only one of its period and scope."""
    from crmkit import value_after_write
    errors: dict = {}
    if data.get("currency") is not None:
        data["currency"] = str(data["currency"]).strip().upper()
        if not is_currency(data["currency"]):
            errors["currency"] = f"{data['currency']!r} is not an ISO 4217 currency code"
    period, start = value_after_write(data, record, "period") or "month", value_after_write(data, record, "period_start")
    if start is not None and (start.day != 1 or (period == "quarter" and start.month % 3 != 1)):
        errors["period_start"] = (f"{start.isoformat()} does not start a {period}: give the first day of "
                                  + ("the month" if period == "month" else "a quarter (1 January, April, July, October)"))
    if value_after_write(data, record, "amount") is None and value_after_write(data, record, "won_deals") is None:
        errors["amount"] = "give the target amount, the number of won deals (won_deals), or both"
    if not errors and start is not None:
        keys = {name: _value_id(data, record, name) for name in ("responsible", "department", "kind")}
        T = m.Target
        q = T.select(T.id).where((T.period == period) & (T.period_start == start))
        for name, value in keys.items():
            q = q.where(getattr(T, name).is_null() if value is None else (getattr(T, name) == value))
        if record is not None:
            q = q.where(T.id != record.id)
        if q.exists():
            errors["period_start"] = f"a target of this {period} for the same manager, department and kind exists"
    return errors or None


def _value_id(data, record, name):
    if name in data:
        return data[name]
    return getattr(record, name + "_id") if record is not None else None


def validate_record(crm, entity, data, record):
    if entity == "deals.target":
        return validate_target(crm, data, record)
    if entity == "deals.deal":
        return validate_deal(crm, data, record)
    if entity == "deals.kind_stage":
        return validate_kind_stage(crm, data, record)
    if entity == "deals.participant":
        return validate_participant(data, record)
    if entity == "deals.demand":
        return validate_demand(data, record)
    if entity == "deals.stage_history":
        return {"stage_history": "the stage history is written by deal moves only"}
    if entity == "deals.kind" and record is not None and "process" in data and data["process"] != record.process:
        used = m.Deal.select().where(m.Deal.kind == record.id).exists()
        if used:
            return {"process": "deals of this kind exist: its process cannot change"}
    return None


def days_between(later: dt.datetime, earlier: dt.datetime):
    from decimal import ROUND_HALF_UP, Decimal
    return (Decimal((later - earlier).total_seconds()) / Decimal(86400)).quantize(Decimal("0.01"), ROUND_HALF_UP)
