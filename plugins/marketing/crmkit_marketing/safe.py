"""Records as templates see them: field values only, never methods.

The sandbox lets a template call any public method of an object it is
given (``partner.delete_instance()``), so user-edited templates get a
read-only view that exposes a record's fields (references become views of
the referenced record) and nothing else.
"""
from __future__ import annotations

import peewee as pw


class SafeRecord:
    __slots__ = ("_record", "_depth")

    def __init__(self, record, depth=0):
        object.__setattr__(self, "_record", record)
        object.__setattr__(self, "_depth", depth)

    def __getattr__(self, name):
        record = object.__getattribute__(self, "_record")
        fields = record._meta.fields
        if name.endswith("_id") and isinstance(fields.get(name[:-3]), pw.ForeignKeyField):
            return getattr(record, name)
        field = fields.get(name)
        if field is None:
            raise AttributeError(name)
        if isinstance(field, pw.ForeignKeyField):
            depth = object.__getattribute__(self, "_depth")
            if getattr(record, name + "_id") is None or depth >= 2:
                return None
            return SafeRecord(getattr(record, name), depth + 1)
        return getattr(record, name)

    def __setattr__(self, name, value):
        raise AttributeError("read-only")

    def __str__(self):
        record = object.__getattribute__(self, "_record")
        for name in ("public_name", "name", "title", "code"):
            value = getattr(record, name, None) if name in record._meta.fields else None
            if value:
                return str(value)
        return str(record.get_id())

    def __bool__(self):
        return True


def wrap(value):
    return SafeRecord(value) if isinstance(value, pw.Model) else value
