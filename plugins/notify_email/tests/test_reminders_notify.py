"""Reminders that notify (crmkit.core.reminders): a due reminder becomes one
email to its own user, queued with its mark in one transaction, delivered
by the outbox over real SMTP."""
import datetime as dt

import peewee
import pytest

import crmkit
from crmkit import ValidationError

pytestmark = pytest.mark.plugins("notify_email")
NOW = crmkit.utcnow()
PAST, FUTURE = NOW - dt.timedelta(minutes=5), NOW + dt.timedelta(hours=2)


def _users(crm):
    for login, email, lang in (("orlov", "orlov@shop.example", ""), ("petrov", "petrov@shop.example", "ru"),
                               ("sidorov", "", "")):
        crm.create("core.user", {"login": login, "name": login.title(), "email": email, "roles": "manager",
                                 "lang": lang})


def _remind(crm, login, at, text, **more):
    return crm.as_user(login).create("core.reminder", {"remind_at": at, "description": text, **more})


def _outbox(crm):
    from crmkit.kernel.models import OutboxMessage
    return [(m.recipient, m.subject, m.body_text) for m in OutboxMessage.select().order_by(OutboxMessage.id)]


def test_due_reminders_are_queued_once_and_delivered(crm, smtp_server):
    _users(crm)
    due = _remind(crm, "orlov", PAST, "Call Romashka about the contract")
    _remind(crm, "orlov", FUTURE, "Not yet")
    _remind(crm, "orlov", PAST, "Already done", done=True)
    _remind(crm, "petrov", PAST, "Позвонить клиенту")
    _remind(crm, "sidorov", PAST, "Nobody to tell")
    assert crm.act("core.notify_reminders") == {"queued": 2, "skipped_no_email": 1, "skipped_inactive": 0}
    assert _outbox(crm) == [
        ("orlov@shop.example", "Reminder: Call Romashka about the contract", "Call Romashka about the contract"),
        ("petrov@shop.example", "Напоминание: Позвонить клиенту", "Позвонить клиенту")]
    assert crm.get("core.reminder", due.id).notified_at is not None
    # a second run queues nothing more; the one without an address is still counted
    assert crm.act("core.notify_reminders") == {"queued": 0, "skipped_no_email": 1, "skipped_inactive": 0}
    assert len(_outbox(crm)) == 2
    assert crm.outbox.deliver()["sent"] == 2
    mails = {m["To"].addresses[0].addr_spec: m for m in smtp_server.handler.parsed()}
    assert sorted(mails) == ["orlov@shop.example", "petrov@shop.example"]
    assert "Call Romashka" in mails["orlov@shop.example"].get_body(("plain",)).get_content()
    assert "Call Romashka" not in mails["petrov@shop.example"].as_string()


def test_a_snoozed_reminder_notifies_again_and_an_address_added_later_is_used(crm):
    _users(crm)
    r = _remind(crm, "orlov", PAST, "Send the offer")
    late = _remind(crm, "sidorov", PAST, "Waiting for an address")
    assert crm.act("core.notify_reminders")["queued"] == 1
    crm.as_user("orlov").update("core.reminder", r.id, {"remind_at": PAST + dt.timedelta(minutes=1)})
    assert crm.get("core.reminder", r.id).notified_at is None
    crm.update("core.user", "sidorov", {"email": "sidorov@shop.example"})
    assert crm.act("core.notify_reminders") == {"queued": 2, "skipped_no_email": 0, "skipped_inactive": 0}
    assert sorted(o[0] for o in _outbox(crm)) == ["orlov@shop.example", "orlov@shop.example", "sidorov@shop.example"]
    assert crm.get("core.reminder", late.id).notified_at is not None


def test_a_user_queues_only_their_own_and_text_goes_only_to_its_user(crm):
    _users(crm)
    _remind(crm, "orlov", PAST, "Orlov's secret")
    _remind(crm, "petrov", PAST, "Petrov's own")
    crm.update("core.user", "orlov", {"is_active": False})
    petrov = crm.as_user("petrov")
    assert petrov.act("core.notify_reminders") == {"queued": 1, "skipped_no_email": 0, "skipped_inactive": 0}
    assert [(o[0], o[2]) for o in _outbox(crm)] == [("petrov@shop.example", "Petrov's own")]
    # the administrator's run sees orlov's reminder, but orlov is inactive: skipped, not sent anywhere
    assert crm.act("core.notify_reminders") == {"queued": 0, "skipped_no_email": 0, "skipped_inactive": 1}
    assert len(_outbox(crm)) == 1
    # a role without the verb on reminders may not run it
    crm.create("core.user", {"login": "reader", "name": "Reader", "email": "r@shop.example", "roles": "readonly"})
    with pytest.raises(crmkit.AccessDenied):
        crm.as_user("reader").act("core.notify_reminders")


def _fail_the_mark(crm):
    """A real database failure on the mark, after the messages were inserted
    in the same transaction (a crash between queue and mark)."""
    if isinstance(crm.db, peewee.SqliteDatabase) or "sqlite" in type(crm.db).__name__.lower():
        crm.db.execute_sql("CREATE TRIGGER fail_mark BEFORE UPDATE OF notified_at ON core_reminder "
                           "BEGIN SELECT RAISE(ABORT, 'crash before the mark'); END")
        return lambda: crm.db.execute_sql("DROP TRIGGER fail_mark")
    crm.db.execute_sql("CREATE FUNCTION fail_mark() RETURNS trigger AS $$ BEGIN "
                       "RAISE EXCEPTION 'crash before the mark'; END $$ LANGUAGE plpgsql")
    crm.db.execute_sql("CREATE TRIGGER fail_mark BEFORE UPDATE OF notified_at ON core_reminder "
                       "FOR EACH ROW EXECUTE FUNCTION fail_mark()")
    return lambda: crm.db.execute_sql("DROP TRIGGER fail_mark ON core_reminder; DROP FUNCTION fail_mark()")


def test_a_crash_between_queue_and_mark_loses_and_doubles_nothing(crm):
    _users(crm)
    r = _remind(crm, "orlov", PAST, "Survive the crash")
    repair = _fail_the_mark(crm)
    with pytest.raises(Exception, match="crash before the mark"):
        crm.act("core.notify_reminders")
    assert _outbox(crm) == [] and crm.get("core.reminder", r.id).notified_at is None   # neither, not one
    repair()
    assert crm.act("core.notify_reminders")["queued"] == 1
    assert crm.act("core.notify_reminders")["queued"] == 0
    assert len(_outbox(crm)) == 1
    # even a mark lost some other way cannot double it: the message key is the reminder and its moment
    from crmkit.core.models import Reminder
    Reminder.update(notified_at=None).where(Reminder.id == r.id).execute()
    crm.act("core.notify_reminders")
    assert len(_outbox(crm)) == 1


def test_bad_input_and_the_command(crm, cli):
    _users(crm)
    _remind(crm, "orlov", PAST, "Line one\r\nBcc: evil@example.com")
    _remind(crm, "sidorov", PAST, "No address")
    with pytest.raises(ValidationError) as exc:
        crm.act("core.notify_reminders", limit=5)
    assert "limit" in exc.value.errors and _outbox(crm) == []
    with pytest.raises(ValidationError) as exc:
        crm.update("core.reminder", 1, {"notified_at": NOW})
    assert "notified_at" in exc.value.errors
    result = cli("reminder", "notify")
    assert result.exit_code == 0, result.output
    assert "1 reminders queued, 1 skipped (no email address), 0 skipped (inactive user)" in result.output
    # a line break in the text never reaches the Subject header
    assert _outbox(crm)[0][1] == "Reminder: Line one  Bcc: evil@example.com"
    ru = cli("reminder", "notify", lang="ru")
    assert "Напоминаний в очереди: 0" in ru.output


@pytest.mark.plugins()
def test_without_an_email_channel_it_says_so(crm):
    with pytest.raises(ValidationError) as exc:
        crm.act("core.notify_reminders")
    assert "email channel" in str(exc.value.errors["channel"])
