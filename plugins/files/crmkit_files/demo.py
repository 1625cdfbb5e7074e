"""Demo files: a signed contract on the first partners' cards and a
price list on their latest interaction, so every card shows the tab; and
the jubilee invitation's picture on its template (``#Картинка1#`` in its
HTML body), so the mailing shows a template image."""
from __future__ import annotations

import io
import struct
import zlib

CONTRACT = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PRICES = "Код;Наименование;Цена\nТ-001;Кондиционер настенный;35000\n".encode()


JUBILEE = "Приглашение на юбилей"
JUBILEE_HTML = ("<p>Добрый день, #ПредставлениеПартнера#.</p>\n#Картинка1#\n"
                "<p>Нашей компании исполняется 20 лет! Приглашаем вас на праздничную распродажу "
                "бытовой техники со скидками до 20%.</p>\n<p>Ваш менеджер: #ОсновнойМенеджер#.</p>\n"
                "<p><a href=\"#СсылкаОтписки#\">Отписаться от рассылки</a></p>\n")


def banner_png(width=120, height=40) -> bytes:
    """A small real PNG (made here, no image library): a gold banner with a
    red band, the jubilee's colours."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b""
    for y in range(height):
        colour = b"\xc8\x1e\x1e" if height // 3 <= y < 2 * height // 3 else b"\xf0\xc0\x30"
        rows += b"\x00" + colour * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


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
    if "marketing.template" in crm.registry.entities:
        found = crm.find("marketing.template", name=JUBILEE)
        if found:
            attach(crm, ("marketing.template", found[0].id), "Юбилей 20 лет.png", io.BytesIO(banner_png()),
                   comment="картинка приглашения (#Картинка1#)")
            crm.update("marketing.template", found[0].id, {"body_html": JUBILEE_HTML})
    return None
