"""The outbox's ``sms`` channel."""
from __future__ import annotations

from crmkit import PermanentFailure, TemporaryFailure, normalize_phone

from . import models as m
from .gsm import measure
from .providers import Sms, providers
from .settings import SmsSettings


def prepare(text, phone, settings) -> tuple[Sms, object]:
    """Normalise and measure; PermanentFailure for what no retry can fix."""
    try:
        e164 = normalize_phone(phone, default_country=settings.default_country)
    except ValueError as exc:
        raise PermanentFailure(f"recipient: {exc}") from None
    if not text:
        raise PermanentFailure("text: an SMS needs a text")
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
    settings = SmsSettings.from_env()
    sms, length = prepare(message.body_text, message.recipient, settings)
    sms = Sms(sms.phone, sms.text, message.idempotency_key)
    provider = provider_for(crm, settings)
    provider_id = provider.send(sms, settings)
    with crm.transaction():
        m.Sent.create(outbox_id=message.id, phone=sms.phone, provider=provider.name,
                      provider_id=str(provider_id or "")[:200], encoding=length.encoding,
                      segments=length.segments)
