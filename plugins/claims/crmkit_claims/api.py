"""The claims plugin's public functions: the work plan, resolving, overdue
claims and reminders. The CLI is a thin shell over these; other plugins and
integrators may call them too. Every read and write goes through ``crm``,
so the acting user's access applies."""
from __future__ import annotations

import datetime as dt

from crmkit import NotFound, ValidationError, utcnow

from . import models as m

ENTITY = "claims.claim"


def get_claim(crm, key):
    """A visible claim by code or id."""
    return crm.get(ENTITY, key)


def register(crm, data: dict):
    """Register a claim. ``basis`` is accepted for the subject reference."""
    data = dict(data)
    if "basis" in data:
        data["subject"] = data.pop("basis")
    return crm.create(ENTITY, data)


def plan(crm, key):
    """The claim's work plan stages, in order."""
    claim = get_claim(crm, key)
    return crm.find("claims.stage", claim=claim.id, order_by="position")


def _stage(crm, claim, position):
    found = crm.find("claims.stage", claim=claim.id, position=int(position))
    if not found:
        raise NotFound(f"claim {claim.code} has no plan stage {position}")
    return found[0]


def add_stage(crm, key, title, responsible=None, due=None, position=None, with_task=False):
    """Add a stage to the claim's plan; ``with_task`` also gives its
    responsible a task about the claim."""
    claim = get_claim(crm, key)
    data = {"claim": claim.id, "title": title}
    for name, value in (("responsible", responsible), ("due", due), ("position", position)):
        if value is not None:
            data[name] = value
    with crm.transaction():
        stage = crm.create("claims.stage", data)
        if with_task:
            stage = create_task(crm, stage)
    return stage


def create_task(crm, stage):
    """A core task for the stage's responsible, whose subject is the claim."""
    if stage.task_id is not None:
        raise ValidationError({"task": f"stage {stage.position} already has task {stage.task.number}"},
                              "claims.stage")
    if stage.responsible_id is None:
        raise ValidationError({"responsible": "the stage has no responsible to give a task to"}, "claims.stage")
    claim = stage.claim
    with crm.transaction():
        task = crm.create("core.task", {
            "title": f"{claim.name} ({claim.code}): {stage.title}", "performer": stage.responsible_id,
            "due": stage.due, "partner": claim.client_id, "subject": (ENTITY, claim.id),
            "description": claim.description, "route_point": f"claims.stage:{stage.position}"})
        return crm.update("claims.stage", stage.id, {"task": task.id})


def complete_stage(crm, key, position, result="", done=True):
    """Mark a plan stage done (or open again with ``done=False``)."""
    claim = get_claim(crm, key)
    stage = _stage(crm, claim, position)
    data = {"done": bool(done)}
    if result:
        data["result"] = result
    return crm.update("claims.stage", stage.id, data)


def set_status(crm, key, status, decision=None, compensation=None, currency=None, result_comment=None,
               actual_end=None):
    """Change the status with the review results (decision, compensation,
    comment). A final status needs the whole plan done."""
    claim = get_claim(crm, key)
    data = {"status": status}
    for name, value in (("decision", decision), ("compensation", compensation), ("currency", currency),
                        ("result_comment", result_comment), ("actual_end", actual_end)):
        if value is not None:
            data[name] = value
    return crm.update(ENTITY, claim.id, data)


def history(crm, key):
    claim = get_claim(crm, key)
    return crm.find("claims.status_change", claim=claim.id, order_by=("at", "id"))


def overdue(crm, at=None):
    """Visible claims not closed whose planned end has passed by ``at``."""
    at = at or utcnow()
    C = m.Claim
    return list(crm.query(ENTITY).where(C.status.not_in(m.FINAL_STATUSES) & C.planned_end.is_null(False)
                                        & (C.planned_end < at)).order_by(C.planned_end, C.id))


def remind(crm, at=None, remind_at=None):
    """A reminder for the responsible of every overdue claim.

    Skips claims without a responsible and those whose responsible already
    has an open reminder about the claim. Only an administrator may remind
    other users (core's rule); others get reminders for their own claims.
    Returns ``[(claim, reminder or None, note)]``.
    """
    when = remind_at or utcnow()
    out = []
    for claim in overdue(crm, at):
        if claim.responsible_id is None:
            out.append((claim, None, "no responsible"))
            continue
        if not crm.actor.is_admin and claim.responsible_id != crm.actor.id:
            out.append((claim, None, "only an administrator may remind other users"))
            continue
        R = crm.model("core.reminder")
        exists = crm.query("core.reminder").where(
            (R.user == claim.responsible_id) & (R.subject_type == ENTITY) & (R.subject_id == claim.id)
            & (R.done == False)).exists()  # noqa: E712
        if exists:
            out.append((claim, None, "already reminded"))
            continue
        planned = claim.planned_end
        zone = _zone_of(crm, claim.responsible_id)
        reminder = crm.create("core.reminder", {
            "user": claim.responsible_id, "remind_at": when, "event_at": planned,
            "partner": claim.client_id, "subject": (ENTITY, claim.id),
            "description": f"Overdue claim {claim.code} {claim.name}: planned end "
                           f"{planned.astimezone(zone):%Y-%m-%d %H:%M} {zone}"[:500]})
        out.append((claim, reminder, "reminded"))
    return out


def _zone_of(crm, user_id):
    """The zone a reminder's reader reads times in: theirs, else the acting user's."""
    from crmkit import zone_named
    try:
        name = crm.get("core.user", user_id).time_zone if user_id is not None else ""
        return zone_named(name) if name else crm.zone
    except (NotFound, ValidationError):
        return crm.zone
