"""SMS settings from the environment; the auth header is never printed."""
from __future__ import annotations

import json
import os

import attrs

from crmkit import ValidationError

FORMATS = ("json", "form")
ENV_PREFIX = "CRMKIT_SMS_"


def _env(name, default=""):
    return os.environ.get(ENV_PREFIX + name, default).strip()


def _number(name, default, kind, field, minimum):
    raw = _env(name, str(default))
    try:
        value = kind(raw)
    except ValueError:
        raise ValidationError({field: f"{ENV_PREFIX}{name}={raw!r} is not a number"}) from None
    if value < minimum:
        raise ValidationError({field: f"{ENV_PREFIX}{name} must be at least {minimum}"})
    return value


@attrs.frozen
class SmsSettings:
    provider: str = "http"
    url: str = ""
    format: str = "json"
    auth_header: str = attrs.field(default="", repr=False)   # "Authorization: Bearer ..."
    to_field: str = "to"
    text_field: str = "text"
    from_field: str = "from"
    sender: str = ""
    extra: dict = attrs.field(factory=dict)                   # fixed fields of every request
    success: str = ""             # "field=value" in the JSON answer; empty: any 2xx
    id_field: str = "id"          # the gateway's message id in its JSON answer
    timeout: float = 15.0
    max_segments: int = 6
    default_country: str = "7"
    optout_dir: str = ""

    @classmethod
    def from_env(cls) -> "SmsSettings":
        fmt = _env("FORMAT", "json").lower()
        if fmt not in FORMATS:
            raise ValidationError({"format": f"{ENV_PREFIX}FORMAT must be json or form"})
        url = _env("URL")
        if url and not url.startswith(("http://", "https://")):
            raise ValidationError({"url": f"{ENV_PREFIX}URL must be an http(s) URL"})
        auth = os.environ.get(ENV_PREFIX + "AUTH_HEADER", "").strip()
        if auth and (":" not in auth or "\r" in auth or "\n" in auth):
            raise ValidationError({"auth_header": f"{ENV_PREFIX}AUTH_HEADER must be 'Name: value' on one line"})
        try:
            extra = json.loads(_env("EXTRA", "{}") or "{}")
        except ValueError:
            extra = None
        if not isinstance(extra, dict):
            raise ValidationError({"extra": f"{ENV_PREFIX}EXTRA must be a JSON object"})
        success = _env("SUCCESS")
        if success and "=" not in success:
            raise ValidationError({"success": f"{ENV_PREFIX}SUCCESS must be field=value"})
        return cls(provider=_env("PROVIDER", "http") or "http", url=url, format=fmt, auth_header=auth,
                   to_field=_env("TO_FIELD", "to") or "to", text_field=_env("TEXT_FIELD", "text") or "text",
                   from_field=_env("FROM_FIELD", "from") or "from", sender=_env("SENDER"), extra=extra,
                   success=success, id_field=_env("ID_FIELD", "id"),
                   timeout=_number("TIMEOUT", 15, float, "timeout", 0.1),
                   max_segments=_number("MAX_SEGMENTS", 6, int, "max_segments", 1),
                   default_country=_env("DEFAULT_COUNTRY", "7"), optout_dir=_env("OPTOUT_DIR"))

    def shown(self) -> dict:
        name = self.auth_header.split(":", 1)[0] if self.auth_header else ""
        return {"CRMKIT_SMS_PROVIDER": self.provider, "CRMKIT_SMS_URL": self.url,
                "CRMKIT_SMS_FORMAT": self.format,
                "CRMKIT_SMS_AUTH_HEADER": f"{name}: ********" if name else "",
                "CRMKIT_SMS_TO_FIELD": self.to_field, "CRMKIT_SMS_TEXT_FIELD": self.text_field,
                "CRMKIT_SMS_FROM_FIELD": self.from_field, "CRMKIT_SMS_SENDER": self.sender,
                "CRMKIT_SMS_EXTRA": ", ".join(sorted(self.extra)), "CRMKIT_SMS_SUCCESS": self.success,
                "CRMKIT_SMS_ID_FIELD": self.id_field, "CRMKIT_SMS_TIMEOUT": self.timeout,
                "CRMKIT_SMS_MAX_SEGMENTS": self.max_segments, "CRMKIT_SMS_OPTOUT_DIR": self.optout_dir}
