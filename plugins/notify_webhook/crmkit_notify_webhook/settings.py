"""Webhook delivery settings from the environment (``CRMKIT_WEBHOOK_*``)."""
from __future__ import annotations

import ipaddress
import os

import attrs

from crmkit import ValidationError

ENV_PREFIX = "CRMKIT_WEBHOOK_"
ENV_NAMES = tuple(ENV_PREFIX + n for n in (
    "CONNECT_TIMEOUT", "TIMEOUT", "DISABLE_AFTER", "MAX_RESPONSE", "ALLOW_NETWORKS", "USER_AGENT"))


def _number(name, default, kind, minimum):
    raw = os.environ.get(ENV_PREFIX + name, "").strip() or str(default)
    try:
        value = kind(raw)
    except ValueError:
        raise ValidationError({name.lower(): f"{ENV_PREFIX}{name}={raw!r} is not a number"}) from None
    if value < minimum:
        raise ValidationError({name.lower(): f"{ENV_PREFIX}{name} must be at least {minimum}"})
    return value


def parse_networks(raw: str) -> tuple:
    """``"127.0.0.1/32, 10.1.0.0/16"`` -> networks; a clear error names the bad one."""
    found = []
    for part in (p.strip() for p in raw.replace(";", ",").split(",")):
        if not part:
            continue
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValidationError({"allow_networks": f"{ENV_PREFIX}ALLOW_NETWORKS: {part!r} is not an "
                                                     f"address or network (e.g. 10.1.0.0/16)"}) from None
    return tuple(found)


@attrs.frozen
class WebhookSettings:
    connect_timeout: float = 5.0     # seconds to establish TCP (and TLS)
    timeout: float = 15.0            # seconds for the whole request, connect included
    disable_after: int = 20          # consecutive failed attempts that disable a subscription
    max_response: int = 65536        # bytes of a response body read (the rest is not)
    # Private, loopback, link-local ... addresses are refused unless inside one of these
    # (an administrator's explicit allowance, e.g. an intranet receiver or the tests' loopback).
    allow_networks: tuple = ()
    user_agent: str = "crmkit-webhooks/0.1"

    @classmethod
    def from_env(cls) -> "WebhookSettings":
        connect = _number("CONNECT_TIMEOUT", 5, float, 0.05)
        total = _number("TIMEOUT", 15, float, 0.05)
        return cls(connect_timeout=min(connect, total), timeout=total,
                   disable_after=_number("DISABLE_AFTER", 20, int, 1),
                   max_response=_number("MAX_RESPONSE", 65536, int, 0),
                   allow_networks=parse_networks(os.environ.get(ENV_PREFIX + "ALLOW_NETWORKS", "")),
                   user_agent=os.environ.get(ENV_PREFIX + "USER_AGENT", "").strip() or "crmkit-webhooks/0.1")

    def shown(self) -> dict:
        return {ENV_PREFIX + "CONNECT_TIMEOUT": self.connect_timeout, ENV_PREFIX + "TIMEOUT": self.timeout,
                ENV_PREFIX + "DISABLE_AFTER": self.disable_after, ENV_PREFIX + "MAX_RESPONSE": self.max_response,
                ENV_PREFIX + "ALLOW_NETWORKS": ", ".join(map(str, self.allow_networks)),
                ENV_PREFIX + "USER_AGENT": self.user_agent}


_cache: dict = {}


def current() -> WebhookSettings:
    """Settings parsed again only when the environment changed (this runs per message)."""
    key = tuple(os.environ.get(n) for n in ENV_NAMES)
    found = _cache.get(key)
    if found is None:
        _cache.clear()
        found = _cache[key] = WebhookSettings.from_env()
    return found
