"""Languages: message catalogues and number/date formats.

Messages are English in code; each plugin may ship ``locale/<lang>.po``
beside its package (msgid = the English text). Catalogues are read with
Babel when first needed; numbers and dates are formatted by Babel's locale
data (``1 769,40`` and ``03.03.2015`` in Russian).
"""
from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

_dirs: list[Path] = [Path(__file__).parent / "locale"]
_catalogs: dict[str, dict] = {}
LOCALES = {"en": "en_US", "ru": "ru_RU"}


def add_catalog_dir(path):
    path = Path(path)
    if path.is_dir() and path not in _dirs:
        _dirs.append(path)
        _catalogs.clear()


def _catalog(lang) -> dict:
    if lang not in _catalogs:
        from babel.messages.pofile import read_po
        messages = {}
        for folder in _dirs:
            po = folder / f"{lang}.po"
            if po.exists():
                with po.open("rb") as fh:
                    for msg in read_po(fh):
                        if msg.id and msg.string and isinstance(msg.id, str):
                            messages[msg.id] = msg.string
        _catalogs[lang] = messages
    return _catalogs[lang]


def translate(text: str, lang: str = "en") -> str:
    if not lang or lang == "en" or not text:
        return text
    return _catalog(lang).get(text, text)


_ = translate


def _pandas_nat():
    """pandas, if a report already loaded it (NaT marks a missing moment)."""
    import sys
    return sys.modules.get("pandas")


def operator_zone():
    """The operator's time zone: ``$CRMKIT_TZ`` (e.g. Europe/Moscow) or the system's
    (``crmkit.kernel.zones``; a misspelled name is a one-line error)."""
    from .zones import operator_zone as zone
    return zone()


def format_value(value, lang="en", zone=None) -> str:
    """A cell as a person reads it in ``lang``; aware times in ``zone``
    (a ``tzinfo``; default the acting user's within a CLI command, else the
    operator's, ``$CRMKIT_TZ``)."""
    if value is None or value is getattr(_pandas_nat(), "NaT", object()):
        return ""
    if isinstance(value, float) and value != value:
        return ""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (AttributeError, ValueError):
            pass
    if isinstance(value, bool):
        return translate("yes" if value else "no", lang)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            from .zones import output_zone
            value = value.astimezone(zone or output_zone()).replace(tzinfo=None)
        if lang == "ru":
            return value.strftime("%d.%m.%Y %H:%M:%S") if (value.hour, value.minute, value.second) != (0, 0, 0) \
                else value.strftime("%d.%m.%Y")
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y") if lang == "ru" else value.isoformat()
    if isinstance(value, int):
        if lang == "ru":
            return f"{value:,}".replace(",", " ")
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, (float, decimal.Decimal)):
        text = f"{float(value):,.2f}"
        if lang == "ru":
            return text.replace(",", " ").replace(".", ",")
        return text
    from .values import terminal_safe
    return terminal_safe(str(value))
