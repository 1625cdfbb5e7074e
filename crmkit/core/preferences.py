"""A user's own preferences: their language and time zone (``core.user``'s
``lang`` and ``time_zone``). Users are written by administrators only; this
is the one self-service path, for the acting user's own row and these two
fields, behind the ``core.preferences`` action (the web's preferences page,
the API and the CLI's ``crmkit act`` run it)."""
from __future__ import annotations

from crmkit import ValidationError, utcnow, zone_named

LANGS = ("", "en", "ru")    # "" = the browser's (Accept-Language); emails then in English


def set_preferences(crm, lang=None, time_zone=None) -> dict:
    """Set the acting user's ``lang`` and/or ``time_zone`` (an IANA name;
    "" for the operator's ``CRMKIT_TZ``). An unknown zone or language is
    refused naming the field, and nothing is written. Returns both values."""
    from .models import User
    user = User.get_or_none(User.id == crm.actor.id) if crm.actor.id is not None else None
    if user is None:
        raise ValidationError({"user": f"{crm.actor.login!r} is not a user with preferences"}, "core.user")
    data, errors = {}, {}
    if lang is not None:
        if lang not in LANGS:
            errors["lang"] = f"one of en, ru, or empty for the browser's (not {lang!r})"
        data["lang"] = lang
    if time_zone is not None:
        zone = str(time_zone).strip()
        if zone:
            try:
                zone_named(zone)
            except ValidationError as exc:
                errors["time_zone"] = exc.errors["time_zone"]
        data["time_zone"] = zone
    if errors:
        raise ValidationError(errors, "core.user")
    changed = {k: v for k, v in data.items() if getattr(user, k) != v}
    if changed:
        with crm.transaction():
            User.update(**changed, changed_at=utcnow()).where(User.id == user.id).execute()
            for field, value in changed.items():    # in the history as an update of each field
                crm.record_changes("core.user", field, [user.id], [getattr(user, field)], value)
    return {"lang": data.get("lang", user.lang), "time_zone": data.get("time_zone", user.time_zone)}
