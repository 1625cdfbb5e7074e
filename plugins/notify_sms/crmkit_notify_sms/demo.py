"""The SMS part of the demo base: a reminder about the 1С:ERP business forum
for Смирнов's mobile, kept in the outbox as the presentation shows it: never
sent, "SMS sending is not configured". It is history (October 2015), so it
is written ``skipped``: loading the demo notifies no customer, and no
``outbox deliver`` or ``retry`` sends it."""
from __future__ import annotations

from crmkit import normalize_phone

NOT_CONFIGURED = "SMS sending is not configured"
TEXT = "Напоминаем: бизнес-форум 1С:ERP 2015 начнётся 28.10 в 10:00. Ждём вас!"


def load(crm):
    contact = crm.find("core.contact", name="Смирнов Олег Иванович")[0]
    info = crm.model("core.contact_info")
    mobile = crm.query("core.contact_info").where((info.contact == contact.id) & (info.kind == "phone")).first()
    message = crm.outbox.queue("sms", normalize_phone(mobile.value), text=TEXT, key="demo:sms:forum-reminder",
                               source="demo", partner_id=contact.partner_id, contact_id=contact.id,
                               recipient_name=contact.name)
    crm.outbox.skip(message.id, NOT_CONFIGURED)
    return []
