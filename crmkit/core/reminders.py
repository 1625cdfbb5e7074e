"""Reminders that notify: a due reminder becomes one email to its own user,
queued in the kernel outbox and delivered as any other message.

``notify_due`` is set-based: one ``INSERT ... SELECT`` writes a message per
due reminder and one ``UPDATE`` marks them (``notified_at``), both in one
transaction, so a crash leaves either both or neither (at least once), and
the message's idempotency key (reminder id and moment) makes a second queue
of the same reminder a no-op (once). Changing a reminder's moment clears the
mark (``rules.py``), so a snoozed reminder notifies again.
"""
from __future__ import annotations

import peewee as pw

from crmkit import ValidationError, transaction, translate, utcnow

SOURCE = "core.reminder"
# characters the email package would read as line ends in a Subject header
_LINE_BREAKS = ("\r", "\n", "\t", "\x0b", "\x0c", "\x85", "\u2028", "\u2029")
LANGS = ("en", "ru")   # core.user.lang's choices ("" = English in an email)


def _due(crm, now):
    """The visible reminders due at ``now``, not done, not yet notified: the
    acting user's own, or everyone's for an administrator."""
    from .models import Reminder
    return crm.query("core.reminder").where(
        (Reminder.remind_at <= now) & (Reminder.done == False) & Reminder.notified_at.is_null())  # noqa: E712


def _per_language(column, text):
    """SQL: ``text`` in the recipient's language (``core_user.lang``)."""
    return pw.Case(column, [(lang, translate(text, lang, domain="core")) for lang in LANGS if lang != "en"], text)


def _one_line(expr):
    for char in _LINE_BREAKS:
        expr = pw.fn.REPLACE(expr, char, " ")
    return expr


def notify_due(crm, now=None) -> dict:
    """Queue an email to its user for every due reminder the acting user may
    see; returns ``{"queued": n, "skipped_no_email": k, "skipped_inactive": i}``.

    Reminders of users without an email address, or inactive ones, are left
    unmarked (they notify once the user has an address) and counted."""
    from crmkit.kernel.models import OutboxMessage
    from .models import Reminder, User
    if "email" not in crm.registry.channels:
        raise ValidationError({"channel": "no email channel installed (the notify_email plugin sends reminders)"})
    now = now or utcnow()
    due_ids = _due(crm, now).select(Reminder.id)
    reachable = (User.email != "") & (User.is_active == True) & (User.deletion_mark == False)  # noqa: E712
    rows = (Reminder.select(
        pw.Value("email"), User.email, User.name,
        _one_line(pw.NodeList((_per_language(User.lang, "Reminder"), pw.SQL("|| ': ' ||"),
                               pw.fn.SUBSTR(Reminder.description, 1, 200)))),
        Reminder.description, pw.Value("{}"), pw.Value(SOURCE), Reminder.partner,
        # reminder id and moment: queued once, and again only when the moment moves
        pw.NodeList((pw.Value("core.reminder:"), pw.SQL("||"), pw.Cast(Reminder.id, "VARCHAR(20)"),
                     pw.SQL("|| ':' ||"), pw.Cast(Reminder.remind_at, "VARCHAR(40)"))),
        pw.Value("queued"), pw.Value(0), pw.Value(now, converter=OutboxMessage.next_attempt_at.db_value),
        pw.Value(""), pw.Value(now, converter=OutboxMessage.created_at.db_value))
        .join(User, on=(Reminder.user == User.id))
        .where(Reminder.id.in_(due_ids) & reachable).order_by(Reminder.id))
    fields = [OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.recipient_name,
              OutboxMessage.subject, OutboxMessage.body_text, OutboxMessage.meta, OutboxMessage.source,
              OutboxMessage.partner_id, OutboxMessage.idempotency_key, OutboxMessage.state,
              OutboxMessage.attempts, OutboxMessage.next_attempt_at, OutboxMessage.last_error,
              OutboxMessage.created_at]
    unreached = (_due(crm, now).join(User, on=(Reminder.user == User.id)).where(~reachable)
                 .select(pw.fn.COUNT(Reminder.id), pw.fn.SUM(pw.Case(None, [(User.email == "", 1)], 0))))
    with transaction():
        total, no_email = unreached.tuples().get()
        OutboxMessage.insert_from(rows, fields).on_conflict_ignore().execute()
        # the same reminders marked (the sub-select sees them as before the update);
        # "not yet notified" again here, so a concurrent run that marked first is not counted twice
        queued = (Reminder.update(notified_at=now)
                  .where(Reminder.id.in_(due_ids) & Reminder.notified_at.is_null()
                         & Reminder.user.in_(User.select(User.id).where(reachable))).execute())
    return {"queued": queued, "skipped_no_email": int(no_email or 0),
            "skipped_inactive": int(total or 0) - int(no_email or 0)}
