"""Personal data held in leads: a converted lead's person is the partner's
(or the contact's); erasing them blanks the lead too."""
from __future__ import annotations

ERASED = "[erased]"


def _of(model, partner_id, contact_ids):
    cond = model.id < 0
    if partner_id is not None:
        cond |= model.partner == partner_id
    if contact_ids:
        cond |= model.contact.in_(list(contact_ids))
    return cond


def collect(crm, partner_id, contact_ids):
    from .models import Lead
    rows = [{"code": r.code, "person": r.person, "company": r.company, "email": r.email, "phone": r.phone,
             "received_at": r.received_at, "status": r.status}
            for r in Lead.select().where(_of(Lead, partner_id, contact_ids))]
    return {"leads": rows} if rows else None


def erase(crm, partner_id, contact_ids):
    from .models import Lead
    ids = [r for (r,) in Lead.select(Lead.id).where(_of(Lead, partner_id, contact_ids)).tuples()]
    if ids:
        Lead.update(person=ERASED, email="", phone="", address="", position="", comment="").where(
            Lead.id.in_(ids)).execute()
        crm.scrub_history("leads.lead", ids, ["person", "email", "phone", "address", "position", "comment"])
