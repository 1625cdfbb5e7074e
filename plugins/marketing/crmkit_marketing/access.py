"""Who sees ledger and audience rows that name no partner.

An opt-out given by an unsubscribe token or typed as a bare address, an
address-only subscription or mailing recipient has no partner or contact
person, so the partner rule alone would show it to everyone. Such a row
belongs to whoever owns its address: it is visible to a user who sees a
contact-information record with that (normalised) address. An address
that belongs to no one in the base is visible only to administrators and
to the ``marketing_admin`` role.
"""
from __future__ import annotations

MARKETING_ADMIN = "marketing_admin"


def address_rule(actor, model, view):
    from crmkit.core.models import ContactInfo
    owned = model.partner.is_null(False) | model.contact.is_null(False)
    infos = view.ids("core.contact_info")
    if infos is None:
        return None
    every = ContactInfo.select(ContactInfo.normalized).where(ContactInfo.normalized != "")
    seen = every.where(ContactInfo.id.in_(infos))
    rule = owned | ((model.address != "") & model.address.in_(seen))
    if MARKETING_ADMIN in actor.roles:   # and the addresses of no one in the base
        rule |= model.address.not_in(every)
    return rule
