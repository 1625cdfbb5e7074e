"""When a mailing is finished: none of its messages waits any more.

Checked when one of its messages gets its outcome (the kernel's delivered
and failed hooks, and this plugin's own send-time skips), by looking for a
waiting message of the mailing from the newest down: messages are delivered
oldest first, so while a run is under way the newest still wait and the
look stops at the first row; only the last outcomes read further.
"""
from __future__ import annotations

from .mailings import ENTITY, status

WAITING = ("queued", "sending", "unknown")
PREFIX = "marketing.mailing:"


def mailing_of(message):
    source = message.source or ""
    if not source.startswith(PREFIX) or not source[len(PREFIX):].isdigit():
        return None
    return int(source[len(PREFIX):])


def follow(message, state):
    """The mailing's recipient of ``message`` takes its outcome (``sent``,
    ``failed``): a recipient list read after delivery says what happened."""
    from crmkit import transaction
    from . import models as m
    with transaction():
        m.MailingRecipient.update(state=state).where(m.MailingRecipient.outbox_id == message.id).execute()


def check(crm, message, leaving=None):
    """Fire ``crmkit_mailing_finished`` if ``message`` was its mailing's last
    waiting one; ``leaving`` is a message id about to be recorded skipped."""
    mailing_id = mailing_of(message)
    if mailing_id is None:
        return False
    system = crm.as_user(None)
    for state in WAITING:
        newest = system.outbox.messages(state=state, source=message.source, limit=2)
        if any(m.id != leaving for m in newest):
            return False
    finish(system, mailing_id, skipping=leaving is not None)
    return True


def finish(crm, mailing_id, skipping=False):
    """Fire the event; ``skipping``: one message is being recorded skipped right now."""
    mailing = crm.get(ENTITY, mailing_id)
    figures = status(crm, mailing_id)
    counts = {k: figures.get(k, 0) for k in ("recipients", "sent", "failed", "skipped")}
    counts["skipped"] += int(skipping)
    crm.pm.hook.crmkit_mailing_finished(crm=crm, mailing=mailing, counts=counts)
