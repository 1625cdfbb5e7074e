"""The SMS part of the demo base: a reminder about the 1С:ERP business forum
queued for Смирнов's mobile (the presentation's demo has no gateway set up,
so it waits in the outbox: "SMS sending is not configured")."""
from __future__ import annotations

from crmkit import normalize_phone

TEXT = "Напоминаем: бизнес-форум 1С:ERP 2015 начнётся 28.10 в 10:00. Ждём вас!"


def load(crm):
    contact = crm.find("core.contact", name="Смирнов Олег Иванович")[0]
    info = crm.model("core.contact_info")
    mobile = crm.query("core.contact_info").where((info.contact == contact.id) & (info.kind == "phone")).first()
    crm.outbox.queue("sms", normalize_phone(mobile.value), text=TEXT, key="demo:sms:forum-reminder",
                     source="demo", partner_id=contact.partner_id, contact_id=contact.id,
                     recipient_name=contact.name)
    return []
