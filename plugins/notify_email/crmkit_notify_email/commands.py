"""``crmkit outbox ...`` and ``crmkit email ...``."""
from __future__ import annotations

import os

import click

from crmkit import AccessDenied, Choice, Message, translate
from crmkit.cli import database_url, destructive, emit, format_option, pass_crm, progress_bar, say, say_counts

OUTBOX_COLUMNS = ("id", "channel", "recipient", "subject", "state", "attempts", "next_attempt_at",
                  "last_error", "source", "created_at", "sent_at")


def _admin(crm, what):
    if not crm.actor.is_admin:
        raise AccessDenied(Message("{what}: administrators only", context="notify_email.message", what=what))


@click.group()
def outbox():
    """The outbox: messages waiting, sent and failed, on every channel."""


@outbox.command("list")
@click.option("--state", "wanted", type=click.Choice(["queued", "sending", "sent", "failed", "unknown", "skipped",
                                                      "cancelled"]))
@click.option("--channel", default=None, help="email, sms ...")
@click.option("--source", default=None, help="Exact source, e.g. marketing.mailing:5.")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@format_option
@pass_crm
def outbox_list(crm, wanted, channel, source, limit, fmt):
    """Newest messages first (those of partners you cannot see are hidden)."""
    rows = [{c: getattr(msg, c) for c in OUTBOX_COLUMNS}
            for msg in crm.outbox.messages(state=wanted, channel=channel, source=source, limit=limit)]
    if fmt != "json":           # a state and a channel by their label, an error in the channel's words
        from crmkit import translate_message
        for row in rows:
            owner = crm.registry.owner.get(("channel", row.get("channel")))
            if row.get("last_error") and crm.lang != "en":
                row["last_error"] = translate_message(row["last_error"], crm.lang, domain=owner)
            for name in ("state", "channel"):
                if isinstance(row.get(name), str):
                    row[name] = Choice(row[name])
    emit(rows, fmt, columns=list(OUTBOX_COLUMNS), lang=crm.lang)


@outbox.command("deliver")
@click.option("--channel", default=None, help="Only this channel.")
@click.option("--limit", type=click.IntRange(1, 10_000_000), default=1000, show_default=True)
@pass_crm
def outbox_deliver(crm, channel, limit):
    """Send due messages now (one SMTP connection for the whole run)."""
    from .smtp import close_connections
    _admin(crm, "outbox deliver")
    try:
        with progress_bar(translate("delivering", crm.lang)):
            counts = crm.act("core.deliver_outbox", channel=channel, limit=limit)
    finally:
        close_connections()
    say_counts(crm, counts, "notify_email.outbox")


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--unknown", is_flag=True, help="Every message whose outcome is unknown too (they may have "
                                              "arrived: a resend keeps the Message-ID).")
@pass_crm
def outbox_retry(crm, ids, unknown):
    """Put failed messages (all, or these ids, failed or unknown) back in the queue."""
    _admin(crm, "outbox retry")
    say(crm, "requeued {n} messages", n=crm.outbox.retry(list(ids) or None, unknown=unknown))


@outbox.command("settle")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--sent", "outcome", flag_value="sent", help="The server's log shows it was accepted.")
@click.option("--failed", "outcome", flag_value="failed", help="It was not, and is not to be sent again.")
@pass_crm
def outbox_settle(crm, ids, outcome):
    """Record the outcome found for messages in state ``unknown``."""
    _admin(crm, "outbox settle")
    if outcome is None:
        raise click.UsageError(Message("give --sent or --failed").said(crm.lang))
    say(crm, "settled {n} messages as {outcome}", n=crm.outbox.settle(list(ids), outcome),
        outcome=Choice(outcome, "core.outbox.state"))


@destructive("purge deletes sent messages", lambda state, **params: (database_url(state), True))
@outbox.command("purge")
@click.option("--days", type=click.IntRange(0, 36500), default=None,
              help="Delete sent/skipped messages older than this (all sources).")
@pass_crm
def outbox_purge(crm, days):
    """Delete old sent messages: each mailing group's own "delete after N
    days" where marketing says so, and --days for everything."""
    from .retention import purge
    _admin(crm, "outbox purge")
    done = purge(crm, days)
    for scope, (kept_days, count) in done.items():
        say(crm, "{scope}: deleted {n} older than {days} days", scope=Message(scope), n=count, days=kept_days)
    if not done:
        say(crm, "nothing to purge: give --days (no retention rules from other plugins)")


@click.group()
def email():
    """Email: SMTP settings, a test send, incoming mail."""


@email.command("settings")
@format_option
@pass_crm
def email_settings(crm, fmt):
    """Show the mail settings (passwords masked)."""
    from .settings import ImapSettings, SmtpSettings
    shown = {**SmtpSettings.from_env().shown(), **ImapSettings.from_env().shown()}
    emit([{"setting": k, "value": str(v)} for k, v in shown.items()], fmt, lang=crm.lang)


@email.command("test")
@click.argument("to")
@click.option("--subject", default="crmkit test message", show_default=True)
@click.option("--text", default="This is a test message from crmkit.", show_default=True)
@pass_crm
def email_test(crm, to, subject, text):
    """Send one message straight away with the current settings."""
    from .testsend import send_test
    _admin(crm, "email test")
    mid, settings = send_test(to, subject, text)
    say(crm, "sent {id} to {to} through {server} ({security})", id=mid, to=to,
        server=f"{settings.host}:{settings.port}", security=settings.security)


@email.command("fetch")
@click.option("--folder", default=None, type=click.Path(file_okay=False),
              help="Maildir or folder of .eml files [CRMKIT_MAIL_DIR].")
@click.option("--imap", is_flag=True, help="Read the IMAP folder of CRMKIT_IMAP_* instead.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@pass_crm
def email_fetch(crm, folder, imap, limit):
    """Register incoming mail as interactions of the matched partners."""
    from .incoming import require_admin
    from .mailreader import fetch_folder, fetch_imap
    from .settings import ImapSettings
    require_admin(crm)
    if imap:
        counts = fetch_imap(crm, ImapSettings.from_env(), limit)
    else:
        folder = folder or os.environ.get("CRMKIT_MAIL_DIR")
        if not folder:
            raise click.UsageError(Message("give --folder, set CRMKIT_MAIL_DIR, or use --imap").said(crm.lang))
        counts = fetch_folder(crm, folder, limit)
    say_counts(crm, dict(sorted(counts.items())), "notify_email.inbound", empty="no messages")


INBOUND_COLUMNS = ("id", "received_at", "sent_at", "sender", "sender_name", "subject", "state", "error")


@email.command("unknown")
@click.option("--state", "wanted", default="unknown", show_default=True,
              type=click.Choice(["unknown", "registered", "assigned", "malformed", "failed"]))
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@format_option
@pass_crm
def email_unknown(crm, wanted, limit, fmt):
    """Incoming mail from senders no partner or contact has (or other states)."""
    from .incoming import visible_inbound
    rows = [{c: getattr(r, c) for c in INBOUND_COLUMNS} for r in visible_inbound(crm, wanted, limit)]
    emit(rows, fmt, columns=list(INBOUND_COLUMNS), lang=crm.lang)


@email.command("assign")
@click.argument("inbound_id", type=int)
@click.argument("partner")
@click.option("--contact", default=None, help="Contact person id of that partner.")
@click.option("--remember", is_flag=True, help="Store the sender's address on the contact/partner.")
@pass_crm
def email_assign(crm, inbound_id, partner, contact, remember):
    """Register an unknown sender's message for PARTNER (code or id)."""
    from .incoming import assign
    record = assign(crm, inbound_id, partner, contact, remember)
    say(crm, "registered as interaction {number}", number=record.number)
