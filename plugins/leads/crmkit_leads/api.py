"""What can be done with a lead: capture it with its primary interest,
find the partners it may already be, convert it. Commands, the HTTP API
and the web call these functions; none holds logic of its own."""
from __future__ import annotations

from crmkit import NotFound, ValidationError, utcnow

from .kinds import OPEN_STATUSES

ENTITY = "leads.lead"


def capture(crm, data, channel=None, source=None):
    """Create a lead and, when a channel is given, its primary interest
    (channel and source), in one transaction."""
    from crmkit_marketing.interest import set_primary_interest
    with crm.transaction():
        lead = crm.create(ENTITY, data)
        if channel is not None:
            set_primary_interest(crm, (ENTITY, lead.id), channel, source, date=lead.received_at.astimezone(crm.zone).date())   # the local day
    return lead


def _probe(lead):
    return {"name": lead.company or lead.person, "email": lead.email or None, "phone": lead.phone or None}


def matches(crm, key):
    """Partners the user may see that the lead may already be, best first."""
    lead = crm.get(ENTITY, key)
    return crm.duplicates("core.partner", _probe(lead))


def disqualify(crm, key, reason):
    """Close a lead as disqualified with ``reason`` (a disqualification
    reason's id or name; a new name is added to the list)."""
    with crm.transaction():
        if isinstance(reason, int) or str(reason).isdigit():
            reason_id = crm.get("leads.disqualify_reason", int(reason)).id
        else:
            found = crm.find("leads.disqualify_reason", name=reason)
            reason_id = found[0].id if found else crm.create("leads.disqualify_reason", {"name": reason}).id
        return crm.update(ENTITY, key, {"status": "disqualified", "disqualify_reason": reason_id})


def convert(crm, key, partner=None, contact=None, deal=False, deal_kind=None, deal_name=None,
            responsible=None, allow_duplicate=False):
    """Turn a lead into a partner and contact (new or existing) and, when
    asked, a deal, in one transaction; refused as a whole when any part is
    invalid.

    :param partner: an existing partner (id or code) to link instead of creating one.
    :param contact: an existing contact person of that partner to link.
    :param deal: also create a deal (needs the deals plugin).
    :param deal_kind: the deal's kind (name or id), its route of stages.
    :param allow_duplicate: create a new partner even where duplicate rules
        find existing ones (they are listed in the refusal otherwise).
    :return: ``{"lead", "partner", "contact", "deal", "moved"}``.
    """
    lead = crm.get(ENTITY, key)
    crm.require("update", ENTITY)
    if lead.status not in OPEN_STATUSES:
        raise ValidationError({"status": f"the lead is {lead.status}: only new or in-work leads convert"}, ENTITY)
    if deal and "deals.deal" not in crm.registry.entities:
        raise ValidationError({"deal": "the deals plugin is not installed"}, ENTITY)
    with crm.transaction():
        partner_rec = _partner(crm, lead, partner, allow_duplicate)
        contact_rec = _contact(crm, lead, partner_rec, contact)
        deal_rec = _deal(crm, lead, partner_rec, deal_kind, deal_name, responsible) if deal else None
        moved = _move_subjects(crm, lead, partner_rec, contact_rec, deal_rec)
        model = crm.model(ENTITY)
        model.update(status="qualified", closed_at=utcnow(), partner=partner_rec.id,
                     contact=contact_rec.id if contact_rec else None,
                     deal_id=deal_rec.id if deal_rec else None, changed_at=utcnow()).where(
            model.id == lead.id).execute()
        crm.log_action(ENTITY, lead.id, "convert",
                       f"partner {partner_rec.code}" + (f", deal {deal_rec.code}" if deal_rec else ""))
    return {"lead": crm.get(ENTITY, lead.id), "partner": partner_rec, "contact": contact_rec,
            "deal": deal_rec, "moved": moved}


def _partner(crm, lead, key, allow_duplicate):
    if key is not None:
        try:
            return crm.get("core.partner", key)
        except NotFound:
            raise ValidationError({"partner": f"{key!r} does not exist"}, ENTITY) from None
    if not allow_duplicate:
        found = crm.duplicates("core.partner", _probe(lead))
        if found:
            names = ", ".join(f"{crm.get('core.partner', h['id']).code} {crm.display('core.partner', crm.get('core.partner', h['id']))}"
                              f" ({h['label']})" for h in found[:5])
            raise ValidationError({"partner": f"the lead looks like {names}: link one (partner=CODE) "
                                              "or create a new partner anyway (allow_duplicate)"}, ENTITY)
    data = {"name": lead.company or lead.person, "kind": "company" if lead.company else "individual",
            "access_group": lead.access_group_id, "manager": lead.responsible_id}
    partner = crm.create("core.partner", data)
    if not lead.company:   # an individual: the contact information is the partner's own
        _contact_info(crm, {"partner": partner.id}, lead)
    return partner


def _contact(crm, lead, partner, key):
    if key is not None:
        try:
            contact = crm.get("core.contact", key)
        except NotFound:
            raise ValidationError({"contact": f"{key!r} does not exist"}, ENTITY) from None
        if contact.partner_id != partner.id:
            raise ValidationError({"contact": "is a contact person of another partner"}, ENTITY)
        return contact
    if not (lead.company and lead.person):
        return None
    contact = crm.create("core.contact", {"partner": partner.id, "name": lead.person,
                                          "position": lead.position})
    _contact_info(crm, {"contact": contact.id}, lead)
    return contact


def _contact_info(crm, owner, lead):
    for kind, value in (("email", lead.email), ("phone", lead.phone), ("web", lead.website),
                        ("address", lead.address)):
        if value:
            crm.create("core.contact_info", {**owner, "kind": kind, "value": value})


def _deal(crm, lead, partner, kind, name, responsible):
    data = {"name": name or lead.demand[:300] or f"{lead.company or lead.person}", "client": partner.id,
            "responsible": responsible if responsible is not None else lead.responsible_id,
            "potential": lead.potential, "currency": lead.currency, "comment": lead.demand}
    if kind is not None:
        if isinstance(kind, str) and not kind.isdigit():
            found = crm.find("deals.kind", name=kind)
            if not found:
                raise ValidationError({"deal_kind": f"no deal kind named {kind!r}"}, ENTITY)
            kind = found[0].id
        data["kind"] = int(kind)
    if data["responsible"] is None:
        data.pop("responsible")
    return crm.create("deals.deal", data)


def _move_subjects(crm, lead, partner, contact, deal):
    """The lead's interactions, tasks and notes now concern the deal (or
    the partner) and belong to the partner; the deal gets a copy of the
    lead's primary interest."""
    target_type, target_id = ("deals.deal", deal.id) if deal is not None else ("core.partner", partner.id)
    moved = {}
    for entity in sorted(crm.registry.entities):
        model = crm.model(entity)
        fields = model._meta.fields
        if "subject_type" not in fields or "subject_id" not in fields:
            continue
        pk = model._meta.primary_key
        ids = [r for (r,) in model.select(pk).where((model.subject_type == ENTITY)
                                                   & (model.subject_id == lead.id)).tuples()]
        if not ids:
            continue
        if entity == "marketing.primary_interest":
            # the lead keeps its interest (its reports count it); the deal gets a copy
            if deal is not None and not model.select().where(
                    (model.subject_type == target_type) & (model.subject_id == target_id)).exists():
                from crmkit_marketing.interest import set_primary_interest
                interest = model.get_by_id(ids[0])
                set_primary_interest(crm, (target_type, target_id), interest.channel_id,
                                     (interest.source_type, interest.source_id) if interest.source_type else None,
                                     date=interest.date)
                moved["marketing.primary_interest"] = 1
            model.update(partner=partner.id).where(pk.in_(ids)).execute()
            continue
        values = {"subject_type": target_type, "subject_id": target_id}
        if "partner" in fields:
            values["partner"] = partner.id
        model.update(values).where(pk.in_(ids)).execute()
        if "contact" in fields and contact is not None and entity != "marketing.primary_interest":
            model.update(contact=contact.id).where(pk.in_(ids) & model.contact.is_null()).execute()
        for rid in ids:
            crm.log_action(entity, rid, "move", f"from lead {lead.code} to {target_type}:{target_id}")
        moved[entity] = len(ids)
    return moved


def from_inbox(crm, limit=100):
    """Offer the incoming mail of unknown senders as leads: a lead per
    sender address, the message logged as an incoming email about it."""
    try:
        from crmkit_notify_email import models as mail
    except ImportError:
        raise ValidationError({"inbox": "the notify_email plugin is not installed"}) from None
    crm.require("create", ENTITY)
    rows = list(mail.Inbound.select().where(mail.Inbound.state == "unknown").order_by(mail.Inbound.id)
                .limit(int(limit)))
    created = []
    model = crm.model(ENTITY)
    with crm.transaction():
        for row in rows:
            lead = model.get_or_none((model.email == row.sender) & model.status.in_(OPEN_STATUSES))
            if lead is None:
                lead = crm.create(ENTITY, {"person": row.sender_name or row.sender, "email": row.sender,
                                           "received_at": row.sent_at or utcnow(),
                                           "comment": "from incoming mail"})
                created.append(lead)
            interaction = crm.create("core.interaction", {
                "kind": "email", "direction": "incoming", "date": row.sent_at or utcnow(),
                "topic": row.subject[:300], "text": row.text, "how": row.sender,
                "external_id": row.message_id or None, "subject": (ENTITY, lead.id)})
            mail.Inbound.update(state="assigned", interaction_id=interaction.id).where(
                mail.Inbound.id == row.id).execute()
    return created, len(rows)
