"""``crmkit sms ...``: settings, a test send, status, opt-outs."""
from __future__ import annotations

import click

from crmkit import AccessDenied, Choice, Message, translate_message
from crmkit.cli import emit, format_option, pass_crm, refuse, say, say_counts


@click.group()
def sms():
    """SMS: gateway settings, a test send, delivery status, STOP replies."""


def _settings():
    from .settings import SmsSettings
    return SmsSettings.from_env()


@sms.command("settings")
@format_option
@pass_crm
def sms_settings(crm, fmt):
    """Show the SMS settings (the auth header masked)."""
    emit([{"setting": k, "value": str(v)} for k, v in _settings().shown().items()], fmt, lang=crm.lang)


@sms.command("length")
@click.argument("text")
@pass_crm
def sms_length(crm, text):
    """How a text would go: encoding, length, segments."""
    from .gsm import measure
    r = measure(text)
    say(crm, "{encoding}: {units} units, {segments} segment(s) of up to {per_segment}", encoding=r.encoding,
        units=r.units, segments=r.segments, per_segment=r.per_segment)


@sms.command("test")
@click.argument("phone")
@click.argument("text")
@pass_crm
def sms_test(crm, phone, text):
    """Send one SMS straight away through the configured provider."""
    from crmkit import PermanentFailure, TemporaryFailure
    from .channel import prepare, provider_for
    if not crm.actor.is_admin:
        raise AccessDenied(Message("sms test: administrators only"))
    settings = _settings()
    try:
        message, length = prepare(text, phone, settings)
        provider_id = provider_for(crm, settings).send(message, settings)
    except (PermanentFailure, TemporaryFailure) as exc:
        refuse("not sent (permanent): {error}" if isinstance(exc, PermanentFailure)
               else "not sent (temporary): {error}", error=exc)
    say(crm, "sent to {phone}: {encoding}, {segments} segment(s), provider id {provider_id}", phone=message.phone,
        encoding=length.encoding, segments=length.segments, provider_id=provider_id or "-")


STATUS_COLUMNS = ("id", "recipient", "state", "attempts", "encoding", "segments", "provider_id",
                  "last_error", "created_at", "sent_at")


@sms.command("status")
@click.option("--state", "wanted", type=click.Choice(["queued", "sending", "sent", "failed", "skipped"]))
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@format_option
@pass_crm
def sms_status(crm, wanted, limit, fmt):
    """Recent SMS with their state, segments and the gateway's id."""
    from . import models as m
    messages = crm.outbox.messages(state=wanted, channel="sms", limit=limit)
    sent = {r.outbox_id: r for r in m.Sent.select().where(m.Sent.outbox_id.in_([x.id for x in messages]))}
    rows = []
    for msg in messages:
        info = sent.get(msg.id)
        table = fmt != "json"      # a table in the user's words: the state by its label, the error translated
        rows.append({"id": msg.id, "recipient": msg.recipient,
                     "state": Choice(msg.state, "core.outbox.state") if table else msg.state, "attempts": msg.attempts,
                     "encoding": info.encoding if info else "", "segments": info.segments if info else "",
                     "provider_id": info.provider_id if info else "",
                     "last_error": translate_message(msg.last_error, crm.lang) if table and msg.last_error
                     else msg.last_error,
                     "created_at": msg.created_at, "sent_at": msg.sent_at})
    emit(rows, fmt, columns=list(STATUS_COLUMNS), lang=crm.lang)


@sms.command("optout")
@click.option("--from", "phone", default=None, help="The number a reply came from (callback use).")
@click.option("--text", default=None, help="The reply's text; only STOP words opt out. "
                                           "Without it, --from is opted out directly.")
@click.option("--dir", "folder", default=None, type=click.Path(file_okay=False),
              help="Handle every reply file in this folder [CRMKIT_SMS_OPTOUT_DIR].")
@pass_crm
def sms_optout(crm, phone, text, folder):
    """Put numbers that answered STOP on the suppression list."""
    from .optout import handle_reply, process_folder
    if not crm.actor.is_admin:
        raise AccessDenied(Message("sms optout: administrators only"))
    settings = _settings()
    if phone:
        action = handle_reply(crm, phone, text, source="command", default_country=settings.default_country)
        say(crm, "{phone}: {action}", context="notify_sms.counts", phone=phone, action=Message(action, context="notify_sms.counts"))
        return
    folder = folder or settings.optout_dir
    if not folder:
        raise click.UsageError(Message("give --from, --dir or set CRMKIT_SMS_OPTOUT_DIR").said(crm.lang))
    counts = process_folder(crm, folder, settings.default_country)
    say_counts(crm, counts, "notify_sms.counts")
