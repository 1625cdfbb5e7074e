"""Subscriptions, the consent ledger, opt-outs and the send-time check.

The ledger is append-only; the latest entry that concerns a recipient
(its address, its contact person, or its partner as a whole) and the
message's mailing group (or every group) decides. A global opt-out also
puts the address on the kernel's suppression list for its channel.
"""
from __future__ import annotations

import json

from crmkit import Message, ValidationError, local_moment

from . import models as m
from .rules import normalize_address
from .tokens import read_token

ENTITY = "marketing.consent"
SOURCE_PREFIXES = ("marketing.mailing:", "marketing.notification:")


def _norm(channel, address):
    if not address:
        return ""
    try:
        return normalize_address(channel, address)
    except ValueError:
        return str(address).strip().lower()


def record(crm, action, channel, *, partner=None, contact=None, address="", group=None,
           method="", comment=""):
    """Write one ledger entry (consent or opt_out) as the acting user."""
    return crm.create(ENTITY, {"action": action, "channel": channel, "partner": partner, "contact": contact,
                               "address": address or "", "group": group, "method": method or "manual",
                               "comment": comment})


def opt_out(crm, channel, *, partner=None, contact=None, address="", group=None, method="manual", comment=""):
    """Record an opt-out; without a group it covers every group and suppresses the address."""
    with crm.transaction():
        entry = record(crm, "opt_out", channel, partner=partner, contact=contact, address=address,
                       group=group, method=method, comment=comment)
        if group is None and entry.address:
            crm.outbox.suppress(channel, entry.address, reason=f"opt-out ({method})")
    return entry


def unsubscribe(crm, token, method="unsubscribe link"):
    """Apply a signed unsubscribe token (one-click or link); ValidationError if tampered."""
    data = read_token(token)
    if data["group"] is not None and not m.MailingGroup.select().where(m.MailingGroup.id == data["group"]).exists():
        raise ValidationError({"token": "the mailing group of this token no longer exists"})
    return opt_out(crm, data["channel"], address=data["address"], group=data["group"], method=method)


def opt_out_reason(channel, address, partner_id=None, contact_id=None, group_id=None):
    """Why a recipient must not get messages of ``group_id`` now, or None.

    An enforcement check, not a user's read: it sees the whole ledger.
    """
    C = m.Consent
    who = C.address == _norm(channel, address) if address else None
    if contact_id is not None:
        who = (C.contact == contact_id) if who is None else (who | (C.contact == contact_id))
    if partner_id is not None:
        cond = (C.partner == partner_id) & C.contact.is_null()
        who = cond if who is None else (who | cond)
    if who is None:
        return None
    scope = C.group.is_null() if group_id is None else (C.group.is_null() | (C.group == group_id))
    last = (C.select().where(who & scope & (C.channel == channel))
            .order_by(C.at.desc(), C.id.desc()).first())
    if last is not None and last.action == "opt_out":
        # the day in the zone of the user it is said to, written as their language writes dates
        return Message("opted out on {date} ({method})", date=local_moment(last.at).date(), method=last.method)
    return None


def skip_reason(crm, message):
    """The kernel's send-time hook: honour opt-outs made after queueing."""
    if not message.source.startswith(SOURCE_PREFIXES):
        return None
    try:
        info = json.loads(message.meta or "{}").get("marketing") or {}
    except ValueError:
        info = {}
    reason = opt_out_reason(message.channel, message.recipient, message.partner_id, message.contact_id,
                            info.get("group"))
    if reason:
        return reason
    sub = info.get("subscription")
    if sub is not None:
        found = m.Subscription.get_or_none(m.Subscription.id == sub)
        if found is None or not found.active:
            return "subscription cancelled"
    if message.partner_id is not None:
        marked = m.Partner.select(m.Partner.deletion_mark).where(m.Partner.id == message.partner_id).scalar()
        if marked:
            return "partner is marked for deletion"
    return None


def address_for(crm, channel, group, partner_id=None, contact_id=None):
    """The address of a partner or contact person for a channel, preferring
    the contact-information label the mailing group names."""
    kinds = ("email",) if channel == "email" else ("phone",)
    if contact_id is not None:
        owner = {"contact": contact_id}
        label = (group.contact_email_label if channel == "email" else group.contact_phone_label) if group else ""
    elif partner_id is not None:
        owner = {"partner": partner_id}
        label = (group.partner_email_label if channel == "email" else group.partner_phone_label) if group else ""
    else:
        return ""
    infos = crm.find("core.contact_info", kind__in=kinds, order_by="id", **owner)
    if label:
        preferred = [i for i in infos if i.label == label]
        infos = preferred or infos
    for info in infos:
        value = info.normalized or info.value
        if value:
            return value
    return ""


def subscriptions_query(crm, group_id, kind_id=None, channel=None):
    """Active subscriptions of a group (optionally of one kind or its whole group)."""
    S = m.Subscription
    q = crm.query("marketing.subscription").where((S.group == group_id) & (S.active == True))  # noqa: E712
    q = q.where(S.kind.is_null() | (S.kind == kind_id)) if kind_id is not None else q.where(S.kind.is_null())
    if channel:
        q = q.where(S.channel == channel)
    return q.order_by(S.id)


def subscribe(crm, group, channel="email", *, partner=None, contact=None, address="", kind=None,
              method="manual", comment=""):
    """Subscribe a partner or contact person and record the consent in the ledger."""
    with crm.transaction():
        sub = crm.create("marketing.subscription", {"group": group, "kind": kind, "partner": partner,
                                                    "contact": contact, "channel": channel, "address": address})
        record(crm, "consent", channel, partner=sub.partner_id, contact=sub.contact_id, address=sub.address,
               group=group, method=method, comment=comment)
    return sub
