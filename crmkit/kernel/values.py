"""Small value helpers shared by the write path, rules and renderers."""
from __future__ import annotations

import datetime as dt
import decimal
import re


def value_after_write(data: dict, record, name: str, default=None):
    """The value a write will leave in ``name``: the new one when the payload
    gives it, else the stored one (a reference as its id), else ``default``.
    For ``crmkit_validate_record`` rules that look at several fields."""
    if name in data:
        return data[name]
    if record is None:
        return default
    field = record._meta.fields.get(name)
    if field is not None and hasattr(field, "rel_model"):
        return getattr(record, field.column_name)
    return getattr(record, name, default)


def plain(value, decimals=str):
    """A value as JSON holds it: dates in ISO form, records as their ids,
    numpy scalars as Python numbers, Decimals through ``decimals`` (``str``
    keeps every digit; ``float`` keeps numbers numbers)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return decimals(value)
    if hasattr(value, "get_id"):
        return value.get_id()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return value.item()
    return value


# C0 controls but tab and line feed (ESC starts the OSC/CSI sequences that
# retitle, clear or rewrite a terminal; CR overwrites a line), DEL, C1, and
# the bidirectional overrides that make text read differently from its bytes
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Text as a terminal may print it: every control character shown as a
    visible ``\\u001b`` escape (valid inside a JSON string, so JSON output
    still parses to the same data), so stored text never rewrites the screen.
    ``format_value`` passes every table cell through it, and the CLI every
    line it prints (``crmkit.cli.TerminalSafe``)."""
    if not TERMINAL_UNSAFE.search(text):
        return text
    return TERMINAL_UNSAFE.sub(lambda m: "\\u%04x" % ord(m.group()), text)
