"""Poison values: the extremes of every field type that a database, a time
zone conversion, a report or a terminal cannot hold.

Each one must be refused by every write path (create, update, import, and
the HTTP API) with a ValidationError naming the field, and nothing written.
The sweep in ``tests/adversarial/test_poison_sweep.py`` sends them through
the Python API and the importer; the HTTP tests reuse ``poison_cases``.
"""
from __future__ import annotations

import peewee as pw

# by the kind a field's schema gives it (validation.FIELD_RULES)
POISON = {
    "decimal": ["99999999999999999999999999.99", "1e400", "-1e400", "inf", "-Infinity", "NaN",
                "1e16", "-1e16"],
    "integer": ["100000000000000000000", str(2 ** 31), str(-2 ** 31 - 1), str(2 ** 63), "1e400", "inf", "nan"],
    "float": ["1e400", "-1e400", "inf", "-inf", "nan"],
    "date": ["0001-01-01", "9999-12-31", "01.01.0001", "31.12.9999", "1899-12-31", "2200-01-01"],
    "datetime": ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "9999-12-31T23:00:00-05:00",
                 "0001-01-01T00:30:00+05:00", "2020-01-01T00:00:00+25:00", "2020-01-01T00:00:00-24:00",
                 "1899-12-31 23:59:59"],
    "string": ["a\x00b", "x\ud800y", "\x1b]0;pwned\x07", "a\x1b[2Jb", "a\x9b31mb", "a\x0bb", "a\x0cb",
               "a\x7fb", "a\x08b"],
}
# the text of each kind that is too long for its column: maxlength + 1 characters
TOO_LONG = "я"


def kind_of(rules) -> str | None:
    kind = rules.get("type")
    return kind if isinstance(kind, str) else None


def poison_cases(spec, schema):
    """``(field, value)`` for every writable field of ``spec`` (its cerberus
    ``schema``) and every poison value of the field's kind; a field with a
    fixed list of allowed values or a boolean has none beyond a wrong type."""
    for name, rules in sorted(schema.items()):
        if rules.get("readonly") or "allowed" in rules:
            continue
        field = spec.model._meta.fields.get(name)
        if field is None or isinstance(field, (pw.AutoField, pw.BooleanField)):
            continue
        kind = kind_of(rules)
        values = list(POISON.get(kind, ()))
        if kind == "string" and rules.get("maxlength"):
            values.append(TOO_LONG * (rules["maxlength"] + 1))
        for value in values:
            yield name, value
