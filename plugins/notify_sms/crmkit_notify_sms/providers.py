"""SMS providers: the interface, and the built-in configurable HTTP gateway.

A provider is any object with ``name`` and ``send(sms, settings) -> str``
(the provider's message id, or ""), raising ``TemporaryFailure`` for what is
worth retrying and ``PermanentFailure`` for what is not. Other plugins add
providers through the ``crmkit_register_sms_providers(register)`` hook this
plugin publishes; ``CRMKIT_SMS_PROVIDER`` picks one by name.
"""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import attrs

from crmkit import ConnectionFailure, PermanentFailure, TemporaryFailure, delivery_deadline

RETRYABLE_HTTP = {408, 425, 429}


@attrs.frozen
class Sms:
    phone: str          # E.164
    text: str
    reference: str = ""  # the outbox idempotency key, for gateways that deduplicate


def _dig(data, path):
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


class HttpGateway:
    """POST to a URL as JSON or a form; field names, auth header and the
    success test come from the settings."""

    name = "http"

    def request(self, sms: Sms, settings) -> urllib.request.Request:
        fields = {**settings.extra, settings.to_field: sms.phone, settings.text_field: sms.text}
        if settings.sender:
            fields[settings.from_field] = settings.sender
        if settings.format == "json":
            body, ctype = json.dumps(fields, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        else:
            body = urllib.parse.urlencode({k: str(v) for k, v in fields.items()}).encode()
            ctype = "application/x-www-form-urlencoded"
        req = urllib.request.Request(settings.url, data=body, method="POST",
                                     headers={"Content-Type": ctype, "Accept": "application/json"})
        if settings.auth_header:
            name, value = settings.auth_header.split(":", 1)
            req.add_header(name.strip(), value.strip())
        return req

    def send(self, sms: Sms, settings) -> str:
        if not settings.url:
            raise ConnectionFailure("no SMS gateway configured (CRMKIT_SMS_URL)")
        timeout, deadline = settings.timeout, delivery_deadline()
        if deadline is not None:  # every wait within the outbox's deadline for this message
            timeout = max(0.1, min(timeout, deadline - time.monotonic()))
        try:
            with urllib.request.urlopen(self.request(sms, settings), timeout=timeout) as resp:
                status, raw = resp.status, resp.read(65536)
        except urllib.error.HTTPError as exc:
            detail = f"gateway answered {exc.code}: {exc.read(500).decode('utf-8', 'replace').strip()}"
            if exc.code >= 500 or exc.code in RETRYABLE_HTTP:
                raise TemporaryFailure(detail) from None
            raise PermanentFailure(detail) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
            raise ConnectionFailure(f"cannot reach the SMS gateway: {getattr(exc, 'reason', exc)}") from None
        text = raw.decode("utf-8", "replace")
        try:
            answer = json.loads(text) if text.strip() else {}
        except ValueError:
            answer = None
        if settings.success:
            field, _, expected = settings.success.partition("=")
            found = _dig(answer, field.strip()) if isinstance(answer, dict) else None
            if str(found) != expected.strip():
                raise PermanentFailure(f"gateway answered {status} without {settings.success}: {text[:300]}")
        found_id = _dig(answer, settings.id_field) if isinstance(answer, dict) and settings.id_field else None
        return "" if found_id is None else str(found_id)


BUILTIN = {"http": HttpGateway()}


def providers(crm) -> dict:
    found = dict(BUILTIN)

    def register(provider):
        if provider.name in found:
            raise ValueError(f"SMS provider {provider.name!r} is registered twice")
        found[provider.name] = provider

    hook = getattr(crm.pm.hook, "crmkit_register_sms_providers", None)
    if hook is not None:
        hook(register=register)
    return found
