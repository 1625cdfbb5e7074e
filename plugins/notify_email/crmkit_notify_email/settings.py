"""Mail settings from the environment. Secrets are kept out of ``repr`` and
shown masked by ``crmkit email settings``."""
from __future__ import annotations

import os

import attrs

from crmkit import ValidationError

SECURITY = ("plain", "starttls", "ssl")
ENV_NAMES = ("CRMKIT_SMTP_HOST", "CRMKIT_SMTP_PORT", "CRMKIT_SMTP_SECURITY", "CRMKIT_SMTP_USER",
             "CRMKIT_SMTP_PASSWORD", "CRMKIT_SMTP_TIMEOUT", "CRMKIT_SMTP_FROM", "CRMKIT_SMTP_DOMAIN",
             "CRMKIT_SMTP_MAX_PER_CONNECTION", "CRMKIT_SMTP_IDLE", "CRMKIT_EMAIL_BOUNCE_LIMIT",
             "CRMKIT_SMTP_DATA_TIMEOUT")


def _env(name, default=""):
    return os.environ.get(name, default).strip()


def _int(name, default, field):
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({field: f"{name}={raw!r} is not a whole number"}) from None
    if value < 0:
        raise ValidationError({field: f"{name} must not be negative"})
    return value


def _float(name, default, field):
    raw = _env(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({field: f"{name}={raw!r} is not a number"}) from None
    if value <= 0:
        raise ValidationError({field: f"{name} must be positive"})
    return value


def mask(value: str) -> str:
    return "" if not value else "********"


@attrs.frozen
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "plain"
    user: str = ""
    password: str = attrs.field(default="", repr=False)
    timeout: float = 30.0        # each read, and the whole connection phase (greeting ... AUTH)
    data_timeout: float = 600.0  # the reply to the final dot (RFC 5321: 10 minutes)
    sender: str = ""
    domain: str = ""             # right-hand side of Message-IDs
    max_per_connection: int = 1000
    idle_s: float = 30.0         # an open connection unused this long is closed and reopened
    bounce_limit: int = 2        # hard bounces before an address is suppressed

    @classmethod
    def from_env(cls) -> "SmtpSettings":
        security = _env("CRMKIT_SMTP_SECURITY", "plain").lower()
        if security not in SECURITY:
            raise ValidationError({"security": f"CRMKIT_SMTP_SECURITY must be one of {', '.join(SECURITY)}"})
        default_port = {"plain": 25, "starttls": 587, "ssl": 465}[security]
        sender = _env("CRMKIT_SMTP_FROM", "crmkit@localhost.localdomain")
        if "\r" in sender or "\n" in sender:
            raise ValidationError({"from": "CRMKIT_SMTP_FROM must not contain line breaks"})
        from email.utils import parseaddr

        from crmkit import normalize_email
        try:
            normalize_email(parseaddr(sender)[1])
        except ValueError:
            raise ValidationError({"from": f"CRMKIT_SMTP_FROM={sender!r} is not an email address"}) from None
        domain = _env("CRMKIT_SMTP_DOMAIN") or parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        return cls(host=_env("CRMKIT_SMTP_HOST", "127.0.0.1"),
                   port=_int("CRMKIT_SMTP_PORT", default_port, "port"),
                   security=security, user=_env("CRMKIT_SMTP_USER"),
                   password=os.environ.get("CRMKIT_SMTP_PASSWORD", ""),
                   timeout=_float("CRMKIT_SMTP_TIMEOUT", 30, "timeout"),
                   data_timeout=_float("CRMKIT_SMTP_DATA_TIMEOUT", 600, "data_timeout"),
                   sender=sender, domain=domain,
                   max_per_connection=_int("CRMKIT_SMTP_MAX_PER_CONNECTION", 1000, "max_per_connection"),
                   idle_s=_float("CRMKIT_SMTP_IDLE", 30, "idle"),
                   bounce_limit=max(1, _int("CRMKIT_EMAIL_BOUNCE_LIMIT", 2, "bounce_limit")))

    def connection_key(self):
        """What identifies an SMTP connection worth reusing."""
        return (self.host, self.port, self.security, self.user, self.password, self.timeout)

    def shown(self) -> dict:
        return {"CRMKIT_SMTP_HOST": self.host, "CRMKIT_SMTP_PORT": self.port,
                "CRMKIT_SMTP_SECURITY": self.security, "CRMKIT_SMTP_USER": self.user,
                "CRMKIT_SMTP_PASSWORD": mask(self.password), "CRMKIT_SMTP_TIMEOUT": self.timeout,
                "CRMKIT_SMTP_DATA_TIMEOUT": self.data_timeout,
                "CRMKIT_SMTP_FROM": self.sender, "CRMKIT_SMTP_DOMAIN": self.domain,
                "CRMKIT_SMTP_MAX_PER_CONNECTION": self.max_per_connection,
                "CRMKIT_SMTP_IDLE": self.idle_s, "CRMKIT_EMAIL_BOUNCE_LIMIT": self.bounce_limit}


@attrs.frozen
class ImapSettings:
    host: str = ""
    port: int = 993
    security: str = "ssl"
    user: str = ""
    password: str = attrs.field(default="", repr=False)
    folder: str = "INBOX"
    timeout: float = 30.0

    @classmethod
    def from_env(cls) -> "ImapSettings":
        security = _env("CRMKIT_IMAP_SECURITY", "ssl").lower()
        if security not in SECURITY:
            raise ValidationError({"imap_security": f"CRMKIT_IMAP_SECURITY must be one of {', '.join(SECURITY)}"})
        return cls(host=_env("CRMKIT_IMAP_HOST"),
                   port=_int("CRMKIT_IMAP_PORT", 993 if security == "ssl" else 143, "imap_port"),
                   security=security, user=_env("CRMKIT_IMAP_USER"),
                   password=os.environ.get("CRMKIT_IMAP_PASSWORD", ""),
                   folder=_env("CRMKIT_IMAP_FOLDER", "INBOX") or "INBOX",
                   timeout=_float("CRMKIT_IMAP_TIMEOUT", 30, "imap_timeout"))

    def shown(self) -> dict:
        return {"CRMKIT_IMAP_HOST": self.host, "CRMKIT_IMAP_PORT": self.port,
                "CRMKIT_IMAP_SECURITY": self.security, "CRMKIT_IMAP_USER": self.user,
                "CRMKIT_IMAP_PASSWORD": mask(self.password), "CRMKIT_IMAP_FOLDER": self.folder,
                "CRMKIT_MAIL_DIR": _env("CRMKIT_MAIL_DIR")}
