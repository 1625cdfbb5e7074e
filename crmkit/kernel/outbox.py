"""Durable outbound messages, delivered by channel plugins.

A message is written (``queued``) in the caller's transaction before anything
is sent; its idempotency key makes queueing twice a no-op. Delivery claims a
message (``sending``), hands it to its channel, and records ``sent``, a retry
with backoff (temporary failure), or ``failed`` (permanent failure or the
retry cap). A process that dies between the server's acceptance and the
``sent`` record leaves the message ``sending``; once its lease expires it is
delivered again with the same identity (at-least-once, deduplicable by the
Message-ID a channel derives from the message).
"""
from __future__ import annotations

import datetime as dt
import json

import peewee as pw

from . import db
from .errors import ValidationError
from .models import OutboxMessage, Suppression

MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 60          # 1, 2, 4, 8, 16 minutes ...
BACKOFF_CAP_S = 6 * 3600
LEASE_S = 300                # a "sending" claim older than this is retried


class TemporaryFailure(Exception):
    """Try again later (connection refused, 4xx)."""


class PermanentFailure(Exception):
    """Do not try again (5xx bad recipient, invalid address)."""


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


def normalize_address(channel: str, address: str) -> str:
    from .validation import normalize_email, normalize_phone
    try:
        if channel == "email":
            return normalize_email(address)
        if channel == "sms":
            return normalize_phone(address)
    except ValueError:
        pass
    return str(address).strip().lower()


class Outbox:
    """``crm.outbox``: queue, deliver, retry, purge, suppress."""

    def __init__(self, crm):
        self.crm = crm

    # -- queueing --------------------------------------------------------
    def queue(self, channel, recipient, *, subject="", text="", html=None, key=None,
              meta=None, source="", partner_id=None, contact_id=None, recipient_name=""):
        """Write one message for later delivery; returns the OutboxMessage.

        :param key: idempotency key; queueing the same key again returns the
            message already queued instead of a second one.
        """
        if channel not in self.crm.registry.channels:
            raise ValidationError({"channel": f"no channel {channel!r}; installed: "
                                              f"{', '.join(sorted(self.crm.registry.channels)) or 'none'}"})
        if not recipient:
            raise ValidationError({"recipient": "required"})
        for name, value in (("subject", subject), ("recipient", recipient), ("recipient_name", recipient_name)):
            if "\r" in value or "\n" in value:
                raise ValidationError({name: "must not contain line breaks (CR/LF)"})
        key = key or f"{channel}:{source}:{recipient}:{db.utcnow().timestamp()}"
        with db.transaction():
            existing = OutboxMessage.get_or_none(OutboxMessage.idempotency_key == key)
            if existing:
                return existing
            return OutboxMessage.create(
                channel=channel, recipient=recipient, recipient_name=recipient_name,
                subject=subject, body_text=text, body_html=html,
                meta=json.dumps(meta or {}, ensure_ascii=False, default=str),
                source=source, partner_id=partner_id, contact_id=contact_id,
                idempotency_key=key)

    # -- suppression -----------------------------------------------------
    def suppress(self, channel, address, reason=""):
        address = normalize_address(channel, address)
        with db.transaction():
            if not Suppression.get_or_none(channel=channel, address=address):
                Suppression.create(channel=channel, address=address, reason=reason)
        return address

    def unsuppress(self, channel, address):
        return Suppression.delete().where(
            (Suppression.channel == channel)
            & (Suppression.address == normalize_address(channel, address))).execute()

    def is_suppressed(self, channel, address) -> bool:
        return Suppression.select().where(
            (Suppression.channel == channel)
            & (Suppression.address == normalize_address(channel, address))).exists()

    # -- delivery --------------------------------------------------------
    def _claim(self, channel, now, limit, after=0):
        """Claim due messages (queued, or sending with an expired lease)."""
        lease = now - dt.timedelta(seconds=LEASE_S)
        due = ((OutboxMessage.state == "queued") & (OutboxMessage.next_attempt_at <= now)) | \
              ((OutboxMessage.state == "sending") & (OutboxMessage.claimed_at < lease))
        if channel:
            due &= OutboxMessage.channel == channel
        if after:  # claims go up by id: a message is attempted once per deliver() run
            due &= OutboxMessage.id > after
        with db.transaction():
            query = OutboxMessage.select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
            if not db.is_sqlite():
                query = query.for_update(skip_locked=True)
            ids = [row.id for row in query]
            if ids:
                OutboxMessage.update(state="sending", claimed_at=db.utcnow()).where(
                    OutboxMessage.id.in_(ids)).execute()
        return list(OutboxMessage.select().where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)) if ids else []

    def deliver(self, channel=None, limit=1000, now=None) -> dict:
        """Deliver due messages; returns counts by outcome.

        A channel with a ``session`` gets it opened once per run (one SMTP
        connection for the whole run) and closed at the end, errors included.
        """
        from contextlib import ExitStack
        now = now or db.utcnow()
        counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
        hook = self.crm.pm.hook
        after = 0
        with ExitStack() as stack:
            sessions = {}
            while limit > 0:
                batch = self._claim(channel, now, min(limit, 500), after)
                if not batch:
                    break
                after = batch[-1].id
                suppressed = self._suppressed_in(batch)
                for message in batch:
                    spec = self.crm.registry.channels.get(message.channel)
                    if spec is not None and spec.session is not None and message.channel not in sessions:
                        sessions[message.channel] = stack.enter_context(spec.session(self.crm))
                    outcome = self._deliver_one(message, hook, suppressed)
                    counts[outcome] += 1
                    limit -= 1
        return counts

    def _suppressed_in(self, batch) -> set:
        """(channel, address) pairs of a batch on the suppression list: one query."""
        pairs = {(m.channel, normalize_address(m.channel, m.recipient)) for m in batch}
        addresses = sorted({a for _, a in pairs})
        rows = Suppression.select(Suppression.channel, Suppression.address).where(
            Suppression.address.in_(addresses)).tuples() if addresses else []
        return {pair for pair in rows if pair in pairs}

    def get(self, message_id):
        """One message by id, if it is about a partner the user may see."""
        from .errors import NotFound
        found = [m for m in self._visible(OutboxMessage.select().where(OutboxMessage.id == message_id))]
        if not found:
            raise NotFound(f"outbox message {message_id} not found")
        return found[0]

    def _finish(self, message, **fields):
        with db.transaction():
            OutboxMessage.update(**fields).where(OutboxMessage.id == message.id).execute()
        for k, v in fields.items():
            setattr(message, k, v)

    def _deliver_one(self, message, hook, suppressed=None) -> str:
        spec = self.crm.registry.channels.get(message.channel)
        if spec is None:
            self._finish(message, state="queued", next_attempt_at=db.utcnow() + backoff(1),
                         last_error=f"channel {message.channel!r} is not installed")
            return "retry"
        address = normalize_address(message.channel, message.recipient)
        if ((message.channel, address) in suppressed) if suppressed is not None \
                else self.is_suppressed(message.channel, message.recipient):
            self._finish(message, state="skipped", last_error="address is on the suppression list")
            return "skipped"
        reason = hook.crmkit_outbox_skip_reason(crm=self.crm, message=message)
        if reason:
            self._finish(message, state="skipped", last_error=str(reason))
            return "skipped"
        attempts = message.attempts + 1
        try:
            spec.deliver(self.crm, message)
        except PermanentFailure as exc:
            self._finish(message, state="failed", attempts=attempts, last_error=str(exc))
            hook.crmkit_outbox_failed(crm=self.crm, message=message, error=str(exc), permanent=True)
            return "failed"
        except (TemporaryFailure, OSError) as exc:
            if attempts >= MAX_ATTEMPTS:
                self._finish(message, state="failed", attempts=attempts,
                             last_error=f"gave up after {attempts} attempts: {exc}")
                hook.crmkit_outbox_failed(crm=self.crm, message=message, error=str(exc), permanent=True)
                return "failed"
            self._finish(message, state="queued", attempts=attempts, last_error=str(exc),
                         next_attempt_at=db.utcnow() + backoff(attempts))
            hook.crmkit_outbox_failed(crm=self.crm, message=message, error=str(exc), permanent=False)
            return "retry"
        self._finish(message, state="sent", attempts=attempts, sent_at=db.utcnow(), last_error="")
        hook.crmkit_outbox_delivered(crm=self.crm, message=message)
        return "sent"

    def erase_personal(self, partner_id=None, contact_ids=()) -> int:
        """Blank the recipients and bodies of a person's messages (erasure)."""
        cond = OutboxMessage.id < 0
        if partner_id is not None:
            cond |= OutboxMessage.partner_id == partner_id
        if contact_ids:
            cond |= OutboxMessage.contact_id.in_(list(contact_ids))
        return OutboxMessage.update(recipient="erased", recipient_name="", subject="", body_text="",
                                    body_html=None, meta="{}").where(cond).execute()

    # -- operator verbs --------------------------------------------------
    def retry(self, ids=None) -> int:
        """Put failed messages (all, or the given ids) back in the queue."""
        q = OutboxMessage.update(state="queued", next_attempt_at=db.utcnow(), attempts=0).where(
            OutboxMessage.state == "failed")
        if ids:
            q = q.where(OutboxMessage.id.in_(list(ids)))
        with db.transaction():
            return q.execute()

    def purge(self, older_than_days, source_prefix=None, source=None) -> int:
        """Delete sent and skipped messages older than N days (of one
        ``source`` exactly, or of every source starting with ``source_prefix``)."""
        cutoff = db.utcnow() - dt.timedelta(days=older_than_days)
        q = OutboxMessage.delete().where(OutboxMessage.state.in_(["sent", "skipped"])
                                         & (OutboxMessage.created_at < cutoff))
        if source_prefix:
            q = q.where(OutboxMessage.source.startswith(source_prefix))
        if source:
            q = q.where(OutboxMessage.source == source)
        with db.transaction():
            return q.execute()

    def messages(self, state=None, channel=None, source=None, limit=100):
        q = OutboxMessage.select().order_by(OutboxMessage.id.desc()).limit(limit)
        if state:
            q = q.where(OutboxMessage.state == state)
        if channel:
            q = q.where(OutboxMessage.channel == channel)
        if source:
            q = q.where(OutboxMessage.source == source)
        return list(self._visible(q))

    def _visible(self, q):
        """Messages about partners the acting user may not see stay hidden."""
        if not self.crm.actor.is_admin:
            from .access import visible_filter
            partner_spec = self.crm.access_root()
            if partner_spec is not None:
                cond = visible_filter(self.crm.actor, partner_spec, self.crm.registry)
                if cond is not None:
                    visible = partner_spec.model.select(partner_spec.model.id).where(cond)
                    q = q.where(OutboxMessage.partner_id.is_null() | OutboxMessage.partner_id.in_(visible))
        return q

    def counts(self, source=None, by=("state",)) -> dict:
        """Message counts grouped by state, or by ``("state", "last_error")``
        to see why messages were skipped or failed."""
        allowed = {"state", "last_error", "channel", "source"}
        if not by or set(by) - allowed:
            raise ValidationError({"by": f"group by any of {', '.join(sorted(allowed))}"})
        fields = [getattr(OutboxMessage, name) for name in by]
        q = OutboxMessage.select(*fields, pw.fn.COUNT(OutboxMessage.id).alias("n")).group_by(*fields)
        if source:
            q = q.where(OutboxMessage.source == source)
        rows = self._visible(q).tuples()   # messages about hidden partners are not counted either
        if len(by) == 1:
            return {row[0]: row[1] for row in rows}
        return {tuple(row[:-1]): row[-1] for row in rows}
