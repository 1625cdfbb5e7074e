"""``crmkit marketing ...``: channels, events, participants, primary interest,
mailing groups, templates, subscriptions, opt-outs and mailings."""
from __future__ import annotations

import functools

import click

from crmkit.cli import database_url, destructive, emit, format_option, parse_assignments, pass_crm, record_row, say, say_counts

from crmkit import Choice, Message, format_value, lazy_module, translate, translate_message

from . import kinds

m = lazy_module(__package__ + ".models")  # peewee only when a command runs


def _partner_id(crm, key):
    return None if key is None else crm.get("core.partner", key).id


@click.group()
def marketing():
    """Marketing: channels, primary interest, events, mailings and notifications."""


# -- channels and primary interest -------------------------------------------

@marketing.group()
def channel():
    """Advertising channels (каналы рекламных воздействий)."""


@channel.command("list")
@format_option
@pass_crm
def channel_list(crm, fmt):
    """Channels and their impact types."""
    emit([record_row(crm, "marketing.channel", r) for r in crm.find("marketing.channel")], fmt, lang=crm.lang)


@channel.command("add")
@click.argument("name")
@click.argument("impact_type", type=click.Choice(kinds.IMPACT_TYPES))
@pass_crm
def channel_add(crm, name, impact_type):
    """Add a channel: crmkit marketing channel add Выставки event"""
    record = crm.create("marketing.channel", {"name": name, "impact_type": impact_type})
    say(crm, "channel {id}: {name} ({impact})", id=record.id, name=record.name,
        impact=Choice(record.impact_type, "marketing.channel.impact_type"))


@marketing.group()
def interest():
    """Primary interest of partners and deals."""


@interest.command("set")
@click.argument("subject")
@click.argument("channel_name")
@click.argument("source")
@pass_crm
def interest_set(crm, subject, channel_name, source):
    """Set it: crmkit marketing interest set deals.deal:3 Выставки marketing.event:1"""
    record = crm.act("marketing.set_interest", subject=subject, channel=channel_name, source=source)
    say(crm, "primary interest of {subject}: {interest}", subject=f"{record.subject_type}:{record.subject_id}",
        interest=crm.display("marketing.primary_interest", record))


@interest.command("show")
@click.argument("subject")
@pass_crm
def interest_show(crm, subject):
    """The primary interest of a partner or deal."""
    from .interest import describe_source, primary_interest_of
    record = primary_interest_of(crm, subject)
    if record is None:
        click.echo(translate("(none)", crm.lang))
        return
    t = functools.partial(translate, lang=crm.lang, context="marketing.primary_interest")
    click.echo(f"{t('channel')}: {record.channel.name}\n{t('source')}: {describe_source(crm, record)}\n"
               f"{t('date')}: {format_value(record.date, crm.lang)}")


# -- events ------------------------------------------------------------------

@marketing.group()
def event():
    """Marketing events and their participants."""


@event.command("list")
@format_option
@pass_crm
def event_list(crm, fmt):
    emit([record_row(crm, "marketing.event", r) for r in crm.find("marketing.event")], fmt, lang=crm.lang)


@event.command("add")
@click.argument("values", nargs=-1, required=True)
@pass_crm
def event_add(crm, values):
    """Add one: crmkit marketing event add name="Выставка" planned_start=2015-04-15 budget_planned=150000"""
    record = crm.create("marketing.event", parse_assignments(values))
    say(crm, "event {code}: {name}", code=record.code, name=record.name)


@event.command("show")
@click.argument("key")
@format_option
@pass_crm
def event_show(crm, key, fmt):
    """An event's participants."""
    ev = crm.get("marketing.event", key)
    click.echo(f"{ev.code} {ev.name}" + (f" ({translate('completed', crm.lang)})" if ev.completed else ""))
    rows = crm.find("marketing.participant", event=ev.id)
    emit([record_row(crm, "marketing.participant", r, ["partner", "role", "contact", "comment"]) for r in rows],
         fmt, lang=crm.lang, context="marketing.participant")


@event.command("participant")
@click.argument("key")
@click.argument("partner")
@click.option("--role", type=click.Choice(kinds.PARTICIPANT_ROLES), default="client", show_default=True)
@click.option("--contact", type=int, default=None, help="Contact person id.")
@click.option("--comment", default="")
@pass_crm
def event_participant(crm, key, partner, role, contact, comment):
    """Add a participant (partner code or id)."""
    from .events import add_participant
    add_participant(crm, key, _partner_id(crm, partner), role, contact, comment)
    say(crm, "participant added")


@event.command("fill")
@click.argument("key")
@pass_crm
def event_fill(crm, key):
    """Fill the target list from the event's client segment."""
    say(crm, "added {n} participants", n=crm.act("marketing.fill", key)["added"])


# -- groups, templates, subscriptions ----------------------------------------

@marketing.group("group")
def group_():
    """Mailing groups (группы рассылок и оповещений)."""


@group_.command("list")
@format_option
@pass_crm
def group_list(crm, fmt):
    emit([record_row(crm, "marketing.mailing_group", r) for r in crm.find("marketing.mailing_group")], fmt,
         lang=crm.lang)


@group_.command("add")
@click.argument("values", nargs=-1, required=True)
@pass_crm
def group_add(crm, values):
    """Add one: crmkit marketing group add name="Отмечаем юбилей" mode=subscription send_sms=no"""
    record = crm.create("marketing.mailing_group", parse_assignments(values))
    say(crm, "group {id}: {name}", id=record.id, name=record.name)


@marketing.group()
def template():
    """Notification and mailing templates."""


@template.command("preview")
@click.argument("key")
@click.option("--partner", required=True, help="Partner code or id to render for.")
@click.option("--contact", type=int, default=None)
@pass_crm
def template_preview(crm, key, partner, contact):
    """Render a template for a partner (nothing is sent)."""
    from .render import context_for, render_message
    tpl = crm.get("marketing.template", key)
    p = crm.get("core.partner", partner)
    c = crm.get("core.contact", contact) if contact else None
    out = render_message(crm, tpl, context_for(crm, p, c), entity=tpl.kind.based_on if tpl.kind_id else None)
    if tpl.email or tpl.method == "processing":
        say(crm, "Subject: {subject}\n\n{text}", subject=out["subject"], text=out["text"])
    if out.get("sms"):
        click.echo(f"SMS: {out['sms']}")


@marketing.command("subscribe")
@click.argument("group")
@click.option("--partner", default=None)
@click.option("--contact", type=int, default=None)
@click.option("--channel", "channel_name", type=click.Choice(kinds.MESSAGE_CHANNELS), default="email", show_default=True)
@click.option("--address", default="")
@click.option("--kind", default=None, help="Only this notification kind (code).")
@click.option("--method", default="cli", show_default=True, help="How the consent was given.")
@pass_crm
def subscribe_cmd(crm, group, partner, contact, channel_name, address, kind, method):
    """Subscribe a partner or contact person; the consent goes to the ledger."""
    sub = crm.act("marketing.subscribe", group=group, channel=channel_name, partner=partner, contact=contact,
                  address=address, kind=kind, method=method)
    say(crm, "subscription {id}", id=sub.id)


@marketing.command("opt-out")
@click.option("--channel", "channel_name", type=click.Choice(kinds.MESSAGE_CHANNELS), default="email", show_default=True)
@click.option("--address", default="")
@click.option("--partner", default=None)
@click.option("--contact", type=int, default=None)
@click.option("--group", default=None, help="Only this mailing group; default every group (and suppress).")
@click.option("--method", default="cli", show_default=True, help="How the opt-out was given.")
@click.option("--comment", default="")
@pass_crm
def opt_out_cmd(crm, channel_name, address, partner, contact, group, method, comment):
    """Record an opt-out; it is honoured even for messages already queued."""
    entry = crm.act("marketing.opt_out", channel=channel_name, partner=partner, contact=contact, address=address,
                    group=group, method=method, comment=comment)
    say(crm, "opt-out recorded ({id})", id=entry.id)


@marketing.command("unsubscribe")
@click.argument("token")
@pass_crm
def unsubscribe_cmd(crm, token):
    """Apply a signed unsubscribe token."""
    entry = crm.act("marketing.unsubscribe", token=token)
    say(crm, "unsubscribed {channel} {address}", channel=Choice(entry.channel, "marketing.consent.channel"),
        address=entry.address)


@marketing.command("consents")
@click.option("--partner", default=None)
@format_option
@pass_crm
def consents_cmd(crm, partner, fmt):
    """The consent ledger, newest first."""
    filters = {"partner": _partner_id(crm, partner)} if partner else {}
    emit([record_row(crm, "marketing.consent", r) for r in crm.find("marketing.consent", **filters)], fmt,
         lang=crm.lang)


# -- mailings ------------------------------------------------------------------

@marketing.group()
def mailing():
    """Mailings: create, preview, test, send, status."""


@mailing.command("list")
@format_option
@pass_crm
def mailing_list(crm, fmt):
    emit([record_row(crm, "marketing.mailing", r) for r in crm.find("marketing.mailing")], fmt, lang=crm.lang)


@mailing.command("create")
@click.argument("values", nargs=-1, required=True)
@pass_crm
def mailing_create(crm, values):
    """Create one: crmkit marketing mailing create name=... group=1 template=2 audience=segment segment=1"""
    record = crm.create("marketing.mailing", parse_assignments(values))
    say(crm, "mailing {id}: {name}", id=record.id, name=record.name)


@mailing.command("preview")
@click.argument("key")
@click.option("--limit", type=click.IntRange(0), default=5, show_default=True, help="Recipients to show (0: all).")
@format_option
@pass_crm
def mailing_preview(crm, key, limit, fmt):
    """Who would get what (nothing is queued)."""
    from .mailings import preview_page
    rows, total = preview_page(crm, key, limit)
    if fmt != "json":       # why a recipient gets nothing, in the user's words
        rows = [{**r, "reason": translate_message(r["reason"], crm.lang)} if r.get("reason") else r for r in rows]
    emit(rows, fmt, lang=crm.lang)
    if fmt != "json" and total > len(rows):
        say(crm, "{shown} of {total} recipients shown; --limit 0 shows them all", shown=len(rows), total=total)


@mailing.command("test")
@click.argument("key")
@click.argument("address")
@click.option("--channel", "channel_name", type=click.Choice(kinds.MESSAGE_CHANNELS), default="email")
@click.option("--partner", default=None, help="Render for this partner.")
@click.option("--deliver", is_flag=True, help="Deliver the mailing's test copies now.")
@pass_crm
def mailing_test(crm, key, address, channel_name, partner, deliver):
    """Queue one test copy to ADDRESS."""
    sent = crm.act("marketing.test_send", key, address=address, channel=channel_name, partner=partner)
    say(crm, "queued test message {id} to {recipient}", id=sent["outbox_id"], recipient=sent["recipient"])
    if deliver:
        from .mailings import deliver as deliver_mailing
        counts = deliver_mailing(crm, key)
        say_counts(crm, counts, "marketing.mailing_status")


@mailing.command("send")
@click.argument("key")
@click.option("--deliver", is_flag=True, help="Deliver this mailing's messages now as well (only these: "
                                             "the rest of the outbox is `outbox deliver`, for administrators).")
@pass_crm
def mailing_send(crm, key, deliver):
    """Queue the mailing for every recipient."""
    from .mailings import deliver as deliver_mailing, status
    result = crm.act("marketing.send", key)
    if deliver:
        deliver_mailing(crm, key)
        result = status(crm, key)
    _print_status(crm, result)


@mailing.command("status")
@click.argument("key")
@format_option
@pass_crm
def mailing_status(crm, key, fmt):
    """Delivery statistics of a mailing."""
    from .mailings import status
    result = status(crm, key)
    if fmt == "json":
        emit([result], fmt)
    else:
        _print_status(crm, result)


def _print_status(crm, result):
    say(crm, "{mailing} ({state}): {recipients} recipients, {queued} queued, {sent} sent, {failed} failed, "
        "{skipped} skipped", mailing=result["mailing"], state=Choice(result["state"], "marketing.mailing"),
        recipients=result["recipients"], queued=result["queued"] + result.get("sending", 0), sent=result["sent"],
        failed=result["failed"], skipped=result["skipped"])
    for reason, n in sorted(result["reasons"].items(), key=lambda kv: -kv[1]):
        say(crm, "  skipped {n}: {reason}", n=n, reason=translate_message(reason, crm.lang))


@destructive("purge deletes the mailings' sent messages", lambda state, **params: (database_url(state), True))
@mailing.command("purge")
@pass_crm
def mailing_purge(crm):
    """Delete sent/skipped messages older than their group's retention."""
    say(crm, "deleted {n} messages", n=crm.act("marketing.purge")["deleted"])
