"""Passwords: argon2id hashes, the sign-in check, lockout per login, and
the CLI that sets them (prompted, never on the command line)."""
import datetime as dt

import pytest

from crmkit import AccessDenied, ValidationError, utcnow
from crmkit.core import passwords
from crmkit.core.models import LoginFailure, UserPassword

pytestmark = pytest.mark.plugins()

GOOD = "correct horse battery staple"


@pytest.fixture
def users(crm):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    crm.create("core.user", {"login": "volkov", "name": "Волков", "roles": "manager"})
    passwords.set_password(crm, "orlov", GOOD)
    return crm


def test_hash_is_argon2id_and_never_the_password(users):
    row = UserPassword.select().join_from(UserPassword, UserPassword.user.rel_model).first()
    assert row.hash.startswith("$argon2id$") and GOOD not in row.hash
    # not an entity: the generic readers cannot reach it
    assert "core.user_password" not in users.registry.entities
    assert all(GOOD not in str(v) and "argon2" not in str(v)
               for r in users.find("core.user") for v in r.__data__.values())


def test_authenticate_gives_the_actor(users):
    actor = passwords.authenticate(users, "orlov", GOOD)
    assert actor.login == "orlov" and "manager" in actor.roles and not actor.is_admin


@pytest.mark.parametrize("login,password", [("orlov", "wrong password here"), ("nobody", GOOD),
                                            ("volkov", GOOD), ("", GOOD), ("orlov", "x" * 5000)])
def test_refusals_look_alike(users, login, password):
    """Wrong password, unknown login, user without a password, empty login,
    oversized input: one message, which names no user."""
    with pytest.raises(passwords.SignInRefused) as info:
        passwords.authenticate(users, login, password)
    assert str(info.value) == passwords.GENERIC_REFUSAL


def test_inactive_or_marked_user_cannot_sign_in(users):
    users.update("core.user", "orlov", {"is_active": False})
    with pytest.raises(passwords.SignInRefused):
        passwords.authenticate(users, "orlov", GOOD)
    users.update("core.user", "orlov", {"is_active": True})
    users.mark_deleted("core.user", "orlov")
    with pytest.raises(passwords.SignInRefused):
        passwords.authenticate(users, "orlov", GOOD)


def test_lockout_after_repeated_failures_then_cooling_off(users):
    now = utcnow()
    for _ in range(passwords.LOCK_AFTER - 1):
        with pytest.raises(passwords.SignInRefused) as info:
            passwords.authenticate(users, "orlov", "wrong password here", now=now)
        assert info.value.locked_until is None
    with pytest.raises(passwords.SignInRefused) as info:
        passwords.authenticate(users, "orlov", "wrong password here", now=now)
    assert info.value.locked_until == now + dt.timedelta(minutes=passwords.LOCK_MINUTES)
    # locked: even the right password is refused, without being checked
    with pytest.raises(passwords.SignInRefused) as info:
        passwords.authenticate(users, "orlov", GOOD, now=now + dt.timedelta(minutes=1))
    assert "locked until" in str(info.value)
    # after the cooling-off time the right password works and clears the count
    later = now + dt.timedelta(minutes=passwords.LOCK_MINUTES, seconds=1)
    assert passwords.authenticate(users, "orlov", GOOD, now=later).login == "orlov"
    assert passwords.lock_state("orlov", later) == (0, None)


def test_unknown_logins_lock_too(users):
    """So a lockout tells nobody which logins exist."""
    for _ in range(passwords.LOCK_AFTER):
        with pytest.raises(passwords.SignInRefused):
            passwords.authenticate(users, "ghost", "whatever it is")
    assert passwords.lock_state("ghost")[1] is not None


def test_success_resets_the_count(users):
    for _ in range(passwords.LOCK_AFTER - 1):
        with pytest.raises(passwords.SignInRefused):
            passwords.authenticate(users, "orlov", "wrong password here")
    passwords.authenticate(users, "orlov", GOOD)
    assert LoginFailure.select().where(LoginFailure.login == "orlov").count() == 0


@pytest.mark.parametrize("bad,message", [("short", "at least"), ("x" * 300, "at most"),
                                         ("ORLOV" + " " * 8, "must not be the login")])
def test_weak_passwords_refused_and_nothing_written(users, bad, message):
    before = UserPassword.get().hash
    with pytest.raises(ValidationError) as info:
        passwords.set_password(users, "orlov", bad)
    assert message in info.value.errors["password"][0]
    assert UserPassword.get().hash == before


def test_only_admin_or_self_sets_a_password(users, open_crm):
    volkov = open_crm(user="volkov")
    with pytest.raises(AccessDenied):
        passwords.set_password(volkov, "orlov", "an attacker's password")
    passwords.set_password(volkov, "volkov", "volkov's own passphrase")
    assert passwords.authenticate(users, "volkov", "volkov's own passphrase").login == "volkov"
    with pytest.raises(AccessDenied):
        passwords.unlock(volkov, "orlov")


def test_password_change_is_in_the_history(users):
    assert any(c.action == "password" for c in users.history("core.user", "orlov"))


def test_cli_prompts_twice_and_unlocks(users, cli):
    result = cli("user", "password", "volkov", input="a new long passphrase\na new long passphrase\n")
    assert result.exit_code == 0, result.output
    assert "a new long passphrase" not in result.output
    assert passwords.authenticate(users, "volkov", "a new long passphrase").login == "volkov"
    mismatch = cli("user", "password", "volkov", input="first long passphrase\nsecond long passphrase\n")
    assert mismatch.exit_code != 0
    assert passwords.authenticate(users, "volkov", "a new long passphrase")
    for _ in range(passwords.LOCK_AFTER):
        with pytest.raises(passwords.SignInRefused):
            passwords.authenticate(users, "volkov", "wrong password here")
    assert passwords.lock_state("volkov")[1] is not None
    assert "unlocked" in cli("user", "unlock", "volkov").output
    assert passwords.authenticate(users, "volkov", "a new long passphrase").login == "volkov"


def test_cli_refuses_a_weak_password_naming_the_field(users, cli):
    result = cli("user", "password", "volkov", input="short\nshort\n")
    assert result.exit_code != 0 and "password" in result.output and "at least" in result.output


def test_cli_if_missing_keeps_an_existing_password(users, cli):
    result = cli("user", "password", "orlov", "--if-missing")
    assert result.exit_code == 0 and "has a password" in result.output
    assert passwords.authenticate(users, "orlov", GOOD).login == "orlov"
