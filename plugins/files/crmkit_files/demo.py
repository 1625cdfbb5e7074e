"""Demo files: a signed contract on the first partners' cards and a
price list on their latest interaction, so every card shows the tab."""
from __future__ import annotations

import io

CONTRACT = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PRICES = "Код;Наименование;Цена\nТ-001;Кондиционер настенный;35000\n".encode()


def load(crm):
    from .store import attach
    partners = crm.find("core.partner", order_by="id", limit=6)
    for partner in partners:
        attach(crm, ("core.partner", partner.id), "Договор поставки.pdf", io.BytesIO(CONTRACT),
               comment="подписанный экземпляр")
        talks = crm.find("core.interaction", partner=partner.id, limit=1)
        if talks:
            attach(crm, ("core.interaction", talks[0].id), "Прайс-лист.csv", io.BytesIO(PRICES))
    if "deals.deal" in crm.registry.entities:
        for deal in crm.find("deals.deal", order_by="id", limit=4):
            attach(crm, ("deals.deal", deal.id), "Коммерческое предложение.pdf", io.BytesIO(CONTRACT))
    return None
