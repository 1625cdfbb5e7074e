"""What claims hold about a person: collected for a subject access request,
anonymised for erasure (amounts, dates, statuses and causes stay, so the
reports still add up; free texts go)."""
from __future__ import annotations

from . import models as m

TEXTS = ("description", "decision", "result_comment", "comment")


def _claims(partner_id, contact_ids):
    C = m.Claim
    cond = None
    if partner_id is not None:
        cond = C.client == partner_id
    if contact_ids:
        by_contact = C.contact.in_(list(contact_ids))
        cond = by_contact if cond is None else (cond | by_contact)
    return C.select().where(cond).order_by(C.id) if cond is not None else C.select().where(C.id < 0)


def collect(crm, partner_id, contact_ids):
    claims = [{"code": c.code, "name": c.name, "registered_at": c.registered_at, "status": c.status,
               "actual_end": c.actual_end, "contact": c.contact_id, "compensation": c.compensation,
               "currency": c.currency, **{t: getattr(c, t) for t in TEXTS}}
              for c in _claims(partner_id, contact_ids)]
    participants = []
    if contact_ids:
        P = m.Participant
        participants = [{"claim": p.claim.code, "contact": p.contact_id, "role": p.role, "comment": p.comment}
                        for p in P.select().where(P.contact.in_(list(contact_ids))).order_by(P.id)]
    out = {k: v for k, v in (("claims", claims), ("claim participants", participants)) if v}
    return out or None


def erase(crm, partner_id, contact_ids):
    ids = [c.id for c in _claims(partner_id, contact_ids)]
    if ids:
        m.Claim.update(**{t: "" for t in TEXTS}).where(m.Claim.id.in_(ids)).execute()
    if contact_ids:
        m.Claim.update(contact=None).where(m.Claim.contact.in_(list(contact_ids))).execute()
        m.Participant.update(comment="").where(m.Participant.contact.in_(list(contact_ids))).execute()
