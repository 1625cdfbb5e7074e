"""Users' passwords: argon2id hashes, the sign-in check and the lockout.

A password is stored only as an argon2id hash (argon2-cffi, RFC 9106
parameters) in ``core_user_password``, a table that is not an entity, so no
list, card, export or import can read or set it. Failed sign-ins are counted
per login in ``core_login_failure`` (known logins or not: a lockout tells
nobody which logins exist); after ``LOCK_AFTER`` failures in a row the login
is locked for ``LOCK_MINUTES``, and a success or an administrator's
``unlock`` clears the count.

``authenticate`` runs before anyone is signed in, so it reads the tables
directly; everything else is for administrators, or for users about
themselves.
"""
from __future__ import annotations

import datetime as dt

from crmkit import AccessDenied, NotFound, ValidationError, utcnow

MIN_LENGTH = 12       # OWASP ASVS 2.1.1: at least 12 characters, no composition rules
MAX_LENGTH = 256      # long passphrases welcome; a bound keeps hashing cheap to refuse
LOCK_AFTER = 5        # failures in a row
LOCK_MINUTES = 15     # cooling-off time

GENERIC_REFUSAL = "wrong login or password"


class SignInRefused(AccessDenied):
    """A sign-in that did not succeed. ``locked_until`` is set when the login
    is locked; the message never says whether the login exists."""

    def __init__(self, message, locked_until=None):
        super().__init__(message)
        self.locked_until = locked_until


def _hasher():
    from argon2 import PasswordHasher
    return PasswordHasher()   # argon2id, RFC 9106 low-memory profile


_DUMMY = {}


def _dummy_hash():
    """A hash to verify against when the login is unknown, so an unknown
    login costs the same time as a wrong password."""
    if "hash" not in _DUMMY:
        _DUMMY["hash"] = _hasher().hash("not a password of anyone")
    return _DUMMY["hash"]


def check_strength(login: str, password: str):
    """Refuse a password that is too short, too long, or the login itself."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise ValidationError({"password": f"at least {MIN_LENGTH} characters"}, "core.user")
    if len(password) > MAX_LENGTH:
        raise ValidationError({"password": f"at most {MAX_LENGTH} characters"}, "core.user")
    if password.strip().casefold() == (login or "").casefold():
        raise ValidationError({"password": "must not be the login"}, "core.user")


def _user(login):
    from .models import User
    user = User.get_or_none(User.login == login)
    if user is None:
        raise NotFound(f"core.user {login!r} not found")
    return user


def _may_manage(crm, login):
    if not (crm.actor.is_admin or crm.actor.login == login):
        raise AccessDenied("only an administrator may set another user's password")


def set_password(crm, login: str, password: str):
    """Set ``login``'s password (administrators, or the user themself), clear
    the login's failures, and record the change in the user's history."""
    from .models import LoginFailure, UserPassword
    _may_manage(crm, login)
    user = _user(login)
    check_strength(login, password)
    digest = _hasher().hash(password)
    with crm.transaction():
        (UserPassword.insert(user=user.id, hash=digest, changed_at=utcnow())
         .on_conflict(conflict_target=[UserPassword.user],
                      update={UserPassword.hash: digest, UserPassword.changed_at: utcnow()})
         .execute())
        LoginFailure.delete().where(LoginFailure.login == login).execute()
        crm.log_action("core.user", user.id, "password", "password set")


def has_password(login: str) -> bool:
    from .models import User, UserPassword
    return UserPassword.select().join(User).where(User.login == login).exists()


def unlock(crm, login: str):
    """Clear a login's failed sign-ins (administrators only)."""
    from .models import LoginFailure
    if not crm.actor.is_admin:
        raise AccessDenied("only an administrator may unlock a login")
    return LoginFailure.delete().where(LoginFailure.login == login).execute()


def lock_state(login: str, now=None):
    """``(failures, locked_until or None)`` of a login."""
    from .models import LoginFailure
    now = now or utcnow()
    row = LoginFailure.get_or_none(LoginFailure.login == login)
    if row is None:
        return 0, None
    return row.failures, (row.locked_until if row.locked_until and row.locked_until > now else None)


def _record_failure(crm, login, now):
    """Count one failure atomically (two processes failing at once both
    count) and lock the login when the count reaches ``LOCK_AFTER``."""
    from .models import LoginFailure
    with crm.transaction():
        (LoginFailure.insert(login=login, failures=1, last_failed_at=now)
         .on_conflict(conflict_target=[LoginFailure.login],
                      update={LoginFailure.failures: LoginFailure.failures + 1,
                              LoginFailure.last_failed_at: now})
         .execute())
        row = LoginFailure.get(LoginFailure.login == login)
        if row.failures >= LOCK_AFTER:
            until = now + dt.timedelta(minutes=LOCK_MINUTES)
            LoginFailure.update(locked_until=until, failures=0).where(LoginFailure.id == row.id).execute()
            return until
    return None


def authenticate(crm, login: str, password: str, now=None):
    """Check a sign-in; return the user's ``Actor`` or raise ``SignInRefused``.

    A locked login is refused without looking at the password. An unknown
    login, an inactive user, a user with no password and a wrong password
    all get the same message and cost the same hashing time.
    """
    from argon2.exceptions import InvalidHashError, VerificationError
    from .models import User, UserPassword
    now = now or utcnow()
    login = (login or "").strip()[:64]
    if not login or not isinstance(password, str) or len(password) > MAX_LENGTH:
        raise SignInRefused(GENERIC_REFUSAL)
    _, locked_until = lock_state(login, now)
    if locked_until is not None:
        raise SignInRefused(f"too many failed sign-ins: locked until {locked_until.isoformat(timespec='minutes')} UTC",
                            locked_until)
    row = (UserPassword.select(UserPassword, User).join(User)
           .where(User.login == login).first())
    hasher = _hasher()
    ok = False
    try:
        ok = hasher.verify(row.hash if row else _dummy_hash(), password) and row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    actor = crm.pm.hook.crmkit_load_user(login=login) if ok else None   # None when inactive or marked
    if actor is None:
        until = _record_failure(crm, login, now)
        if until is not None:
            raise SignInRefused(f"too many failed sign-ins: locked until {until.isoformat(timespec='minutes')} UTC",
                                until)
        raise SignInRefused(GENERIC_REFUSAL)
    from .models import LoginFailure
    with crm.transaction():
        LoginFailure.delete().where(LoginFailure.login == login).execute()
        if hasher.check_needs_rehash(row.hash):   # parameters raised since it was set
            UserPassword.update(hash=hasher.hash(password)).where(UserPassword.id == row.id).execute()
    return actor
