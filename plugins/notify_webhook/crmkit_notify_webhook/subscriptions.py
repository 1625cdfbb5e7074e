"""Subscriptions: the rules of the entity, secrets, and delivery bookkeeping.

The entity ``notify_webhook.subscription`` is written through the kernel's
one write path (so the API and CLI get it alike); its bookkeeping columns
(failure count, last success ...) are updated directly by delivery, which
is not an edit and must not raise events of its own.
"""
from __future__ import annotations

import datetime as dt

from crmkit import AccessDenied, ValidationError, transaction, utcnow

from . import models as m
from . import signing
from .events import check_patterns
from .transport import Refused, resolve, split_url

ENTITY = "notify_webhook.subscription"


def require_admin(crm, what):
    if not crm.actor.is_admin:
        raise AccessDenied(f"{what}: administrators only")


# -- the entity's rules ---------------------------------------------------------

def validate(crm, data, record):
    """Check the URL and event patterns, stamp the owner, and keep the
    disabled columns true to ``active``."""
    errors = {}
    if "url" in data:
        url = (data["url"] or "").strip()
        data["url"] = url
        try:
            scheme, host, _, _ = split_url(url)
            _check_literal_address(host)
        except Refused as exc:
            errors["url"] = str(exc).removeprefix("url: ")
    if "events" in data or record is None:
        text, problems = check_patterns(crm, data.get("events"))
        if problems:
            errors["events"] = problems
        else:
            data["events"] = text
    if record is None:
        data["owner"] = crm.actor.login
    if "active" in data and record is not None and bool(data["active"]) != bool(record.active):
        if data["active"]:
            data.update(failure_count=0, disabled_at=None, disabled_reason="")
        else:
            data.update(disabled_at=utcnow(), disabled_reason=f"disabled by {crm.actor.login}")
    return errors or None


def _check_literal_address(host):
    """A URL naming a private address outright is refused when saved (a host
    name is checked at every delivery, when it is resolved)."""
    import ipaddress
    from .settings import current
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    resolve(f"http://[{host}]/" if ":" in host else f"http://{host}/", current().allow_networks)


def created(crm, record):
    """A new subscription gets its first secret in the same transaction."""
    m.Secret.create(subscription=record.id, secret=signing.new_secret())


# -- administrator verbs ------------------------------------------------------

def add(crm, url, events, description="", secret=None):
    """Subscribe ``url``; returns (subscription, secret). The secret is shown once."""
    require_admin(crm, "webhook add")
    if secret is not None:
        try:
            signing.secret_key(secret)
        except ValueError as exc:
            raise ValidationError({"secret": str(exc)}, ENTITY) from None
    with crm.transaction():
        sub = crm.create(ENTITY, {"url": url, "events": events, "description": description})
        if secret is not None:
            m.Secret.update(secret=secret).where(m.Secret.subscription == sub.id).execute()
    return sub, secret or current_secrets(sub.id)[0]


def current_secrets(sid, now=None) -> list[str]:
    """Secrets that sign now: the current one first, then any not yet expired."""
    now = now or utcnow()
    rows = (m.Secret.select().where((m.Secret.subscription == sid)
                                    & (m.Secret.expires_at.is_null() | (m.Secret.expires_at > now)))
            .order_by(m.Secret.expires_at.is_null(False), m.Secret.id.desc()))
    return [r.secret for r in rows]


def rotate_secret(crm, key, grace_hours=24.0, secret=None):
    """A new current secret; the old one keeps signing (second signature)
    for ``grace_hours`` so receivers can switch without losing events."""
    require_admin(crm, "webhook rotate-secret")
    if not 0 <= grace_hours <= 24 * 30:
        raise ValidationError({"grace": "between 0 and 720 hours"}, ENTITY)
    if secret is not None:
        try:
            signing.secret_key(secret)
        except ValueError as exc:
            raise ValidationError({"secret": str(exc)}, ENTITY) from None
    sub = crm.get(ENTITY, key)
    new = secret or signing.new_secret()
    now = utcnow()
    with crm.transaction():
        m.Secret.delete().where((m.Secret.subscription == sub.id) & m.Secret.expires_at.is_null(False)
                                & (m.Secret.expires_at <= now)).execute()
        m.Secret.update(expires_at=now + dt.timedelta(hours=grace_hours)).where(
            (m.Secret.subscription == sub.id) & m.Secret.expires_at.is_null()).execute()
        if grace_hours == 0:
            m.Secret.delete().where(m.Secret.subscription == sub.id).execute()
        m.Secret.create(subscription=sub.id, secret=new)
        crm.log_action(ENTITY, sub.id, "rotate-secret", f"old secret valid for {grace_hours:g} h")
    return sub, new


def set_active(crm, key, active, reason=""):
    require_admin(crm, "webhook " + ("enable" if active else "disable"))
    sub = crm.get(ENTITY, key)
    with crm.transaction():
        sub = crm.update(ENTITY, sub.id, {"active": bool(active)})
        if not active and reason:
            m.Subscription.update(disabled_reason=reason[:300]).where(m.Subscription.id == sub.id).execute()
            sub.disabled_reason = reason[:300]
    return sub


# -- delivery bookkeeping ---------------------------------------------------------

def for_delivery(sid):
    """A ``channel.Subscriber`` of subscription ``sid``, or None when it is gone."""
    from .channel import Subscriber
    row = m.Subscription.get_or_none(m.Subscription.id == sid)
    if row is None:
        return None
    return Subscriber(row, current_secrets(sid))


def is_admin_login(crm, login) -> bool:
    try:
        return crm.as_user(login or None).actor.is_admin
    except AccessDenied:
        return False


def record_failure(sid, error) -> int:
    """Count a failed attempt; returns the failures in a row."""
    S = m.Subscription
    with transaction():
        S.update(failure_count=S.failure_count + 1, last_failure_at=utcnow(), last_error=str(error)[:500]) \
            .where(S.id == sid).execute()
        return S.select(S.failure_count).where(S.id == sid).scalar() or 0


def record_success(sid):
    S = m.Subscription
    S.update(failure_count=0, last_success_at=utcnow()).where(S.id == sid).execute()


def disable(crm, sid, reason):
    """Disable a subscription for a delivery reason (410, repeated failures,
    an owner who lost the administrator role); recorded in its history."""
    S = m.Subscription
    with crm.transaction():
        changed = S.update(active=False, disabled_at=utcnow(), disabled_reason=reason[:300]).where(
            (S.id == sid) & (S.active == True)).execute()  # noqa: E712
        if changed:
            crm.log_action(ENTITY, sid, "disable", reason[:300])
