"""Business rules of claims beyond their schemas, and what a write sets off:
status history, the client's notification, stages following their tasks."""
from __future__ import annotations

from crmkit import utcnow, value_after_write

from . import models as m

NOTIFICATION_KIND = "claims.status_changed"


def _open_stages(claim_id) -> int:
    return (m.Stage.select().where((m.Stage.claim == claim_id) & (m.Stage.done == False)  # noqa: E712
                                   & (m.Stage.deletion_mark == False)).count())  # noqa: E712


def _check_contact(data, client, errors, field="contact"):
    contact = data.get(field)
    if contact is None:
        return
    owner = m.Contact.select(m.Contact.partner).where(m.Contact.id == contact).scalar()
    if client is not None and owner != client:
        errors[field] = "is a contact person of another partner"


def _client_of_basis(crm, data):
    """The partner the basis (a deal, an interaction ...) belongs to, if any."""
    from crmkit import AccessDenied, NotFound
    entity = data.get("subject_type")
    if not entity:
        return None
    path = crm.registry.entity(entity).partner_path
    try:
        basis = crm.get(entity, data["subject_id"])
    except (NotFound, AccessDenied):
        return None                      # reported by the kernel as a bad subject
    if path == "self":
        return basis.get_id()
    return getattr(basis, path + "_id", None) if path else None


def _check_claim(crm, data, record, errors):
    if record is None and data.get("registered_at") is None:
        data["registered_at"] = utcnow()
    if record is None and data.get("client") is None:
        data["client"] = _client_of_basis(crm, data)
        if data["client"] is None:
            errors["client"] = "required field (or give a basis that belongs to a partner)"
    elif record is not None and "client" in data and data["client"] is None:
        errors["client"] = "a claim always has a client"
    status = value_after_write(data, record, "status") or "registered"
    registered = value_after_write(data, record, "registered_at")
    _check_contact(data, value_after_write(data, record, "client"), errors)
    if status in m.FINAL_STATUSES:
        if record is not None and "status" in data:
            open_count = _open_stages(record.id)
            if open_count:
                errors["status"] = (f"the work plan has {open_count} open stage(s): complete them "
                                    f"before a final status")
        if value_after_write(data, record, "actual_end") is None:
            data["actual_end"] = utcnow()
    elif data.get("actual_end") is not None:
        errors["actual_end"] = "only a closed claim (satisfied, partly or not satisfied) has an end"
    elif record is not None and record.actual_end is not None and "status" in data:
        data["actual_end"] = None          # reopened: it is not over any more
    if {"registered_at", "planned_end", "actual_end"} & set(data):
        for field in ("planned_end", "actual_end"):
            end = value_after_write(data, record, field)
            if end is not None and registered is not None and end < registered:
                errors[field] = "is before the registration date"


def _check_stage(crm, data, record, errors):
    claim_id = value_after_write(data, record, "claim")
    claim = m.Claim.get_or_none(m.Claim.id == claim_id) if claim_id is not None else None
    if claim is None:
        return
    if claim.status in m.FINAL_STATUSES:
        errors["claim"] = f"claim {claim.code} is closed ({claim.status}): reopen it to change its plan"
        return
    if record is None:
        if data.get("position") is None:
            top = m.Stage.select(m.Stage.position).where(m.Stage.claim == claim_id) \
                .order_by(m.Stage.position.desc()).scalar()
            data["position"] = (top or 0) + 1
        if data.get("responsible") is None:
            data["responsible"] = claim.responsible_id
    position = data.get("position")
    if position is not None:
        taken = m.Stage.select().where((m.Stage.claim == claim_id) & (m.Stage.position == position))
        if record is not None:
            taken = taken.where(m.Stage.id != record.id)
        if taken.exists():
            errors["position"] = f"position {position} is already used in this plan"
    due = value_after_write(data, record, "due")
    if "due" in data and due is not None and due < claim.registered_at:
        errors["due"] = "is before the claim's registration date"
    task = data.get("task")
    if task is not None:
        subject = m.Task.select(m.Task.subject_type, m.Task.subject_id).where(m.Task.id == task).tuples().first()
        if subject != ("claims.claim", claim.id):
            errors["task"] = "is not a task about this claim"
    if "done" in data:
        if data["done"] and (record is None or not record.done):
            data["done_at"] = utcnow()
        elif not data["done"]:
            data["done_at"] = None


def _check_participant(crm, data, record, errors):
    user, contact = value_after_write(data, record, "user"), value_after_write(data, record, "contact")
    if (user is None) == (contact is None):
        errors["user"] = "give either a user or a contact person, not both or neither"
        return
    claim = m.Claim.get_or_none(m.Claim.id == value_after_write(data, record, "claim"))
    if claim is not None:
        _check_contact(data, claim.client_id, errors)


def validate(crm, entity, data, record):
    errors: dict = {}
    if entity == "claims.claim":
        _check_claim(crm, data, record, errors)
    elif entity == "claims.stage":
        _check_stage(crm, data, record, errors)
    elif entity == "claims.participant":
        _check_participant(crm, data, record, errors)
    elif entity == "claims.status_change":
        errors["_"] = "the status history is written by the claims themselves"
    return errors or None


# -- after a write ---------------------------------------------------------

def claim_saved(crm, claim, created, changes):
    if created:
        _record_status(crm, claim, None, claim.status)
    elif "status" in changes:
        old, new = changes["status"]
        _record_status(crm, claim, old, new)
        notify_status_changed(crm, claim, old, new)
        crm.pm.hook.crmkit_claim_status_changed(crm=crm, claim=claim, old_status=old, new_status=new)


def _record_status(crm, claim, old, new):
    m.StatusChange.create(claim=claim.id, at=utcnow(), user=crm.actor.id, login=crm.actor.login,
                          old_status=old, new_status=new)


def notify_status_changed(crm, claim, old, new):
    """Tell the client through marketing's notification kind, when marketing
    is installed and the kind exists; otherwise nothing happens."""
    if "marketing" not in [p.name for p in crm.plugins]:
        return []
    from .notify import send_status_notification
    return send_status_notification(crm, claim, old, new)


def task_done(crm, task):
    """A plan stage whose task is done is done too, with the task's result.

    Written directly: the stage follows its task whoever completes it (the
    performer need not have rights on claims)."""
    stage = m.Stage.get_or_none((m.Stage.task == task.id) & (m.Stage.done == False))  # noqa: E712
    if stage is None:
        return
    now = utcnow()
    m.Stage.update(done=True, done_at=now, changed_at=now,
                   result=stage.result or task.result or "").where(m.Stage.id == stage.id).execute()
