"""Marketing events: participants and the target list from the client segment."""
from __future__ import annotations

from . import models as m

ENTITY = "marketing.event"


def add_participant(crm, event, partner, role="client", contact=None, comment=""):
    return crm.create("marketing.participant", {"event": crm.get(ENTITY, event).id, "partner": partner,
                                                "role": role, "contact": contact, "comment": comment})


def fill_from_segment(crm, key, role="client") -> int:
    """Add the client segment's current members who are not participants yet."""
    from crmkit import ValidationError
    from crmkit.core.segments import members_query
    event = crm.get(ENTITY, key)
    crm.require("create", "marketing.participant")
    if event.client_segment_id is None:
        raise ValidationError({"client_segment": "the event has no client segment"}, ENTITY)
    P = m.Participant
    present = {pid for (pid,) in P.select(P.partner).where(P.event == event.id).tuples()}
    added = 0
    with crm.transaction():
        for partner in members_query(crm, event.client_segment_id).order_by(m.Partner.name):
            if partner.id not in present:
                crm.create("marketing.participant", {"event": event.id, "partner": partner.id, "role": role})
                added += 1
    return added
