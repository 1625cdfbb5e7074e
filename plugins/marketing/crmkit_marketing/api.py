"""The marketing plugin's public API for other plugins.

    from crmkit_marketing.api import notify, set_primary_interest
    notify(crm, "claims.status_changed", "claims.claim", claim, partner=claim.client)
"""
from __future__ import annotations

import hashlib
import logging

import peewee as pw

from crmkit import ValidationError

from . import models as m
from .consent import address_for, opt_out, opt_out_reason, subscribe, subscriptions_query, unsubscribe
from .interest import primary_interest_of, set_primary_interest
from .render import context_for, render_message
from .tokens import list_unsubscribe, make_token, read_token, unsubscribe_url

__all__ = ["notify", "set_primary_interest", "primary_interest_of", "subscribe", "opt_out", "unsubscribe",
           "make_token", "read_token", "unsubscribe_url", "queue_message"]

log = logging.getLogger("crmkit.marketing")


def _id(value):
    return value.get_id() if isinstance(value, pw.Model) else value


def queue_message(crm, channel, address, rendered, *, key, source, group=None, partner_id=None,
                  contact_id=None, subscription_id=None, kind_id=None, recipient_name=""):
    """Queue one rendered message in the outbox with the marketing meta."""
    meta = {"marketing": {"group": _id(group), "kind": kind_id, "subscription": subscription_id}}
    if channel == "email" and group is not None and group.mode == "subscription":
        token = make_token(channel, address, group.id)
        meta.update(list_unsubscribe(token))
    if channel == "sms":
        return crm.outbox.queue("sms", address, text=rendered["sms"], key=key, meta=meta, source=source,
                                partner_id=partner_id, contact_id=contact_id, recipient_name=recipient_name)
    if rendered.get("images"):
        meta["inline"] = rendered["images"]
    message = crm.outbox.queue("email", address, subject=rendered["subject"], text=rendered["text"],
                               html=rendered["html"], key=key, meta=meta, source=source, partner_id=partner_id,
                               contact_id=contact_id, recipient_name=recipient_name)
    if rendered.get("images"):   # by reference: the files plugin keeps their contents until this is sent
        from crmkit_files.store import hold
        hold([image["sha256"] for image in rendered["images"]], message.id)
    return message


def _recipients(crm, kind, group, channel, partner_id, contact_id):
    """(partner id, contact id, address, subscription id) for one channel."""
    out = []
    if group is not None and group.mode == "subscription":
        S = m.Subscription
        q = subscriptions_query(crm, group.id, kind.id, channel)
        if contact_id is not None:
            q = q.where((S.contact == contact_id) | ((S.partner == partner_id) & S.contact.is_null()))
        elif partner_id is not None:
            q = q.where(S.partner == partner_id)
        for sub in q:
            address = sub.address or address_for(crm, channel, group, sub.partner_id, sub.contact_id)
            out.append((sub.partner_id, sub.contact_id, address, sub.id))
    elif partner_id is not None or contact_id is not None:
        address = address_for(crm, channel, group, partner_id, contact_id)
        if not address and contact_id is not None and partner_id is not None:
            # a contact person without an address of this kind: tell the partner
            contact_id, address = None, address_for(crm, channel, group, partner_id, None)
        out.append((partner_id, contact_id, address, None))
    return out


def notify(crm, kind_code, record_entity, record, partner=None, contact=None, context=None) -> list:
    """Queue the notification ``kind_code`` about ``record`` for its recipients.

    Renders the kind's email and SMS templates (sandboxed, ``#Param#``
    parameters computed for ``record_entity``) and queues one outbox message
    per recipient and channel: the subscribers of the kind (or its group)
    among ``partner``/``contact`` when the group sends by subscription; the
    partner/contact itself when it sends forcibly. Opt-outs are checked now
    and again at send time. A recipient without an address, opted out, or
    whose message cannot be rendered safely is skipped and logged.

    :return: the queued ``OutboxMessage`` records (empty when the kind is not
        set up, has no templates, or nobody is to be told).
    """
    kind = m.NotificationKind.get_or_none((m.NotificationKind.code == kind_code)
                                          & (m.NotificationKind.deletion_mark == False))  # noqa: E712
    if kind is None:
        return []
    group = kind.group if kind.group_id is not None else None
    if group is not None and group.deletion_mark:
        return []
    partner_id, contact_id = _id(partner), _id(contact)
    partner_obj = m.Partner.get_or_none(m.Partner.id == partner_id) if partner_id is not None else None
    if contact_id is not None and partner_id is None:
        partner_id = m.Contact.select(m.Contact.partner).where(m.Contact.id == contact_id).scalar()
    templates = list(m.Template.select().where((m.Template.kind == kind.id)
                                               & (m.Template.deletion_mark == False)).order_by(m.Template.id))  # noqa: E712
    queued = []
    for channel in ("email", "sms"):
        if group is not None and not (group.send_email if channel == "email" else group.send_sms):
            continue
        if channel not in crm.registry.channels:
            continue
        template = next((t for t in templates if (t.email if channel == "email" else t.sms)), None)
        if template is None:
            continue
        for rp, rc, address, sub_id in _recipients(crm, kind, group, channel, partner_id, contact_id):
            if not address:
                log.info("notification %s: %s:%s has no %s address", kind_code, rp, rc, channel)
                continue
            reason = opt_out_reason(channel, address, rp, rc, _id(group))
            if reason:
                log.info("notification %s to %s skipped: %s", kind_code, address, reason)
                continue
            who_partner = m.Partner.get_or_none(m.Partner.id == rp) if rp is not None else partner_obj
            who_contact = m.Contact.get_or_none(m.Contact.id == rc) if rc is not None else None
            ctx = context_for(crm, who_partner, who_contact, record, record_entity, context)
            if group is not None and group.mode == "subscription":
                ctx["unsubscribe_url"] = unsubscribe_url(make_token(channel, address, group.id))
            try:
                rendered = render_message(crm, template, ctx, entity=record_entity)
            except ValidationError as exc:
                log.warning("notification %s to %s not queued: %s", kind_code, address, exc)
                continue
            body = rendered["sms"] if channel == "sms" else rendered["subject"] + "\n" + rendered["text"]
            digest = hashlib.sha256(f"{(context or {}).get('key', '')}|{body}".encode()).hexdigest()[:16]
            key = f"marketing.notify:{kind.id}:{record_entity}:{_id(record)}:{channel}:{address}:{digest}"
            queued.append(queue_message(crm, channel, address, rendered, key=key[:200],
                                        source=f"marketing.notification:{kind.id}", group=group,
                                        partner_id=rp, contact_id=rc, subscription_id=sub_id, kind_id=kind.id))
    return queued
