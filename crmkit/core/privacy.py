"""Personal data: erasure of an individual partner or a contact person, and
the export for a subject access request.

Erasure blanks names, dates of birth, contact information, interaction and
note texts, message bodies and history values, in one transaction, across
every plugin (``crmkit_erase_personal_data``); records, amounts and dates
stay, so deal sums and classifications still compute. The erasure itself is
recorded in the history.
"""
from __future__ import annotations

from crmkit import AccessDenied, ValidationError, plain

from . import models as m

ERASED = "[erased]"


def _subject(crm, entity, key):
    if entity not in ("core.partner", "core.contact"):
        raise ValidationError({"entity": "personal data belongs to core.partner (individuals) or core.contact"})
    record = crm.get(entity, key)
    if entity == "core.partner":
        if record.kind != "individual":
            raise ValidationError({"kind": "only individuals are erased; a company's contact persons can be"})
        contact_ids = [c.id for c in m.Contact.select(m.Contact.id).where(m.Contact.partner == record.id)]
        return record.id, contact_ids, record
    return None, [record.id], record


def erase(crm, entity, key) -> dict:
    """Anonymise a person everywhere; returns what was touched. Only an
    administrator erases: it cannot be undone and reaches every plugin's data."""
    if not crm.actor.is_admin:
        raise AccessDenied(f"user {crm.actor.login!r} may not erase personal data: only an administrator may")
    partner_id, contact_ids, record = _subject(crm, entity, key)
    with crm.transaction():
        touched = erase_core(partner_id, contact_ids)
        touched["attribute_values"] = _erase_attributes(crm, partner_id, contact_ids)
        touched["outbox"] = crm.outbox.erase_personal(partner_id, contact_ids)
        crm.pm.hook.crmkit_erase_personal_data(crm=crm, partner_id=partner_id, contact_ids=contact_ids)
        if partner_id is not None:
            crm.scrub_history("core.partner", [partner_id],
                              ["name", "public_name", "birth_date", "gender", "inn", "kpp", "comment",
                               *(a.name for a in crm.attributes("core.partner"))])
        crm.scrub_history("core.contact", contact_ids)
        crm.scrub_history("core.contact_info", touched.pop("contact_info_ids"))
        crm.log_action(entity, record.id, "erase", "personal data erased")
        # the duplicate keys held the name, phones and emails too
        if partner_id is not None:
            crm.reindex_duplicates("core.partner", [partner_id])
        crm.reindex_duplicates("core.contact", contact_ids)
    return touched


def _erase_attributes(crm, partner_id, contact_ids) -> int:
    """Additional attribute values of the person's partner, contact persons,
    interactions and notes (what an administrator added may be personal)."""
    I, N = m.Interaction, m.Note
    n = crm.erase_attribute_values("core.contact", contact_ids)
    interactions = [r.id for r in I.select(I.id).where(_owner(I, partner_id, contact_ids))]
    n += crm.erase_attribute_values("core.interaction", interactions)
    crm.scrub_history("core.interaction", interactions, [a.name for a in crm.attributes("core.interaction")])
    if partner_id is not None:
        n += crm.erase_attribute_values("core.partner", [partner_id])
        notes = [r.id for r in N.select(N.id).where(N.partner == partner_id)]
        n += crm.erase_attribute_values("core.note", notes)
        crm.scrub_history("core.note", notes, [a.name for a in crm.attributes("core.note")])
    return n


def erase_core(partner_id, contact_ids) -> dict:
    P, C, CI, I, N = m.Partner, m.Contact, m.ContactInfo, m.Interaction, m.Note
    out = {}
    if partner_id is not None:
        code = P.select(P.code).where(P.id == partner_id).scalar()
        out["partner"] = P.update(name=f"{ERASED} {code}", public_name=ERASED, birth_date=None, gender=None,
                                  inn="", kpp="", comment="").where(P.id == partner_id).execute()
    out["contacts"] = C.update(name=ERASED, position="", birth_date=None, gender=None, comment="").where(
        C.id.in_(contact_ids)).execute() if contact_ids else 0
    info = CI.select(CI.id).where(_owner(CI, partner_id, contact_ids))
    out["contact_info_ids"] = [r.id for r in info]
    out["contact_info"] = CI.update(value=ERASED, normalized="", comment="").where(
        CI.id.in_(out["contact_info_ids"])).execute() if out["contact_info_ids"] else 0
    out["interactions"] = I.update(topic="", text=ERASED, how="").where(_owner(I, partner_id, contact_ids)).execute()
    if partner_id is not None:
        out["notes"] = N.update(title=ERASED, text=ERASED).where(N.partner == partner_id).execute()
    return out


def _owner(model, partner_id, contact_ids):
    cond = model.id < 0
    if partner_id is not None and hasattr(model, "partner"):
        cond |= model.partner == partner_id
    if contact_ids and hasattr(model, "contact"):
        cond |= model.contact.in_(contact_ids)
    return cond


def export(crm, entity, key) -> dict:
    """Everything crmkit holds about a person, as JSON-ready sections."""
    partner_id, contact_ids, record = _subject(crm, entity, key)

    def rows(query):
        return [{k: plain(v) for k, v in row.items()} for row in query.dicts()]

    P, C, CI, I, N, T = m.Partner, m.Contact, m.ContactInfo, m.Interaction, m.Note, m.Task
    out = {"subject": {"entity": entity, "id": record.id}}
    if partner_id is not None:
        out["partner"] = rows(crm.query("core.partner").where(P.id == partner_id))
        out["notes"] = rows(crm.query("core.note").where(N.partner == partner_id))
        out["tasks"] = rows(crm.query("core.task").where(T.partner == partner_id))
    out["contacts"] = rows(crm.query("core.contact").where(C.id.in_(contact_ids))) if contact_ids else []
    out["contact_info"] = rows(crm.query("core.contact_info").where(_owner(CI, partner_id, contact_ids)))
    out["interactions"] = rows(crm.query("core.interaction").where(_owner(I, partner_id, contact_ids)))
    out["messages"] = [{"channel": msg.channel, "recipient": msg.recipient, "subject": msg.subject,
                        "state": msg.state, "created_at": plain(msg.created_at)}
                       for msg in crm.outbox.messages(limit=100000)
                       if msg.partner_id == partner_id and partner_id is not None or msg.contact_id in contact_ids]
    out["attributes"] = [{"entity": name, **row} for name, ids in (
        ("core.partner", [partner_id] if partner_id is not None else []), ("core.contact", contact_ids),
        ("core.interaction", [r["id"] for r in out["interactions"]]))
        for row in crm.attribute_rows(name, ids)]
    for extra in crm.pm.hook.crmkit_collect_personal_data(crm=crm, partner_id=partner_id, contact_ids=contact_ids):
        out.update(extra or {})
    crm.log_action(entity, record.id, "export", "personal data exported")
    return out
