"""``crmkit sms ...``: settings, a test send, status, opt-outs."""
from __future__ import annotations

import click

from crmkit import AccessDenied
from crmkit.cli import emit, format_option, pass_crm


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
    click.echo(f"{r.encoding}: {r.units} units, {r.segments} segment(s) of up to {r.per_segment}")


@sms.command("test")
@click.argument("phone")
@click.argument("text")
@pass_crm
def sms_test(crm, phone, text):
    """Send one SMS straight away through the configured provider."""
    from crmkit import PermanentFailure, TemporaryFailure
    from .channel import prepare, provider_for
    if not crm.actor.is_admin:
        raise AccessDenied("sms test: administrators only")
    settings = _settings()
    try:
        message, length = prepare(text, phone, settings)
        provider_id = provider_for(crm, settings).send(message, settings)
    except (PermanentFailure, TemporaryFailure) as exc:
        kind = "permanent" if isinstance(exc, PermanentFailure) else "temporary"
        raise click.ClickException(f"not sent ({kind}): {exc}") from None
    click.echo(f"sent to {message.phone}: {length.encoding}, {length.segments} segment(s), "
               f"provider id {provider_id or '-'}")


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
        rows.append({"id": msg.id, "recipient": msg.recipient, "state": msg.state, "attempts": msg.attempts,
                     "encoding": info.encoding if info else "", "segments": info.segments if info else "",
                     "provider_id": info.provider_id if info else "", "last_error": msg.last_error,
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
        raise AccessDenied("sms optout: administrators only")
    settings = _settings()
    if phone:
        action = handle_reply(crm, phone, text, source="command", default_country=settings.default_country)
        click.echo(f"{phone}: {action}")
        return
    folder = folder or settings.optout_dir
    if not folder:
        raise click.UsageError("give --from, --dir or set CRMKIT_SMS_OPTOUT_DIR")
    counts = process_folder(crm, folder, settings.default_country)
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
