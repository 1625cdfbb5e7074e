"""The outbox's ``email`` channel, and what follows a delivery outcome."""
from __future__ import annotations

import json
import os

from crmkit import ConnectionFailure, ValidationError, normalize_email, utcnow

from . import models as m
from .compose import compose, message_id
from .settings import ENV_NAMES, SmtpSettings
from .smtp import HARD_BOUNCE, send

_settings_cache: dict = {}
_getenv = os.environ.get


def current_settings() -> SmtpSettings:
    """Settings from the environment, parsed again only when it changed
    (this runs for every message of a delivery run)."""
    key = tuple(_getenv(name) for name in ENV_NAMES)
    found = _settings_cache.get(key)
    if found is None:
        _settings_cache.clear()
        found = _settings_cache[key] = SmtpSettings.from_env()
    return found


def deliver(crm, message) -> None:
    """Send one outbox message; raises TemporaryFailure / PermanentFailure / UnknownOutcome."""
    try:
        settings = current_settings()
    except ValidationError as exc:  # a settings problem: keep the queue until someone fixes them
        raise ConnectionFailure(f"email settings: {exc.describe()}") from None
    send(settings, compose(message, settings, resolve=lambda digest: crm.pm.hook.crmkit_email_inline_content(
        crm=crm, sha256=digest)))


def after_delivered(crm, message) -> None:
    """Give the interaction this email belongs to its Message-ID, so that
    replies thread to it. ``meta["interaction_id"]`` names an interaction the
    sender logged; ``meta["log_interaction"]`` asks for one to be logged."""
    if "interaction" not in (message.meta or ""):   # cheap test before parsing, once per sent message
        return
    meta = json.loads(message.meta or "{}")
    if not (meta.get("interaction_id") or meta.get("log_interaction")):
        return
    system = crm.as_user(None)
    mid = message_id(message, current_settings().domain)
    if meta.get("interaction_id"):
        record = system.get("core.interaction", int(meta["interaction_id"]))
        if not record.external_id:
            system.update("core.interaction", record.id, {"external_id": mid})
    elif message.partner_id:
        system.create("core.interaction", {
            "kind": "email", "direction": "outgoing", "date": message.sent_at or utcnow(),
            "topic": message.subject[:300], "text": message.body_text, "how": message.recipient,
            "partner": message.partner_id, "contact": message.contact_id, "external_id": mid,
            **({"responsible": int(meta["responsible"])} if meta.get("responsible") else {})})


def after_failed(crm, message, error, permanent) -> None:
    """Count hard bounces; at the limit the address goes on the suppression list."""
    if not (permanent and str(error).startswith(HARD_BOUNCE)):
        return
    try:
        address = normalize_email(message.recipient)
    except ValueError:
        return
    with crm.transaction():
        m.Bounce.insert(address=address, count=0).on_conflict_ignore().execute()
        m.Bounce.update(count=m.Bounce.count + 1, last_error=str(error)[:1000], last_at=utcnow()) \
            .where(m.Bounce.address == address).execute()
        count = m.Bounce.get(m.Bounce.address == address).count
    if count >= current_settings().bounce_limit:
        crm.outbox.suppress("email", address, reason=f"{count} hard bounces")
