"""Mailings (рассылки клиентам): audience, preview, test send, send, status.

Sending queues one outbox message per recipient and channel inside one
transaction and records every addressee, queued or skipped with its
reason; the channel plugins deliver later, and opt-outs made in between
are honoured at send time by the kernel's ``crmkit_outbox_skip_reason``.
"""
from __future__ import annotations

import peewee as pw

from crmkit import ValidationError, utcnow

from . import models as m
from .api import queue_message
from .consent import address_for, opt_out_reason, subscriptions_query
from .render import context_for, render_message
from .tokens import make_token, unsubscribe_url

ENTITY = "marketing.mailing"


def source_of(mailing) -> str:
    return f"marketing.mailing:{mailing.id}"


def test_source_of(mailing) -> str:
    return f"marketing.mailing-test:{mailing.id}"


def channels(crm, mailing):
    group, template = mailing.group, mailing.template
    out = []
    if group.send_email and (template.email or template.method == "processing"):
        out.append("email")
    if group.send_sms and (template.sms or template.method == "processing"):
        out.append("sms")
    return out


def _candidates(crm, mailing):
    """(partner id, contact id) pairs of the mailing's audience."""
    if mailing.audience == "segment":
        from crmkit.core.segments import members_query
        return [(p.id, None) for p in members_query(crm, mailing.segment_id)]
    if mailing.audience == "event":
        P = m.Participant
        q = crm.query("marketing.participant").where(P.event == mailing.event_id).order_by(P.id)
        return [(p.partner_id, p.contact_id) for p in q]
    return []


def recipients(crm, mailing) -> list[dict]:
    """Every addressee with its channel, address and, if skipped, the reason."""
    group = mailing.group
    out, seen = [], set()
    for channel in channels(crm, mailing):
        subs = list(subscriptions_query(crm, group.id, None, channel)) if (
            group.mode == "subscription" or mailing.audience == "subscribers") else []
        if mailing.audience == "subscribers":
            rows = [(s.partner_id, s.contact_id, s) for s in subs]
        else:
            rows = []
            for partner_id, contact_id in _candidates(crm, mailing):
                if group.mode != "subscription":
                    rows.append((partner_id, contact_id, None))
                    continue
                # a partner reached as a whole reaches its subscribed contact persons too
                matched = [s for s in subs if (contact_id is not None and s.contact_id == contact_id)
                           or (s.partner_id == partner_id and (s.contact_id is None or contact_id is None))]
                if not matched:
                    out.append({"partner": partner_id, "contact": contact_id, "channel": channel,
                                "address": "", "subscription": None, "reason": "not subscribed"})
                rows += [(s.partner_id, s.contact_id, s) for s in matched]
        for partner_id, contact_id, sub in rows:
            address = (sub.address if sub is not None and sub.address else "") or \
                address_for(crm, channel, group, partner_id, contact_id)
            row = {"partner": partner_id, "contact": contact_id, "channel": channel, "address": address,
                   "subscription": sub.id if sub is not None else None, "reason": ""}
            if not address:
                row["reason"] = f"no {'email address' if channel == 'email' else 'phone number'}"
            elif (channel, address) in seen:
                continue  # one message per address, even if reached twice
            else:
                seen.add((channel, address))
                row["reason"] = opt_out_reason(channel, address, partner_id, contact_id, group.id) or ""
            out.append(row)
    return out


def recipient_key(row) -> str:
    """One addressee of a mailing: the channel and address, or (skipped for
    want of one) the channel and the partner and contact."""
    if row["address"]:
        return f"{row['channel']}:{row['address']}"[:400]
    return f"{row['channel']}:partner:{row['partner'] or ''}:contact:{row['contact'] or ''}"


def _context(crm, mailing, row):
    partner = m.Partner.get_or_none(m.Partner.id == row["partner"]) if row["partner"] else None
    contact = m.Contact.get_or_none(m.Contact.id == row["contact"]) if row["contact"] else None
    extra = {"mailing_name": mailing.name}
    if mailing.event_id is not None:
        extra["event"] = mailing.event
        extra["event_name"] = mailing.event.name
    ctx = context_for(crm, partner, contact, extra=extra)
    if row["address"] and mailing.group.mode == "subscription":
        ctx["unsubscribe_url"] = unsubscribe_url(make_token(row["channel"], row["address"], mailing.group_id))
    return ctx


def preview(crm, key, limit=5) -> list[dict]:
    """The first recipients and what each would get; nothing is queued.

    A preview shows each recipient's working unsubscribe link, so it needs
    the right to send the mailing (update), as ``send`` and ``test`` do."""
    return preview_page(crm, key, limit)[0]


def preview_page(crm, key, limit=5) -> tuple[list[dict], int]:
    """``preview`` and how many recipients there are in all (so that a
    preview of the first five can say that more exist)."""
    mailing = crm.get(ENTITY, key)
    crm.require("update", ENTITY)
    out = []
    rows = sorted(recipients(crm, mailing), key=lambda r: bool(r["reason"]))  # who gets it first
    for row in rows[:limit] if limit else rows:
        item = dict(row)
        item["partner"] = m.Partner.get_by_id(row["partner"]).name if row["partner"] else ""
        item["contact"] = m.Contact.get_by_id(row["contact"]).name if row["contact"] else ""
        if not row["reason"]:
            try:
                rendered = render_message(crm, mailing.template, _context(crm, mailing, row))
                item["subject"] = rendered["subject"]
                item["text"] = rendered["sms"] if row["channel"] == "sms" else rendered["text"]
            except ValidationError as exc:
                item["reason"] = f"cannot render: {exc}"
        out.append(item)
    return out, len(rows)


def test_send(crm, key, address, channel="email", partner=None):
    """Queue one copy to a test address, rendered for ``partner`` (or the first recipient)."""
    mailing = crm.get(ENTITY, key)
    crm.require("update", ENTITY)
    partner_id = crm.get("core.partner", partner).id if partner is not None else next(
        (r["partner"] for r in recipients(crm, mailing) if r["partner"]), None)
    row = {"partner": partner_id, "contact": None, "channel": channel, "address": address}
    rendered = render_message(crm, mailing.template, _context(crm, mailing, row))
    return queue_message(crm, channel, address, rendered,
                         key=f"marketing.mailing-test:{mailing.id}:{channel}:{address}:{utcnow().timestamp()}",
                         source=test_source_of(mailing), group=None, partner_id=None)


def deliver(crm, key, limit=1_000_000) -> dict:
    """Deliver this mailing's queued messages and test copies now.

    Whoever may send the mailing may deliver it -- and nothing else: other
    users' mailings, claims notices and the rest of the outbox wait for
    ``outbox deliver`` (administrators), as in a CRM where a marketer's
    "send now" sends their campaign, not the company's mail queue.
    """
    mailing = crm.get(ENTITY, key)
    crm.require("update", ENTITY)
    return crm.as_user(None).outbox.deliver(source=[source_of(mailing), test_source_of(mailing)], limit=limit)


def send(crm, key) -> dict:
    """Queue the mailing for every recipient; a mailing is sent once."""
    mailing = crm.get(ENTITY, key)
    crm.require("update", ENTITY)
    if mailing.state == "sent":
        raise ValidationError({"state": f"mailing {mailing.name!r} was already sent on {mailing.sent_at:%Y-%m-%d}"},
                              ENTITY)
    if mailing.group.deletion_mark or mailing.template.deletion_mark:
        raise ValidationError({"group": "the mailing group or template is marked for deletion"}, ENTITY)
    missing = [c for c in channels(crm, mailing) if c not in crm.registry.channels]
    if not channels(crm, mailing) or missing:
        raise ValidationError({"channel": f"channel(s) not installed: {', '.join(missing) or 'none chosen'}; "
                                          f"installed: {', '.join(sorted(crm.registry.channels)) or 'none'}"},
                              ENTITY)
    rows = {}
    with crm.transaction():
        # the mailing is marked sent first, under its write lock: of two sends at
        # once the second waits here and then finds it sent (never a second set)
        if not m.Mailing.update(state="sent", sent_at=utcnow(), sent_by=crm.actor.login).where(
                (m.Mailing.id == mailing.id) & (m.Mailing.state != "sent")).execute():
            raise ValidationError({"state": f"mailing {mailing.name!r} was already sent"}, ENTITY)
        for row in recipients(crm, mailing):
            state, outbox_id = "skipped", None
            key = recipient_key(row)
            if key in rows:
                continue
            if not row["reason"]:
                try:
                    rendered = render_message(crm, mailing.template, _context(crm, mailing, row))
                    message = queue_message(
                        crm, row["channel"], row["address"], rendered, source=source_of(mailing),
                        key=f"{source_of(mailing)}:{row['channel']}:{row['address']}"[:200],
                        group=mailing.group, partner_id=row["partner"], contact_id=row["contact"],
                        subscription_id=row["subscription"])
                    state, outbox_id = "queued", message.id
                except ValidationError as exc:
                    row["reason"] = f"cannot render: {exc}"[:300]
            rows[key] = {"mailing": mailing.id, "partner": row["partner"], "contact": row["contact"],
                         "channel": row["channel"], "address": row["address"], "state": state,
                         "reason": row["reason"][:300], "outbox_id": outbox_id, "created_at": utcnow(),
                         "recipient_key": key}
        if rows:  # the unique (mailing, recipient_key) makes a repeated insert a no-op
            m.MailingRecipient.insert_many(list(rows.values())).on_conflict_ignore().execute()
        if not any(r["state"] == "queued" for r in rows.values()):   # nothing to wait for: finished now
            from .finished import finish
            finish(crm.as_user(None), mailing.id)
    return status(crm, mailing.id)


def status(crm, key) -> dict:
    """Delivery statistics: queued, sent, failed, skipped, and skip reasons."""
    mailing = crm.get(ENTITY, key)
    R = m.MailingRecipient
    counts = {"recipients": 0, "queued": 0, "sending": 0, "sent": 0, "failed": 0, "skipped": 0}
    reasons: dict[str, int] = {}
    q = (crm.query("marketing.mailing_recipient", R.reason, pw.fn.COUNT(R.id).alias("n"))
         .where((R.mailing == mailing.id) & (R.state == "skipped")).group_by(R.reason))
    for reason, n in q.tuples():
        counts["skipped"] += n
        counts["recipients"] += n
        reasons[reason] = reasons.get(reason, 0) + n
    for state, n in crm.outbox.counts(source=source_of(mailing)).items():
        counts[state] = counts.get(state, 0) + n
        counts["recipients"] += n
    skipped_later = [msg for msg in crm.outbox.messages(state="skipped", source=source_of(mailing),
                                                         limit=100_000)]
    for msg in skipped_later:
        reasons[msg.last_error] = reasons.get(msg.last_error, 0) + 1
    return {"mailing": mailing.name, "state": mailing.state, **counts, "reasons": reasons}


def purge(crm) -> int:
    """Delete sent and skipped messages of mailings older than their group's
    "delete created messages after N days"."""
    crm.require("update", ENTITY)
    days_of = {mid: days for mid, days in
               m.Mailing.select(m.Mailing.id, m.MailingGroup.purge_after_days)
               .join(m.MailingGroup).tuples()}
    removed = 0
    for mid, days in days_of.items():
        if days:
            removed += crm.outbox.purge(days, source=f"marketing.mailing:{mid}")
    return removed


def retention(crm) -> list:
    """``(source, days)`` of every mailing whose group deletes its messages after N days."""
    return [(f"marketing.mailing:{mid}", days) for mid, days in
            m.Mailing.select(m.Mailing.id, m.MailingGroup.purge_after_days).join(m.MailingGroup).tuples()
            if days]
