"""A user's iCalendar feed (crmkit.core.calendar): meetings and planned
interactions, task deadlines and marketing events of that user, only what
they may see, stable UIDs that update in place; checked with the icalendar
library."""
import datetime as dt
import hashlib

import icalendar
import pytest

import crmkit
from crmkit import AccessDenied, ValidationError
from crmkit.core import calendar, models as m

pytestmark = pytest.mark.plugins("marketing")
UTC = dt.timezone.utc
AT = dt.datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(crm):
    own = crm.create("core.access_group", {"name": "Own"})
    other = crm.create("core.access_group", {"name": "Other"})
    for login in ("orlov", "volkov"):
        crm.create("core.user", {"login": login, "name": login.title(), "roles": "manager,marketer"})
    crm.create("core.user_access", {"user": crm.get("core.user", "orlov").id, "access_group": own.id})
    seen = crm.create("core.partner", {"name": "Romashka", "access_group": own.id})
    hidden = crm.create("core.partner", {"name": "Hidden Ltd", "access_group": other.id})
    common = crm.create("core.partner", {"name": "Common"})
    orlov = crm.get("core.user", "orlov").id
    volkov = crm.get("core.user", "volkov").id
    items = {
        "meeting": crm.create("core.interaction", {"kind": "meeting", "date": AT, "duration": 90, "partner": seen.id,
                                                   "topic": "Contract, terms; prices", "text": "Line 1\nLine 2",
                                                   "responsible": orlov, "done": False}),
        "planned": crm.create("core.interaction", {"kind": "planned", "date": AT + dt.timedelta(days=1),
                                                   "partner": seen.id, "topic": "Follow-up", "responsible": orlov,
                                                   "done": False}),
        "call": crm.create("core.interaction", {"kind": "call", "date": AT, "partner": seen.id, "topic": "A call", "direction": "outgoing",
                                                "responsible": orlov}),
        "hidden": crm.create("core.interaction", {"kind": "meeting", "date": AT, "partner": hidden.id,
                                                  "topic": "Secret meeting", "responsible": orlov, "done": False}),
        "volkov": crm.create("core.interaction", {"kind": "meeting", "date": AT, "partner": common.id,
                                                  "topic": "Volkov's meeting", "responsible": volkov, "done": False}),
        "task": crm.create("core.task", {"title": "Send the offer", "performer": orlov, "due": AT, "partner": seen.id}),
        "done": crm.create("core.task", {"title": "Old one", "performer": orlov, "due": AT, "state": "done"}),
        "event": crm.create("marketing.event", {"name": "Fair «Продэкспо»", "planned_start": dt.date(2026, 12, 10),
                                                "planned_end": dt.date(2026, 12, 12), "responsible": orlov}),
    }
    return crm, items


def _parse(text):
    cal = icalendar.Calendar.from_ical(text)
    return cal, {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_the_feed_holds_the_users_own_visible_entries(world):
    crm, items = world
    text = calendar.render(crm.as_user("orlov"))
    assert all(line.endswith("\r") or not line for line in text.split("\n")[:-1])     # CRLF lines
    assert max(len(line.encode()) for line in text.split("\r\n")) <= 75             # folded
    cal, events = _parse(text)
    host = calendar.calendar_host()
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]
    assert sorted(events) == sorted(f"{e}-{items[k].id}@{host}" for e, k in (
        ("core.interaction", "meeting"), ("core.interaction", "planned"), ("core.task", "task"),
        ("marketing.event", "event")))
    meeting = events[f"core.interaction-{items['meeting'].id}@{host}"]
    assert str(meeting["SUMMARY"]) == "meeting: Contract, terms; prices"
    assert str(meeting["DESCRIPTION"]) == "Line 1\nLine 2"
    assert meeting.decoded("DTSTART") == AT and meeting.decoded("DTEND") == AT + dt.timedelta(minutes=90)
    assert "DTSTART:20261203T093000Z" in text                     # in UTC
    task = events[f"core.task-{items['task'].id}@{host}"]
    assert str(task["SUMMARY"]) == "Deadline: Send the offer" and task.decoded("DTSTART") == AT
    event = events[f"marketing.event-{items['event'].id}@{host}"]
    assert event.decoded("DTSTART") == dt.date(2026, 12, 10) and event.decoded("DTEND") == dt.date(2026, 12, 13)
    assert "Secret meeting" not in text and "Volkov" not in text and "A call" not in text
    # volkov's feed: his meeting only; the Russian feed says the words in Russian
    volkov = crm.as_user("volkov")
    volkov.lang = "ru"
    _, theirs = _parse(calendar.render(volkov))
    assert [str(e["SUMMARY"]) for e in theirs.values()] == ["Встреча: Volkov's meeting"]


def test_a_changed_record_updates_in_place(world):
    crm, items = world
    orlov = crm.as_user("orlov")
    uid = f"core.interaction-{items['meeting'].id}@{calendar.calendar_host()}"
    earlier = crmkit.utcnow() - dt.timedelta(days=1)
    m.Interaction.update(changed_at=earlier, created_at=earlier).where(m.Interaction.id == items["meeting"].id).execute()
    before = _parse(calendar.render(orlov))[1][uid]
    assert int(before["SEQUENCE"]) == 0 and before.decoded("LAST-MODIFIED") == earlier.replace(microsecond=0)
    orlov.update("core.interaction", items["meeting"].id, {"date": AT + dt.timedelta(hours=2)})
    after = _parse(calendar.render(orlov))[1][uid]
    assert after.decoded("DTSTART") == AT + dt.timedelta(hours=2)
    assert int(after["SEQUENCE"]) >= 86400 and str(after["UID"]) == uid
    changed = crm.get("core.interaction", items["meeting"].id).changed_at
    assert after.decoded("LAST-MODIFIED") == changed.replace(microsecond=0) > before.decoded("LAST-MODIFIED")


def test_hostile_text_cannot_break_out_of_its_property(world):
    crm, items = world
    crm.update("core.interaction", items["meeting"].id,
               {"topic": "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged", "text": "back\\slash " + "я" * 200})
    text = calendar.render(crm.as_user("orlov"))
    cal, events = _parse(text)
    assert not any(uid == "forged" for uid in events) and len(events) == 4
    meeting = next(e for e in events.values() if "back" in str(e.get("DESCRIPTION", "")))
    assert str(meeting["DESCRIPTION"]) == "back\\slash " + "я" * 200
    assert "\r\nUID:forged" not in text


def test_secret_url_is_stored_hashed_rotated_and_owned(world):
    crm, _ = world
    secret = crm.act("core.calendar_url", login="orlov")["path"][len("/ics/"):-len(".ics")]
    row = m.CalendarFeed.get()
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in row.secret_hash
    assert calendar.login_for_secret(secret) == "orlov"
    orlov = crm.as_user("orlov")
    newer = orlov.act("core.calendar_url", login="orlov")["path"][5:-4]
    assert calendar.login_for_secret(secret) is None and calendar.login_for_secret(newer) == "orlov"
    with pytest.raises(AccessDenied):
        orlov.act("core.calendar_url", login="volkov")
    with pytest.raises(ValidationError) as exc:
        crm.act("core.calendar_url", login="")
    assert "login" in exc.value.errors
    with pytest.raises(crmkit.NotFound):
        crm.act("core.calendar_url", login="nobody")
    for bad in ("", "x", newer[:-1], newer + "x", "a" * 1000, "../../etc/passwd", None):
        assert calendar.login_for_secret(bad) is None
    crm.update("core.user", "orlov", {"is_active": False})
    assert calendar.login_for_secret(newer) is None
    assert m.CalendarFeed.select().count() == 1


def test_export_command(world, cli, tmp_path):
    crm, _ = world
    out = tmp_path / "orlov.ics"
    result = cli("calendar", "export", "--user", "orlov", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "4 events written" in result.output
    assert out.read_bytes() == calendar.render(crm.as_user("orlov")).encode()
    assert len(_parse(out.read_text(encoding="utf-8"))[1]) == 4
    refused = cli("calendar", "export", "--user", "volkov", "-o", str(tmp_path / "v.ics"), user="orlov")
    assert refused.exit_code != 0 and not (tmp_path / "v.ics").exists()
    assert cli("calendar", "export", "--user", "nobody", "-o", str(tmp_path / "n.ics")).exit_code != 0
    system = cli("calendar", "export", "-o", str(tmp_path / "s.ics"))
    assert system.exit_code != 0 and "system user has no calendar" in system.output
    url = cli("calendar", "url", "orlov")
    assert url.exit_code == 0 and "/ics/" in url.stdout and url.stdout.strip().endswith(".ics")
