"""Who may change who may do what: only administrators, by every path.

And the bulk import obeys the same write rules as ``create``: a row may not
put a partner in someone else's access group, hang a record off a secret
one through its subject, or set a reminder for another user.
"""
from __future__ import annotations

import pytest

from crmkit import AccessDenied, NotFound, ValidationError

from .conftest import ADVERSARY

pytestmark = pytest.mark.plugins()

REFUSED = (AccessDenied, NotFound, ValidationError)


@pytest.fixture
def setup(open_crm):
    admin = open_crm(extra=[ADVERSARY])
    secret = admin.create("core.access_group", {"name": "secret"})
    mine = admin.create("core.access_group", {"name": "mine"})
    spy = admin.create("core.user", {"login": "spy", "name": "Spy", "roles": "everything,manager"})
    boss = admin.create("core.user", {"login": "boss", "name": "Boss", "roles": "manager"})
    admin.create("core.user_access", {"user": spy.id, "access_group": mine.id})
    hidden = admin.create("core.partner", {"name": "Hidden", "access_group": secret.id})
    call = admin.create("core.interaction", {"kind": "meeting", "date": "2015-10-21", "partner": hidden.id,
                                             "topic": "secret talk"})
    return {"admin": admin, "spy_crm": admin.as_user("spy"), "spy": spy, "boss": boss, "secret": secret,
            "mine": mine, "hidden": hidden, "call": call}


def _grants(admin):
    User, UA = admin.model("core.user"), admin.model("core.user_access")
    return (sorted(User.select(User.login, User.roles, User.is_active).tuples()),
            sorted(UA.select(UA.user, UA.access_group).tuples()))


def test_api_grants_refused_to_non_admin(setup):
    admin, spy = setup["admin"], setup["spy_crm"]
    before = _grants(admin)
    me, boss = setup["spy"].id, setup["boss"].id
    attempts = [
        lambda: spy.update("core.user", me, {"roles": "administrator"}),
        lambda: spy.update("core.user", "spy", {"roles": "administrator"}),
        lambda: spy.update("core.user", boss, {"roles": "readonly"}),
        lambda: spy.update("core.user", boss, {"is_active": False}),
        lambda: spy.create("core.user", {"login": "evil", "name": "x", "roles": "administrator"}),
        lambda: spy.create("core.user_access", {"user": me, "access_group": setup["secret"].id}),
        lambda: spy.create("core.user_access", {"user": boss, "access_group": setup["mine"].id}),
        lambda: spy.create("core.access_group", {"name": "new"}),
        lambda: spy.update("core.access_group", setup["secret"].id, {"name": "renamed"}),
    ]
    ua = admin.find("core.user_access", user=me)[0]
    attempts += [lambda: spy.delete("core.user_access", ua.id),
                 lambda: spy.mark_deleted("core.user", boss)]
    for attempt in attempts:
        with pytest.raises(REFUSED):
            attempt()
    assert _grants(admin) == before
    reloaded = admin.as_user("spy").actor
    assert not reloaded.is_admin and reloaded.access_groups == {setup["mine"].id}


def test_cli_grants_refused_to_non_admin(setup, cli):
    admin = setup["admin"]
    before = _grants(admin)
    for args in (("update", "core.user", "spy", "roles=administrator"),
                 ("create", "core.user_access", f"user={setup['spy'].id}", f"access_group={setup['secret'].id}"),
                 ("create", "core.user", "login=evil", "name=x", "roles=administrator")):
        out = cli(*args, user="spy")
        assert out.exit_code == 1, out.output
    assert _grants(admin) == before


def test_import_grants_refused_to_non_admin(setup, tmp_path):
    admin, spy = setup["admin"], setup["spy_crm"]
    before = _grants(admin)
    users = tmp_path / "users.csv"
    users.write_text("login,name,roles\nevil,Evil,administrator\n", encoding="utf-8")
    access = tmp_path / "access.csv"
    access.write_text(f"user,access_group\n{setup['spy'].id},{setup['secret'].id}\n", encoding="utf-8")
    for entity, path in (("core.user", users), ("core.user_access", access)):
        with pytest.raises(REFUSED):
            spy.import_file(entity, path)
    assert _grants(admin) == before


def test_import_cannot_use_a_foreign_access_group(setup, tmp_path):
    """create() refuses a partner in a group the user is not in; import must too."""
    spy = setup["spy_crm"]
    with pytest.raises(ValidationError) as exc:
        spy.create("core.partner", {"name": "Planted", "access_group": setup["secret"].id})
    assert "access_group" in exc.value.errors
    path = tmp_path / "p.csv"
    path.write_text(f"name,access_group\nPlanted,{setup['secret'].id}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        spy.import_file("core.partner", path)
    assert "access_group" in exc.value.rows.get(1, {})
    assert setup["admin"].count("core.partner", name="Planted") == 0


def test_import_cannot_hang_a_record_off_a_secret_subject(setup, tmp_path):
    spy, call = setup["spy_crm"], setup["call"]
    with pytest.raises(ValidationError) as exc:
        spy.create("core.task", {"title": "spy", "subject": ("core.interaction", call.id)})
    assert "subject" in exc.value.errors
    path = tmp_path / "t.csv"
    path.write_text(f"title,subject_type,subject_id\nspy,core.interaction,{call.id}\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        spy.import_file("core.task", path)
    assert setup["admin"].count("core.task", title="spy") == 0


def test_import_cannot_set_reminders_for_others(setup, tmp_path):
    spy, boss = setup["spy_crm"], setup["boss"]
    with pytest.raises(ValidationError):
        spy.create("core.reminder", {"remind_at": "2015-10-20", "description": "x", "user": boss.id})
    path = tmp_path / "r.csv"
    path.write_text(f"remind_at,description,user\n2015-10-20,planted,{boss.id}\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        spy.import_file("core.reminder", path)
    assert setup["admin"].count("core.reminder", description="planted") == 0


def test_import_of_a_task_on_a_secret_partner_is_a_validation_error(setup, tmp_path):
    """An unresolvable partner code is a row error, not a crash."""
    spy, hidden, admin = setup["spy_crm"], setup["hidden"], setup["admin"]
    own = admin.create("core.partner", {"name": "Own", "access_group": setup["mine"].id})
    call = admin.create("core.interaction", {"kind": "meeting", "date": "2015-10-21", "partner": own.id})
    path = tmp_path / "t.csv"
    for header, row in (("title,partner", f"spy,{hidden.code}"),
                        ("title,partner,subject_type,subject_id", f"spy,{hidden.code},core.interaction,{call.id}")):
        path.write_text(f"{header}\n{row}\n", encoding="utf-8")
        with pytest.raises(ValidationError) as exc:
            spy.import_file("core.task", path)
        assert "partner" in exc.value.rows.get(1, {})
    assert setup["admin"].count("core.task", title="spy") == 0
