"""Core CLI groups: partner, interaction, task, reminder, calendar, segment, user."""
from __future__ import annotations

import click

from crmkit.cli import (database_url, destructive, emit, format_option, parse_assignments, pass_crm, record_row,
                        refuse, say)

from .kinds import INTERACTION_KINDS


def register_commands(cli):
    for group in (partner, interaction, task, reminder, calendar, segment, user, privacy, rates):
        cli.add_command(group)


@click.group()
def partner():
    """Partners: holdings, store networks and their history."""


@partner.command("tree")
@click.argument("key")
@format_option
@pass_crm
def partner_tree(crm, key, fmt):
    """The whole holding or store network of a partner."""
    from .partners import tree
    rows = [{"level": depth, "code": p.code, "name": ("  " * depth) + p.name, "manager":
             p.manager.name if p.manager_id else ""} for depth, p in tree(crm, key)]
    emit(rows, fmt, lang=crm.lang)


@partner.command("history")
@click.argument("key")
@click.option("--only", is_flag=True, help="This partner only, not its whole holding.")
@format_option
@pass_crm
def partner_history(crm, key, only, fmt):
    """Interactions with a partner and its holding, newest first."""
    from .partners import interaction_history
    emit([record_row(crm, "core.interaction", r) for r in interaction_history(crm, key, not only)], fmt,
         lang=crm.lang)


@click.group()
def interaction():
    """Log interactions: calls, meetings, emails, SMS."""


@interaction.command("invite")
@click.argument("key")
@pass_crm
def interaction_invite(crm, key):
    """Email the meeting KEY's contact person an invitation (iCalendar); again after a change: an update."""
    result = crm.act("core.invite", key)
    say(crm, "invitation to {recipient} queued (message {message})", recipient=result["recipient"],
        message=result["queued"])


@interaction.command("cancel-invitation")
@click.argument("key")
@pass_crm
def interaction_cancel_invitation(crm, key):
    """Tell the meeting KEY's contact person the meeting is cancelled (iCalendar METHOD:CANCEL)."""
    result = crm.act("core.cancel_invitation", key)
    say(crm, "cancellation to {recipient} queued (message {id})", recipient=result["recipient"], id=result["queued"])


@interaction.command("log")
@click.argument("kind", type=click.Choice(INTERACTION_KINDS))
@click.argument("values", nargs=-1)
@pass_crm
def interaction_log(crm, kind, values):
    """Log one: crmkit interaction log call direction=incoming partner=00-00000036 subject=deals.deal:3 topic=..."""
    from crmkit import utcnow
    data = {"kind": kind, "date": utcnow(), **parse_assignments(values)}
    if isinstance(data.get("partner"), str) and not data["partner"].isdigit():
        data["partner"] = crm.get("core.partner", data["partner"]).id
    record = crm.create("core.interaction", data)
    say(crm, "logged interaction {number}", number=record.number)


@click.group()
def task():
    """Tasks: mine, done, stop, continue."""


@task.command("mine")
@click.option("--all", "show_all", is_flag=True, help="Include done and stopped tasks.")
@format_option
@pass_crm
def task_mine(crm, show_all, fmt):
    """Tasks whose performer is the acting user."""
    filters = {} if show_all else {"state": "active"}
    records = crm.find("core.task", performer=crm.actor.id, **filters) if crm.actor.id else \
        crm.find("core.task", **filters)
    emit([record_row(crm, "core.task", r) for r in records], fmt, lang=crm.lang)


def _state(crm, key, action, result=""):
    record = crm.act(action, key, **({"result": result} if result else {}))
    from crmkit import Choice
    say(crm, "task {number}: {state}", number=record.number, state=Choice(record.state, "core.task.state"))


@task.command("done")
@click.argument("key")
@click.option("--result", default="", help="What was done.")
@pass_crm
def task_done(crm, key, result):
    """Complete a task (by number or id)."""
    _state(crm, key, "core.complete_task", result)


@task.command("stop")
@click.argument("key")
@pass_crm
def task_stop(crm, key):
    """Stop a task for now."""
    _state(crm, key, "core.stop_task")


@task.command("continue")
@click.argument("key")
@pass_crm
def task_continue(crm, key):
    """Continue a stopped task."""
    _state(crm, key, "core.continue_task")


@click.group()
def reminder():
    """Reminders."""


@reminder.command("due")
@click.option("--at", "at", default=None, help="Moment to check (ISO); default now.")
@format_option
@pass_crm
def reminder_due(crm, at, fmt):
    """Reminders of the acting user that are due and not done."""
    from crmkit import utcnow
    moment = utcnow()
    if at:
        import datetime as dt
        moment = dt.datetime.fromisoformat(at)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=crm.zone)   # a local time of the user
    records = crm.find("core.reminder", remind_at__le=moment, done=False)
    emit([{**record_row(crm, "core.reminder", r), "about": _about(crm, r)} for r in records], fmt, lang=crm.lang)


@reminder.command("notify")
@pass_crm
def reminder_notify(crm):
    """Queue an email for every due reminder (an administrator: everyone's); run it from cron."""
    result = crm.act("core.notify_reminders")
    say(crm, "{queued} reminders queued, {skipped_no_email} skipped (no email address), "
        "{skipped_inactive} skipped (inactive user)", **result)


@click.group()
def calendar():
    """iCalendar feeds: meetings, planned interactions, task deadlines, events."""


@calendar.command("url")
@click.argument("login")
@pass_crm
def calendar_url(crm, login):
    """Make (or rotate) LOGIN's secret feed URL and print it once; the old one stops working."""
    import os
    result = crm.act("core.calendar_url", login=login)
    base = os.environ.get("CRMKIT_PUBLIC_URL", "").rstrip("/")
    say(crm, "calendar feed of {login}; the URL is shown only now:", err=True, login=login)
    click.echo(f"{base}{result['path']}")


@calendar.command("export")
@click.option("--user", "login", default=None, help="Whose calendar (default: yours; administrators: anyone's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The .ics file to write.")
@pass_crm
def calendar_export(crm, login, output):
    """Write a user's calendar (the same as their feed) to an .ics file."""
    from .calendar import feed_of
    text = feed_of(crm, login)
    with open(output, "w", encoding="utf-8", newline="") as out:
        out.write(text)
    say(crm, "{events} events written to {file}", events=text.count("BEGIN:VEVENT"), file=output)


def _about(crm, record):
    """What a record is about; empty when its subject is gone (one stale
    reminder must not stop the others from being shown)."""
    from crmkit import NotFound
    if not record.subject_type:
        return ""
    try:
        return crm.describe(f"{record.subject_type}:{record.subject_id}")
    except NotFound:
        return ""


@click.group()
def segment():
    """Segments of partners and products."""


@segment.command("compute")
@click.argument("key", required=False)
@pass_crm
def segment_compute(crm, key):
    """Recompute one rule segment, or all."""
    targets = [crm.get("core.segment", key)] if key else crm.find("core.segment", method="rule")
    for seg in targets:
        r = crm.act("core.compute_segment", seg.id)
        say(crm, "{segment}: {members} members (+{added} -{removed})", **r)


@segment.command("members")
@click.argument("key")
@format_option
@pass_crm
def segment_members(crm, key, fmt):
    """Current members of a segment."""
    from .segments import members_query
    seg = crm.get("core.segment", key)
    entity = f"core.{seg.kind}"
    emit([record_row(crm, entity, r, ["id", "code", "name"]) for r in members_query(crm, key)], fmt, lang=crm.lang)


@segment.command("add")
@click.argument("key")
@click.argument("ids", nargs=-1, type=int, required=True)
@pass_crm
def segment_add(crm, key, ids):
    """Add members to a manual segment."""
    say(crm, "added {n}", n=crm.act("core.add_members", key, ids=list(ids))["added"])


@segment.command("remove")
@click.argument("key")
@click.argument("ids", nargs=-1, type=int, required=True)
@pass_crm
def segment_remove(crm, key, ids):
    """Remove members from a manual segment (their leaving date is kept)."""
    say(crm, "removed {n}", n=crm.act("core.remove_members", key, ids=list(ids))["removed"])


@click.group()
def rates():
    """Exchange rates: load a day's rates from a provider (files go through `crmkit import core.currency_rate`)."""


@rates.command("load")
@click.argument("source")
@click.option("--date", "day", default=None, help="The day whose rates to load (YYYY-MM-DD); default today.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The provider's document stored before (e.g. a saved XML_daily.asp), instead of asking it.")
@click.option("--encoding", default=None, help="The file's encoding when it is neither UTF-8 nor cp1251.")
@pass_crm
def rates_load(crm, source, day, path, encoding):
    """Load the rates of a day from SOURCE (cbr: the Central Bank of Russia): crmkit rates load cbr --date 2024-01-10"""
    content = None
    if path:
        from crmkit.kernel.filereader import detect_encoding
        with open(path, "rb") as f:
            data = f.read(2_000_001)
        content = data.decode(detect_encoding(data[:65536], encoding), errors="strict")
    result = crm.act("core.load_rates", source=source, date=day, content=content)
    say(crm, "{loaded} rates of {date} loaded from {source} ({replaced} updated)", loaded=result["loaded"],
        date=result["date"], source=source, replaced=result["replaced"])


@click.group()
def user():
    """Users, roles, access groups (administrators only) and API tokens."""


@user.command("grant")
@click.argument("login")
@click.argument("access_group")
@pass_crm
def user_grant(crm, login, access_group):
    """Give a user an access group of partners."""
    u = crm.get("core.user", login)
    group = crm.find("core.access_group", name=access_group) or [crm.get("core.access_group", access_group)]
    crm.create("core.user_access", {"user": u.id, "access_group": group[0].id})
    say(crm, "{login}: access group {group}", login=login, group=group[0].name)


@user.command("revoke")
@click.argument("login")
@click.argument("access_group")
@pass_crm
def user_revoke(crm, login, access_group):
    """Take an access group from a user."""
    u = crm.get("core.user", login)
    group = crm.find("core.access_group", name=access_group)
    if not group:
        refuse("no access group {name}", name=repr(access_group))
    from . import models as m
    crm.require("delete", "core.user_access")
    n = m.UserAccess.delete().where((m.UserAccess.user == u.id) & (m.UserAccess.access_group == group[0].id)).execute()
    say(crm, "revoked {n}", n=n)


@user.command("password")
@click.argument("login")
@click.option("--if-missing", is_flag=True, help="Only when the user has no password yet (make serve).")
@pass_crm
def user_password(crm, login, if_missing):
    """Set a user's password (asked twice, never taken from the command line)."""
    from .passwords import MIN_LENGTH, has_password, set_password
    if if_missing and has_password(login):
        say(crm, "{login}: has a password", login=login)
        return
    from crmkit import Message
    password = click.prompt(Message("New password for {login} (at least {n} characters)", login=login,
                                    n=MIN_LENGTH).said(crm.lang),
                            hide_input=True, confirmation_prompt=Message("Repeat for confirmation",
                                                                         domain="kernel").said(crm.lang))
    set_password(crm, login, password)
    say(crm, "{login}: password set", login=login)


@user.command("unlock")
@click.argument("login")
@pass_crm
def user_unlock(crm, login):
    """Lift a login's lockout after repeated failed sign-ins."""
    from .passwords import unlock
    say(crm, "{login}: unlocked" if unlock(crm, login) else "{login}: was not locked", login=login)


@user.group("token")
def token():
    """Personal API tokens (shown once, stored hashed)."""


@token.command("create")
@click.argument("login")
@click.option("--name", default="", help="What the token is for (\"website form\").")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None,
              help="Days until it stops working (default: never).")
@pass_crm
def token_create(crm, login, name, expires_days):
    """Create an API token for LOGIN and print it once."""
    from . import tokens
    record, secret = tokens.create(crm, login, name=name, expires_days=expires_days)
    if record.expires_at:
        say(crm, "token {id} for {login}, expires {expires}; it is shown only now:", err=True, id=record.id,
            login=login, expires=record.expires_at)
    else:
        say(crm, "token {id} for {login}; it is shown only now:", err=True, id=record.id, login=login)
    click.echo(secret)


@token.command("list")
@click.argument("login", required=False)
@click.option("--all", "everyone", is_flag=True, help="Every user's tokens (administrators).")
@format_option
@pass_crm
def token_list(crm, login, everyone, fmt):
    """API tokens of LOGIN (default: yours); never their secrets."""
    from . import tokens
    emit(tokens.listing(crm, "*" if everyone else login), fmt, lang=crm.lang)


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_crm
def token_revoke(crm, token_id):
    """Revoke an API token by its id: it stops working at once."""
    from . import tokens
    record = tokens.revoke(crm, token_id)
    say(crm, "revoked token {id}", id=record.id)


@click.group()
def privacy():
    """Personal data: erasure and subject access export."""


def _erased_person(state, entity, key, **params):
    return database_url(state), True  # a person's data is never empty


@destructive("erasure of personal data cannot be undone", _erased_person)
@privacy.command("erase")
@click.argument("entity", type=click.Choice(["core.partner", "core.contact"]))
@click.argument("key")
@click.option("--yes", is_flag=True, help="Confirm: erasure cannot be undone.")
@pass_crm
def privacy_erase(crm, entity, key, yes):
    """Anonymise an individual partner or a contact person everywhere (administrators only)."""
    touched = crm.act("core.erase" if entity == "core.partner" else "core.erase_contact", key)
    from crmkit import Message
    say(crm, "erased: {what}", what=", ".join(f"{Message(k, context='core.erase').said(crm.lang)} {v}" for k, v in touched.items()))


@privacy.command("export")
@click.argument("entity", type=click.Choice(["core.partner", "core.contact"]))
@click.argument("key")
@click.option("-o", "--output", default=None, help="JSON file (default: standard output).")
@pass_crm
def privacy_export(crm, entity, key, output):
    """Everything held about a person, as JSON (subject access request)."""
    import json
    from .privacy import export
    text = json.dumps(export(crm, entity, key), ensure_ascii=False, indent=1, default=str)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
        say(crm, "written {file}", file=output)
    else:
        click.echo(text)
