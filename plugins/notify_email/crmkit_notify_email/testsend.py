"""``crmkit email test``: one message through the real path, outside the outbox."""
from __future__ import annotations

import types

from crmkit import utcnow

from .channel import current_settings
from .compose import compose
from .smtp import close_connections, send


def send_test(to, subject, text):
    settings = current_settings()
    now = utcnow()
    probe = types.SimpleNamespace(id=0, idempotency_key=f"email-test:{now.timestamp()}", meta="{}",
                                  created_at=now, recipient=to, recipient_name="", subject=subject,
                                  body_text=text, body_html=None)
    mail = compose(probe, settings)
    try:
        send(settings, mail)
    finally:
        close_connections()
    return str(mail["Message-ID"]), settings
