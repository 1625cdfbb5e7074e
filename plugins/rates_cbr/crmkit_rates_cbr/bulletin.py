"""The Central Bank of Russia's daily bulletin (``XML_daily.asp``)::

    <ValCurs Date="10.01.2024" name="Foreign Currency Market">
      <Valute ID="R01235"><NumCode>840</NumCode><CharCode>USD</CharCode>
        <Nominal>1</Nominal><Name>Доллар США</Name><Value>89,6076</Value></Valute> ...

``Nominal`` units of ``CharCode`` cost ``Value`` roubles (a decimal comma).
The bulletin's own date is the rates' date: asked for a Sunday, the bank
answers with the rates set on Saturday.
"""
from __future__ import annotations

import datetime as dt
import os
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from crmkit import ValidationError

ENTITY = "core.currency_rate"
URL = "https://www.cbr.ru/scripts/XML_daily.asp"
MAX_BYTES = 2_000_000      # a bulletin is ~10 KB; anything far larger is not one
TIMEOUT = 20


def _refuse(problem):
    raise ValidationError({"content": f"not a daily bulletin of the Central Bank of Russia: {problem}"}, ENTITY)


def parse(content) -> list[dict]:
    """Rows ``{"currency", "rate", "multiplier", "date"}`` of a bulletin
    (text or bytes); ``ValidationError`` naming the problem otherwise."""
    # text (decoded already: its declared encoding is ignored) or the bank's bytes (windows-1251)
    if len(content) > MAX_BYTES:
        _refuse(f"{len(content)} characters, more than {MAX_BYTES}")
    head = content.upper() if isinstance(content, str) else bytes(content).upper().decode("latin-1")
    if "<!DOCTYPE" in head or "<!ENTITY" in head:
        _refuse("a document type declaration (entities are never part of the bulletin)")
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        _refuse(f"malformed XML ({exc})")
    if root.tag != "ValCurs":
        _refuse(f"the root element is <{root.tag}>, not <ValCurs>")
    try:
        day = dt.datetime.strptime(root.get("Date", ""), "%d.%m.%Y").date()
    except ValueError:
        _refuse(f"ValCurs Date {root.get('Date')!r} is not a DD.MM.YYYY date")
    rows = []
    for pos, valute in enumerate(root.findall("Valute")):
        values = {name: (valute.findtext(name) or "").strip() for name in ("CharCode", "Nominal", "Value")}
        missing = [name for name, value in values.items() if not value]
        if missing:
            _refuse(f"Valute {pos + 1} ({valute.get('ID', '?')}) has no {', '.join(missing)}")
        rows.append({"currency": values["CharCode"], "multiplier": values["Nominal"],
                     "rate": values["Value"].replace(",", "."), "date": day})
    if not rows:
        _refuse("no Valute elements")
    return rows


def fetch(day: dt.date) -> bytes:
    """The bulletin of ``day`` from the bank (``CRMKIT_CBR_URL`` overrides
    the address: a mirror, a test server); the wait is bounded."""
    url = f"{os.environ.get('CRMKIT_CBR_URL') or URL}?date_req={day.strftime('%d/%m/%Y')}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            return answer.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise ValidationError({"source": f"the Central Bank's rates could not be fetched from {url}: {exc}"},
                              ENTITY) from exc
