"""Business rules of leads beyond their schema."""
from __future__ import annotations

from crmkit import normalize_email, normalize_phone, utcnow


def validate_lead(crm, data, record):
    errors: dict = {}
    current = (lambda f: data.get(f, getattr(record, f, None))) if record is not None else data.get
    if not (current("person") or current("company")):
        errors["person"] = "a lead needs a person's or a company's name"
    for field, normalise in (("email", normalize_email), ("phone", normalize_phone)):
        if data.get(field):
            try:
                data[field] = normalise(data[field])
            except ValueError as exc:
                errors[field] = str(exc)
    if record is None and not data.get("received_at"):
        data["received_at"] = utcnow()
    _check_status(data, record, errors)
    _check_access_group(crm, data, record, errors)
    return errors or None


def _check_status(data, record, errors):
    old = record.status if record is not None else None
    new = data.get("status", old or "new")
    if new == "qualified" and old != "qualified":
        errors["status"] = "a lead is qualified by converting it (crmkit leads convert)"
        return
    if old == "qualified" and new != "qualified":
        errors["status"] = "a converted lead stays qualified"
        return
    reason = data.get("disqualify_reason", getattr(record, "disqualify_reason_id", None))
    if new == "disqualified":
        if reason is None:
            errors["disqualify_reason"] = "say why the lead is disqualified"
        elif old != "disqualified":
            data["closed_at"] = utcnow()
    elif old == "disqualified" and "status" in data:   # reopened
        data["disqualify_reason"] = None
        data["closed_at"] = None
    elif data.get("disqualify_reason") is not None:
        errors["disqualify_reason"] = "only a disqualified lead has a reason"


def _check_access_group(crm, data, record, errors):
    """A restricted user keeps leads within their own access groups."""
    actor = crm.actor
    if actor.is_admin:
        return
    if "access_group" in data:
        group = data["access_group"]
        if group is None and actor.access_groups:
            errors["access_group"] = "choose one of your access groups"
        elif group is not None and group not in actor.access_groups:
            errors["access_group"] = "you may only use your own access groups"
    elif record is None and actor.access_groups:
        data["access_group"] = min(actor.access_groups)   # never visible beyond its creator's groups
