"""A meeting's invitation (iMIP, RFC 6047): an email to its contact person
with a text/calendar; method=REQUEST part, through the outbox and real SMTP,
read back with the icalendar library."""
import datetime as dt

import icalendar
import pytest

import crmkit
from crmkit import ValidationError
from crmkit.core.calendar import calendar_host

pytestmark = pytest.mark.plugins("notify_email")
AT = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def meeting(crm):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "email": "orlov@shop.example", "roles": "manager"})
    partner = crm.create("core.partner", {"name": "Ромашка"})
    contact = crm.create("core.contact", {"partner": partner.id, "name": 'Иванов "Ваня" Иван'})
    crm.create("core.contact_info", {"contact": contact.id, "kind": "email", "value": "ivanov@client.example"})
    return crm.as_user("orlov").create("core.interaction", {
        "kind": "meeting", "date": AT, "duration": 60, "partner": partner.id, "contact": contact.id,
        "topic": "Договор на 2027", "text": "Обсудить цены", "done": False})


def _calendar_parts(smtp_server):
    parts = []
    for mail in smtp_server.handler.parsed():
        for part in mail.walk():
            if part.get_content_type() == "text/calendar":
                parts.append((mail, part))
    return parts


def test_invitation_is_sent_once_and_updated_after_a_change(crm, meeting, smtp_server):
    orlov = crm.as_user("orlov")
    result = orlov.act("core.invite", meeting.id)
    assert result["recipient"] == "ivanov@client.example"
    assert orlov.act("core.invite", meeting.id)["queued"] == result["queued"]      # unchanged: the same message
    assert crm.outbox.deliver()["sent"] == 1
    [(mail, part)] = _calendar_parts(smtp_server)
    assert mail["To"].addresses[0].addr_spec == "ivanov@client.example"
    assert part.get_param("method") == "REQUEST"
    cal = icalendar.Calendar.from_ical(part.get_content())
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == f"core.interaction-{meeting.id}@{calendar_host()}"     # the feed's UID
    assert event.decoded("DTSTART") == AT and event.decoded("DTEND") == AT + dt.timedelta(hours=1)
    assert str(event["SUMMARY"]) == "Договор на 2027"
    assert str(event["ATTENDEE"]) == "mailto:ivanov@client.example"
    assert event["ATTENDEE"].params["CN"] == "Иванов Ваня Иван" and event["ATTENDEE"].params["RSVP"] == "TRUE"
    assert str(event["ORGANIZER"]) == "mailto:orlov@shop.example"
    first_sequence = int(event["SEQUENCE"])

    from crmkit.core.models import Interaction
    earlier = crmkit.utcnow() - dt.timedelta(hours=1)
    Interaction.update(created_at=earlier, changed_at=earlier).where(Interaction.id == meeting.id).execute()
    orlov.update("core.interaction", meeting.id, {"date": AT + dt.timedelta(days=1)})
    assert orlov.act("core.invite", meeting.id)["queued"] != result["queued"]
    assert crm.outbox.deliver()["sent"] == 1
    update = icalendar.Calendar.from_ical(_calendar_parts(smtp_server)[1][1].get_content()).walk("VEVENT")[0]
    assert update.decoded("DTSTART") == AT + dt.timedelta(days=1) and int(update["SEQUENCE"]) > first_sequence


def test_bad_invitations_are_refused_and_write_nothing(crm, meeting):
    orlov = crm.as_user("orlov")
    call = orlov.create("core.interaction", {"kind": "call", "direction": "outgoing", "date": AT,
                                             "partner": meeting.partner_id, "contact": meeting.contact_id})
    alone = orlov.create("core.interaction", {"kind": "meeting", "date": AT, "partner": meeting.partner_id})
    silent = crm.create("core.contact", {"partner": meeting.partner_id, "name": "Без почты"})
    mute = orlov.create("core.interaction", {"kind": "meeting", "date": AT, "partner": meeting.partner_id,
                                             "contact": silent.id})
    for record, field in ((call, "kind"), (alone, "contact"), (mute, "contact")):
        with pytest.raises(ValidationError) as exc:
            orlov.act("core.invite", record.id)
        assert field in exc.value.errors
    with pytest.raises(ValidationError):
        orlov.act("core.invite", meeting.id, extra=1)
    crm.create("core.user", {"login": "reader", "name": "Reader", "roles": "readonly"})
    with pytest.raises(crmkit.AccessDenied):
        crm.as_user("reader").act("core.invite", meeting.id)
    assert crm.outbox.counts() == {}


def test_invite_command(crm, meeting, cli):
    result = cli("interaction", "invite", str(meeting.id), user="orlov")
    assert result.exit_code == 0, result.output
    assert "invitation to ivanov@client.example queued" in result.output
    ru = cli("interaction", "invite", str(meeting.id), user="orlov", lang="ru")
    assert "приглашение для ivanov@client.example поставлено в очередь" in ru.output


def test_a_cancellation_follows_the_invitation_once_with_a_higher_sequence(crm, meeting, smtp_server, cli):
    orlov = crm.as_user("orlov")
    with pytest.raises(ValidationError) as exc:               # nothing was sent: nothing to cancel
        orlov.act("core.cancel_invitation", meeting.id)
    assert "nothing to cancel" in str(exc.value.errors["meeting"])
    assert crm.outbox.counts() == {}
    orlov.act("core.invite", meeting.id)
    cancelled = orlov.act("core.cancel_invitation", meeting.id)
    assert orlov.act("core.cancel_invitation", meeting.id)["queued"] == cancelled["queued"]   # once
    assert crm.outbox.deliver()["sent"] == 2
    (_, request), (mail, cancel) = _calendar_parts(smtp_server)
    assert cancel.get_param("method") == "CANCEL" and "Встреча отменена" not in str(mail["Subject"])
    sent, gone = (icalendar.Calendar.from_ical(p.get_content()).walk("VEVENT")[0] for p in (request, cancel))
    assert str(icalendar.Calendar.from_ical(cancel.get_content())["METHOD"]) == "CANCEL"
    assert str(gone["UID"]) == str(sent["UID"]) and str(gone["STATUS"]) == "CANCELLED"
    assert int(gone["SEQUENCE"]) > int(sent["SEQUENCE"])
    assert "mailto:ivanov@client.example" == str(gone["ATTENDEE"])
    crm.update("core.user", "orlov", {"time_zone": "Europe/Moscow"})
    ru = cli("interaction", "cancel-invitation", str(meeting.id), user="orlov", lang="ru")
    assert ru.exit_code == 0 and "отмена для ivanov@client.example поставлена в очередь" in ru.output
    crm.create("core.user", {"login": "reader2", "name": "Reader", "roles": "readonly"})
    with pytest.raises(crmkit.AccessDenied):
        crm.as_user("reader2").act("core.cancel_invitation", meeting.id)


def test_the_invitation_gives_the_time_in_the_users_zone(crm, meeting, smtp_server):
    crm.update("core.user", "orlov", {"time_zone": "Europe/Moscow"})
    crm.as_user("orlov").act("core.invite", meeting.id)
    crm.outbox.deliver()
    [(mail, _)] = _calendar_parts(smtp_server)
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    assert "2026-12-03 12:30 (Europe/Moscow)" in text                       # 09:30 UTC
