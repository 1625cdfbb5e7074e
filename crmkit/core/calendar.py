"""A user's iCalendar (RFC 5545) feed: their meetings and planned
interactions, the deadlines of their tasks, and what plugins add through
``crmkit_calendar_entries`` (marketing: the events they are responsible for).

Every entry is read through the user's own ``Crm`` (``crm.query``), so the
feed holds only what that user may see. UIDs are ``<entity>-<id>@<host>``
and SEQUENCE / LAST-MODIFIED come from the record's ``changed_at``, so a
calendar updates an event in place when the record changes. Written with the
standard library: the format is a few escaped, folded lines.

The feed's URL carries a secret; only its SHA-256 is stored (as API tokens,
``tokens.py``), and rotating it makes the old URL a 404.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from urllib.parse import urlsplit

from crmkit import AccessDenied, NotFound, ValidationError, transaction, translate, utcnow

from .tokens import digest

UTC = dt.timezone.utc
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")   # not allowed in a TEXT value (RFC 5545 3.3.11)


def calendar_host() -> str:
    """The host part of every UID: ``CRMKIT_CALENDAR_HOST``, else the host of
    ``CRMKIT_PUBLIC_URL``, else ``crmkit.local``. Keep it fixed: a new host
    makes every event a new one in the users' calendars."""
    host = os.environ.get("CRMKIT_CALENDAR_HOST", "").strip()
    if not host and os.environ.get("CRMKIT_PUBLIC_URL"):
        host = urlsplit(os.environ["CRMKIT_PUBLIC_URL"]).hostname or ""
    return host or "crmkit.local"


# -- the secret URL ------------------------------------------------------------
def rotate_secret(crm, login) -> str:
    """A new feed secret for ``login`` (administrators: anyone; a user: their
    own); the old URL stops working. Returns the secret, kept nowhere."""
    from .models import CalendarFeed
    user = crm.get("core.user", login)
    if not crm.actor.is_admin and crm.actor.id != user.id:
        raise AccessDenied(f"user {crm.actor.login!r} may manage only their own calendar URL")
    secret = secrets.token_urlsafe(32)
    with transaction():
        CalendarFeed.delete().where(CalendarFeed.user == user.id).execute()
        CalendarFeed.create(user=user.id, secret_hash=digest(secret), created_at=utcnow())
    crm.log_action("core.user", user.id, "calendar", "calendar feed URL rotated")
    return secret


def login_for_secret(secret: str) -> str | None:
    """The active user whose feed ``secret`` opens, or None (unknown, rotated,
    inactive or marked user: the caller answers 404 alike)."""
    from .models import CalendarFeed, User
    if not isinstance(secret, str) or not 20 <= len(secret) <= 100:
        return None
    row = (User.select(User.login).join(CalendarFeed, on=(CalendarFeed.user == User.id))
           .where((CalendarFeed.secret_hash == digest(secret)) & (User.is_active == True)  # noqa: E712
                  & (User.deletion_mark == False)).first())  # noqa: E712
    return row.login if row else None


# -- entries -------------------------------------------------------------------
def entry(entity, record_id, summary, start, *, end=None, description="", changed_at=None, created_at=None):
    """One calendar entry, as ``crmkit_calendar_entries`` returns them:
    ``start``/``end`` aware datetimes (or dates, for whole days)."""
    return {"entity": entity, "id": record_id, "summary": summary, "start": start, "end": end,
            "description": description, "changed_at": changed_at, "created_at": created_at}


def entries(crm) -> list[dict]:
    """The acting user's entries: core's and every plugin's."""
    if crm.actor.id is None:
        raise ValidationError({"user": "the system user has no calendar"})
    from .models import Interaction, Task
    me, lang = crm.actor.id, crm.lang
    out = []
    q = crm.query("core.interaction").where(Interaction.kind.in_(("meeting", "planned"))
                                            & (Interaction.responsible == me))
    for r in q.order_by(Interaction.date, Interaction.id):
        kind = translate(r.kind, lang, context="core.interaction")
        out.append(entry("core.interaction", r.id, f"{kind}: {r.topic}" if r.topic else kind, r.date,
                         end=r.date + dt.timedelta(minutes=r.duration) if r.duration > 0 else None,
                         description=r.text, changed_at=r.changed_at, created_at=r.created_at))
    q = crm.query("core.task").where((Task.performer == me) & Task.due.is_null(False) & (Task.state != "done"))
    for r in q.order_by(Task.due, Task.id):
        out.append(entry("core.task", r.id, f"{translate('Deadline', lang, domain='core')}: {r.title}", r.due,
                         description=r.description, changed_at=r.changed_at, created_at=r.created_at))
    for found in crm.pm.hook.crmkit_calendar_entries(crm=crm):
        out.extend(found or ())
    return out


# -- writing -------------------------------------------------------------------
def _text(value) -> str:
    value = _CONTROL.sub("", str(value or "")).replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with CRLF + space, never cutting
    a UTF-8 sequence (RFC 5545 3.1)."""
    out, current, size = [], "", 0
    for char in line:
        n = len(char.encode("utf-8"))
        if size + n > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += n
    out.append(current)
    return "\r\n".join(out)


def _moment(value) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _when(name, value) -> str:
    if isinstance(value, dt.datetime):
        return f"{name}:{_moment(value)}"
    return f"{name};VALUE=DATE:{value.strftime('%Y%m%d')}"


def _event(item, host, stamp) -> list[str]:
    changed = item.get("changed_at") or stamp
    created = item.get("created_at") or changed
    lines = ["BEGIN:VEVENT", f"UID:{item['entity']}-{item['id']}@{host}",
             f"DTSTAMP:{_moment(changed)}", f"LAST-MODIFIED:{_moment(changed)}",
             # grows with every change of the record: clients replace the event
             f"SEQUENCE:{max(0, int((changed - created).total_seconds()))}",
             _when("DTSTART", item["start"])]
    if item.get("end") is not None:
        lines.append(_when("DTEND", item["end"]))
    lines.append(f"SUMMARY:{_text(item['summary'])}")
    if item.get("description"):
        lines.append(f"DESCRIPTION:{_text(item['description'])}")
    return [*lines, "END:VEVENT"]


def render(crm) -> str:
    """The acting user's feed as iCalendar text (CRLF lines)."""
    host, stamp = calendar_host(), utcnow()
    name = translate("Calendar", crm.lang, domain="core")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//crmkit//calendar//EN", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{_text(f'crmkit: {name} ({crm.actor.login})')}"]
    for item in entries(crm):
        lines += _event(item, host, stamp)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def feed_of(crm, login) -> str:
    """``login``'s feed, read as that user (administrators: anyone's; a
    user: their own)."""
    if login is None:
        if crm.actor.id is None:
            raise ValidationError({"user": "the system user has no calendar"})
        login = crm.actor.login
    user = crm.get("core.user", login)
    if not crm.actor.is_admin and crm.actor.id != user.id:
        raise AccessDenied(f"user {crm.actor.login!r} may export only their own calendar")
    if not user.is_active:
        raise NotFound(f"user {login!r} is not active")
    return render(crm if crm.actor.id == user.id else crm.as_user(user.login))
