"""The outbox's ``sms`` channel."""
from __future__ import annotations

import re

from crmkit import ConnectionFailure, PermanentFailure, TemporaryFailure, ValidationError, normalize_phone, retry_busy

from . import models as m
from .gsm import measure
from .providers import Sms, providers
from .settings import SmsSettings


# Control characters other than line ends and tab: no handset shows them,
# and gateways refuse or mangle them.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def prepare(text, phone, settings) -> tuple[Sms, object]:
    """Normalise and measure; PermanentFailure for what no retry can fix."""
    try:
        e164 = normalize_phone(phone, default_country=settings.default_country)
    except ValueError as exc:
        raise PermanentFailure(f"recipient: {exc}") from None
    if not text:
        raise PermanentFailure("text: an SMS needs a text")
    found = CONTROL.search(text)
    if found:
        raise PermanentFailure(f"text: control character U+{ord(found.group()):04X} at position {found.start()}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PermanentFailure(f"text: not valid Unicode at position {exc.start}") from None
    length = measure(text)
    if length.segments > settings.max_segments:
        raise PermanentFailure(f"text: {length.segments} {length.encoding} segments, more than "
                               f"CRMKIT_SMS_MAX_SEGMENTS={settings.max_segments}")
    return Sms(e164, text), length


def provider_for(crm, settings):
    found = providers(crm).get(settings.provider)
    if found is None:
        raise TemporaryFailure(f"no SMS provider {settings.provider!r}; installed: {', '.join(providers(crm))}")
    return found


def deliver(crm, message) -> None:
    try:
        settings = SmsSettings.from_env()
    except ValidationError as exc:  # a settings problem: keep the queue until someone fixes them
        raise ConnectionFailure(f"SMS settings: {exc.describe()}") from None
    sms, length = prepare(message.body_text, message.recipient, settings)
    sms = Sms(sms.phone, sms.text, message.idempotency_key)
    provider = provider_for(crm, settings)
    provider_id = provider.send(sms, settings)

    def record():  # the gateway took it: a busy database must not make it look unsent
        with crm.transaction():
            m.Sent.create(outbox_id=message.id, phone=sms.phone, provider=provider.name,
                          provider_id=str(provider_id or "")[:200], encoding=length.encoding,
                          segments=length.segments)
    retry_busy(record)
