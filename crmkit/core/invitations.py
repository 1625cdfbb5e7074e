"""An invitation to a meeting (iMIP, RFC 6047): an email to the meeting's
contact person with the meeting as a ``text/calendar; method=REQUEST`` part,
queued in the outbox. The event has the UID of the user's feed
(``calendar.py``), so the invitee's calendar and the user's own show one
meeting; inviting again after a change sends an update (a new SEQUENCE),
inviting again without one is the same message (its key). Cancelling
sends METHOD:CANCEL with the same UID, once. The text gives the time in
the acting user's zone and language."""
from __future__ import annotations

from crmkit import ValidationError, translate, utcnow

from .calendar import _CONTROL, _event, _fold, calendar_host, entry


def _contact_email(crm, contact_id):
    from .models import ContactInfo
    row = (crm.query("core.contact_info").where((ContactInfo.contact == contact_id) & (ContactInfo.kind == "email"))
           .order_by(ContactInfo.id).first())
    return row.value.strip() if row else ""


def invite(crm, meeting, cancel=False) -> dict:
    """Queue the invitation to ``meeting``'s contact person (or, with
    ``cancel``, its cancellation: METHOD:CANCEL, STATUS:CANCELLED, a higher
    SEQUENCE, for a meeting invited before); returns ``{"queued": message
    id, "recipient": address}``."""
    if meeting.kind != "meeting":
        raise ValidationError({"kind": "only a meeting has invitations"}, "core.interaction")
    if not meeting.contact_id:
        raise ValidationError({"contact": "the meeting has no contact person to invite"}, "core.interaction")
    if "email" not in crm.registry.channels:
        raise ValidationError({"channel": "no email channel installed (the notify_email plugin sends invitations)"})
    address = _contact_email(crm, meeting.contact_id)
    if not address:
        raise ValidationError({"contact": "the contact person has no email address"}, "core.interaction")
    if cancel and not _invited(meeting.id):
        raise ValidationError({"meeting": "no invitation to this meeting was sent: nothing to cancel"},
                              "core.interaction")
    contact = crm.get("core.contact", meeting.contact_id)
    organizer = crm.get("core.user", meeting.responsible_id) if meeting.responsible_id else None
    lang = crm.lang
    summary = meeting.topic or translate("meeting", lang, context="core.interaction")
    import datetime as dt
    item = entry("core.interaction", meeting.id, summary, meeting.date,
                 end=meeting.date + dt.timedelta(minutes=meeting.duration) if meeting.duration > 0 else None,
                 description=meeting.text, changed_at=meeting.changed_at, created_at=meeting.created_at)
    event = _event(item, calendar_host(), utcnow())
    people = [f"ATTENDEE;CN={_param(contact.name)};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:"
              f"mailto:{address}"]
    if organizer is not None and organizer.email:
        people.insert(0, f"ORGANIZER;CN={_param(organizer.name)}:mailto:{organizer.email}")
    at = next(i for i, line in enumerate(event) if line.startswith("SEQUENCE:"))
    sequence = int(event[at][9:])
    if cancel:   # RFC 5546 3.2.5: the cancellation outranks every request sent before it
        sequence += 1
        event[at] = f"SEQUENCE:{sequence}"
        people.append("STATUS:CANCELLED")
    event[-1:-1] = people
    method = "CANCEL" if cancel else "REQUEST"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//crmkit//calendar//EN", f"METHOD:{method}", *event,
             "END:VCALENDAR"]
    content = "".join(_fold(line) + "\r\n" for line in lines)
    title = translate("Meeting cancelled" if cancel else "Invitation", lang, domain="core")
    when = _local_time(crm, meeting.date)
    message = crm.outbox.queue(
        "email", address, subject=_one_line(f"{title}: {summary}"), text=f"{summary}\n{when}\n\n{meeting.text}",
        key=f"core.invite:{meeting.id}:{'cancel' if cancel else sequence}", source=f"core.interaction:{meeting.id}",
        partner_id=meeting.partner_id, contact_id=meeting.contact_id, recipient_name=_one_line(contact.name),
        meta={"calendar": {"method": method, "content": content}})
    crm.log_action("core.interaction", meeting.id, "uninvite" if cancel else "invite",
                   f"{'cancellation' if cancel else 'invitation'} to {address}")
    return {"queued": message.id, "recipient": address}


def _local_time(crm, moment) -> str:
    """The meeting's time as the acting user reads it: their zone, named."""
    import datetime as dt
    from crmkit.kernel.i18n import format_value
    from crmkit.kernel.zones import user_zone
    zone = user_zone(crm.actor.time_zone)
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)
    return f"{format_value(aware, crm.lang, zone)} ({zone})"


def _invited(meeting_id) -> bool:
    """Whether an invitation (a request) to the meeting was ever queued."""
    from crmkit.kernel.models import OutboxMessage
    key = OutboxMessage.idempotency_key
    return OutboxMessage.select().where(key.startswith(f"core.invite:{meeting_id}:") &
                                        (key != f"core.invite:{meeting_id}:cancel")).exists()


def _param(value) -> str:
    """A parameter value (CN=...): quoted, without quotes or control characters (RFC 5545 3.2)."""
    return '"' + _CONTROL.sub(" ", str(value or "")).replace('"', "").replace("\n", " ").replace("\r", " ") + '"'


def _one_line(text) -> str:
    return " ".join(str(text).split())
