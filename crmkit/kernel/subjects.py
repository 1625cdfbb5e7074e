"""Subject references: ("deals.deal", 42), the предмет of an interaction.

Stored as two columns, ``subject_type`` and ``subject_id``; given in input as
``"deals.deal:42"``, a ``(entity, id)`` pair, a ``Subject`` or a record. The
kernel resolves and describes them through the registry, knowing no entity.
"""
from __future__ import annotations

import attrs

from .errors import ValidationError


@attrs.frozen
class Subject:
    entity: str
    id: int

    def __str__(self):
        return f"{self.entity}:{self.id}"


def parse(value, registry) -> Subject | None:
    """Turn any accepted form into a Subject (not yet checked to exist)."""
    if value is None or value == "":
        return None
    if isinstance(value, Subject):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        entity, rid = value
    elif isinstance(value, dict) and {"entity", "id"} <= set(value):
        entity, rid = value["entity"], value["id"]
    elif isinstance(value, str) and ":" in value:
        entity, rid = value.rsplit(":", 1)
    elif hasattr(value, "_meta") and registry.spec_of_model(type(value)):
        return Subject(registry.spec_of_model(type(value)).name, value.get_id())
    else:
        raise ValidationError({"subject": f"{value!r} is not a subject reference (entity:id)"})
    try:
        rid = int(rid)
    except (TypeError, ValueError):
        raise ValidationError({"subject": f"{value!r}: the id must be a number"}) from None
    if entity not in registry.subject_types:
        raise ValidationError({"subject": f"{entity!r} is not a subject type; "
                                          f"known: {', '.join(sorted(registry.subject_types))}"})
    return Subject(entity, rid)


def of_record(record) -> Subject | None:
    """The subject stored on a record with subject_type/subject_id columns."""
    entity = getattr(record, "subject_type", None)
    rid = getattr(record, "subject_id", None)
    return Subject(entity, rid) if entity and rid is not None else None
