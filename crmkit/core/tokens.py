"""Personal API tokens: ``crmk_`` + 256 random bits, shown once.

Only the SHA-256 of a token is stored (a fast hash is right here: the
secret has 256 bits of entropy, nothing to brute-force, and every request
checks one). A token acts as its user, with that user's roles and access
groups as they are at the moment of the request; it stops working when it
expires, is revoked, or its user is deactivated or marked for deletion.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from crmkit import AccessDenied, NotFound, ValidationError, utcnow

PREFIX = "crmk_"
LAST_USED_EVERY = dt.timedelta(minutes=1)   # one write a minute per token, not one per request


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _admin_or_self(crm, user):
    if not crm.actor.is_admin and crm.actor.id != user.id:
        raise AccessDenied(f"user {crm.actor.login!r} may manage only their own tokens")


def create(crm, login, name="", expires_days=None):
    """A new token for ``login`` (administrators: any user; others: their
    own). Returns ``(record, secret)``; the secret is not kept anywhere."""
    from . import models as m
    user = crm.get("core.user", login)
    _admin_or_self(crm, user)
    errors = {}
    if expires_days is not None and (not isinstance(expires_days, int) or not 1 <= expires_days <= 3650):
        errors["expires_days"] = ["must be a whole number of days from 1 to 3650"]
    if not isinstance(name, str) or len(name) > 100 or "\x00" in name:
        errors["name"] = ["must be text of at most 100 characters"]
    if errors:
        raise ValidationError(errors, "core.api_token")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    record = m.ApiToken.create(user=user.id, name=name, token_hash=digest(secret), prefix=secret[:12],
                               created_at=now,
                               expires_at=now + dt.timedelta(days=expires_days) if expires_days else None)
    crm.log_action("core.user", user.id, "token", f"API token {record.id} created")
    return record, secret


def listing(crm, login=None):
    """Tokens of ``login`` (default: the acting user; administrators: any,
    or all with ``login="*"``), newest first; never the secrets."""
    from . import models as m
    q = m.ApiToken.select(m.ApiToken, m.User.login).join(m.User).order_by(m.ApiToken.id.desc())
    if login == "*" and not crm.actor.is_admin:
        login = None   # everyone's tokens are for administrators: a user gets their own
    if login != "*":
        user = crm.get("core.user", login or crm.actor.login)
        _admin_or_self(crm, user)
        q = q.where(m.ApiToken.user == user.id)
    now = utcnow()
    return [{"id": t.id, "user": t.user.login, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
             "expires_at": t.expires_at, "last_used_at": t.last_used_at, "revoked_at": t.revoked_at,
             "state": "revoked" if t.revoked_at else "expired" if t.expires_at and t.expires_at <= now else "active"}
            for t in q]


def revoke(crm, token_id):
    """Revoke a token by its id (its owner or an administrator)."""
    from . import models as m
    token = m.ApiToken.get_or_none(m.ApiToken.id == token_id)
    if token is None or (not crm.actor.is_admin and token.user_id != crm.actor.id):
        raise NotFound(f"API token {token_id!r} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token.save(only=[m.ApiToken.revoked_at])
        crm.log_action("core.user", token.user_id, "token", f"API token {token.id} revoked")
    return token


def authenticate(secret: str):
    """The login a token acts as, or None for an unknown, expired or revoked
    token (callers answer all of them alike). Needs an open database."""
    from . import models as m
    if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    now = utcnow()
    row = (m.ApiToken.select(m.ApiToken.id, m.ApiToken.expires_at, m.ApiToken.last_used_at, m.User.login)
           .join(m.User)
           .where((m.ApiToken.token_hash == digest(secret)) & m.ApiToken.revoked_at.is_null()
                  & (m.User.is_active == True) & (m.User.deletion_mark == False))  # noqa: E712
           .first())
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        m.ApiToken.update(last_used_at=now).where(m.ApiToken.id == row.id).execute()
    return row.user.login
