"""The email part of the demo base: mail the presentation's managers received
after the 1С:ERP business forum -- a contact's confirmation, a reply to the
outgoing price list (windows-1251), and a question from an unknown sender."""
from __future__ import annotations

from pathlib import Path

from .mailreader import fetch_folder

DEMO_MAIL = Path(__file__).with_name("demo_mail")
PRICE_LIST_ID = "<price-2015-11@crmkit.example>"


def load(crm):
    model = crm.model("core.interaction")
    # core's demo logged the outgoing price list to Электромаркет; give it the
    # Message-ID it went out with, so that the reply threads to it
    price = crm.query("core.interaction").where((model.topic == "Прайс-лист на ноябрь")
                                                & (model.direction == "outgoing")).first()
    if price is not None and not price.external_id:
        crm.update("core.interaction", price.id, {"external_id": PRICE_LIST_ID})
    fetch_folder(crm, DEMO_MAIL)
    return []
