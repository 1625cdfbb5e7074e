"""The deals plugin's public API, used by its CLI and by other plugins.

Every function acts as ``crm``'s user and writes through ``crm.update`` /
``crm.create``, so validation, access and events apply as for any write.
``at`` records a move made at a past moment (administrators only: it is for
loading history, not for back-dating work).
"""
from __future__ import annotations

from crmkit import AccessDenied, NotFound, ValidationError

from . import context, lifecycle, stats
from . import models as m
from .rules import route

__all__ = ["get_deal", "resolve", "move_to_stage", "complete_stage", "win", "lose", "reopen",
           "route_map", "stage_history", "probability_breakdown", "refresh_probability",
           "fill_potential", "open_stage_tasks"]


def get_deal(crm, key):
    """A visible deal by id or code."""
    return crm.get("deals.deal", key)


def resolve(crm, entity, key, field=None):
    """Id of a visible record given by id, lookup or exact name; a
    ValidationError naming ``field`` when there is none."""
    if key is None or key == "":
        return None
    if hasattr(key, "get_id"):
        return key.get_id()
    try:
        return crm.get(entity, key).get_id()
    except NotFound:
        model = crm.model(entity)
        if "name" in model._meta.fields:
            found = crm.find(entity, name=str(key), limit=2)
            if len(found) == 1:
                return found[0].get_id()
        raise ValidationError({field or entity.split(".")[1]: f"{key!r} not found"}, entity) from None


def _at(crm, at):
    if at is not None and not crm.actor.is_admin:
        raise AccessDenied("only an administrator may record a move at a past moment")
    import datetime as dt
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    if isinstance(at, dt.datetime) and at.tzinfo is None:     # a local time of the user's zone
        at = at.replace(tzinfo=crm.zone)
    return at


def create(crm, data, at=None):
    """Create a deal (``at``: when it started, for loading history)."""
    with context.acting(at=_at(crm, at)):
        return crm.create("deals.deal", data)


def move_to_stage(crm, deal, stage, at=None):
    """Move a deal of a manual kind to ``stage`` (id, name, or "next" /
    "previous"), forward or backward."""
    with crm.transaction():
        # "next" and "previous" count from the stage the deal is in under its write lock
        return _move(crm, crm.get("deals.deal", deal, for_update=True), stage, at)


def _move(crm, deal, stage, at):
    stages = route(deal.kind_id)
    if not stages:
        raise ValidationError({"stage": "this deal's kind has no stages"}, "deals.deal")
    ids = [s.stage_id for s in stages]
    if stage in ("next", "previous"):
        pos = ids.index(deal.stage_id) if deal.stage_id in ids else -1
        pos += 1 if stage == "next" else -1
        if pos >= len(ids):
            raise ValidationError({"stage": "the deal is at the last stage of its kind: win or lose it"},
                                  "deals.deal")
        if pos < 0:
            raise ValidationError({"stage": "the deal is at the first stage of its kind"}, "deals.deal")
        target = ids[pos]
    else:
        target = resolve(crm, "deals.stage", stage, "stage")
    with context.acting(at=_at(crm, at)):
        return crm.update("deals.deal", deal.id, {"stage": target})


def open_stage_tasks(crm, deal):
    """The unfinished process tasks of the deal's current stage."""
    return lifecycle.open_stage_tasks(crm, get_deal(crm, deal))


def complete_stage(crm, deal, result="", at=None):
    """Complete the current stage's tasks of a process-driven deal; the
    process then moves it to the next stage. Returns the deal as it is now."""
    with crm.transaction():
        # the deal's stage and its open tasks are read under the deal's write lock
        return _complete(crm, crm.get("deals.deal", deal, for_update=True), result, at)


def _complete(crm, deal, result, at):
    kind = m.Kind.get_or_none(m.Kind.id == deal.kind_id)
    if kind is None or kind.process != "process":
        raise ValidationError({"stage": "only deals of a process-driven kind have stage tasks; "
                                        "move this one with `move`"}, "deals.deal")
    if deal.status != "in_work":
        raise ValidationError({"status": "the deal is closed"}, "deals.deal")
    tasks = lifecycle.open_stage_tasks(crm, deal)
    if not tasks:
        last = route(deal.kind_id)[-1].stage_id == deal.stage_id
        raise ValidationError({"stage": "the route is complete: win or lose the deal" if last
                               else "the current stage has no open tasks"}, "deals.deal")
    moment = _at(crm, at)
    with context.acting(at=moment):
        for task in tasks:
            crm.update("core.task", task.id, {"state": "done", **({"result": result} if result else {})})
            if moment is not None:   # done at the recorded moment, not at the write's
                lifecycle.date_tasks(crm, [task.id], done_at=moment, changed_at=moment)
    return get_deal(crm, deal.id)


def win(crm, deal, at=None, agreement=None):
    """Win a deal; ``agreement`` (id or name of an agreement with the client)
    is recorded on it in the same write (1C: the deal ends in an agreement)."""
    data = {"status": "won"}
    if agreement not in (None, ""):
        data["agreement"] = resolve(crm, "deals.agreement", agreement, "agreement")
    with context.acting(at=_at(crm, at)):
        return crm.update("deals.deal", get_deal(crm, deal).id, data)


def lose(crm, deal, reason, at=None):
    """Lose a deal; ``reason`` (id or name of a loss reason) is required."""
    reason_id = resolve(crm, "deals.loss_reason", reason, "loss_reason") if reason not in (None, "") else None
    with context.acting(at=_at(crm, at)):
        return crm.update("deals.deal", get_deal(crm, deal).id, {"status": "lost", "loss_reason": reason_id})


def reopen(crm, deal, at=None):
    with context.acting(at=_at(crm, at)):
        return crm.update("deals.deal", get_deal(crm, deal).id, {"status": "in_work"})


def stage_history(crm, deal):
    """The deal's stage history rows, oldest first."""
    deal = get_deal(crm, deal)
    H = m.StageHistory
    return list(crm.query("deals.stage_history").where(H.deal == deal.id).order_by(H.entered_at, H.id))


def route_map(crm, deal):
    """The kind's stages with their state for this deal: ``done``,
    ``current``, ``next`` or ``ahead`` (a closed deal's last stage is
    ``won`` or ``lost``: nothing is current any more); with the last
    passage's dates and the current stage's open tasks."""
    deal = get_deal(crm, deal)
    stages = route(deal.kind_id)
    history = [h for h in stage_history(crm, deal) if h.passage]
    last = {h.stage_id: h for h in history}
    current_seq = next((s.sequence for s in stages if s.stage_id == deal.stage_id), None)
    open_tasks = lifecycle.open_stage_tasks(crm, deal) if deal.status == "in_work" else []
    rows = []
    for s in stages:
        passage = last.get(s.stage_id)
        if s.stage_id == deal.stage_id:
            state = "current" if deal.status == "in_work" else deal.status
        elif passage is not None and passage.days is not None:
            state = "done"
        elif current_seq is not None and deal.status == "in_work" and s.sequence == min(
                (x.sequence for x in stages if x.sequence > current_seq), default=None):
            state = "next"
        else:
            state = "ahead"
        rows.append({"sequence": s.sequence, "stage": s.stage.name, "state": state,
                     "route_point": lifecycle.route_point_of(s),
                     "entered_at": passage.entered_at if passage else None,
                     "left_at": passage.left_at if passage and passage.days is not None else None,
                     "days": passage.days if passage else None,
                     "open_tasks": ", ".join(t.number for t in open_tasks) if state == "current" else ""})
    return rows


def probability_breakdown(crm, deal):
    """How the statistical win probability of a deal is made up:
    ``{"probability": int or None, "method": ..., "factors": [rows]}``."""
    deal = get_deal(crm, deal)
    statistics = stats.statistics(crm)
    rows, probability = stats.breakdown(statistics, deal.stage_id, deal.responsible_id,
                                        deal.client_id, deal.kind_id)
    names = {"stage": (m.Stage, "name"), "manager": (crm.model("core.user"), "name"),
             "partner": (crm.model("core.partner"), "name"), "kind": (m.Kind, "name")}
    for row in rows:
        model, attr = names[row["factor"]]
        row["name"] = model.select(getattr(model, attr)).where(model.id == row["key"]).scalar()
    won, closed = statistics["overall"]
    return {"probability": probability, "method": deal.probability_method, "manual": deal.probability,
            "factors": rows, "overall_won": won, "overall_closed": closed}


def refresh_probability(crm, deal):
    """Store the statistical probability on a deal (its method becomes
    ``statistics``); returns the deal. Leaves it alone without statistics."""
    result = probability_breakdown(crm, deal)
    if result["probability"] is None:
        return get_deal(crm, deal)
    return crm.update("deals.deal", get_deal(crm, deal).id,
                      {"probability": result["probability"], "probability_method": "statistics"})


def fill_potential(crm, deal):
    """Set the potential to the primary demand's total."""
    deal = get_deal(crm, deal)
    import peewee as pw
    D = m.Demand
    total = crm.query("deals.demand", pw.fn.COALESCE(pw.fn.SUM(D.amount), 0)).where(D.deal == deal.id).scalar()
    return crm.update("deals.deal", deal.id, {"potential": total})
