"""Merging duplicates: one record survives, everything pointing at the other
moves to it, in one transaction.

Each plugin answers for its own tables through ``crmkit_merge_records``
(rows under a unique key both records have, plain integer references);
then the kernel moves what is left generically: every foreign key to the
entity's table in every installed model, every subject reference
(``<x>_type``/``<x>_id``) and the outbox's partner. The merged record is
kept, marked for deletion, with a row in ``kernel_merge`` so that its code
still resolves (to the survivor); both change histories record the merge.
"""
from __future__ import annotations

import json

import peewee as pw

from . import db
from .errors import AccessDenied, ValidationError
from .models import Merge, OutboxMessage


def _models():
    """Every model with a table of the loaded plugins (entities or not)."""
    seen, stack = [], list(db.BaseModel.__subclasses__())
    while stack:
        model = stack.pop()
        stack.extend(model.__subclasses__())
        if model not in seen:
            seen.append(model)
    tables = set(db.database.obj.get_tables())
    return [m for m in seen if m._meta.table_name in tables]


def _subject_pairs(model):
    """``(type field, id field)`` pairs of a model's polymorphic references."""
    fields = model._meta.fields
    return [(fields[name], fields[name[:-5] + "_id"]) for name in fields
            if name.endswith("_type") and name[:-5] + "_id" in fields
            and isinstance(fields[name[:-5] + "_id"], pw.IntegerField)
            and not isinstance(fields[name[:-5] + "_id"], pw.ForeignKeyField)]


def merge(crm, entity, survivor_key, merged_key, take=()):
    """Merge ``merged_key`` into ``survivor_key``.

    :param take: fields whose value the survivor takes from the merged record
        (the survivor keeps its own values for every other field).
    :return: the survivor, re-read.
    """
    spec = crm.registry.entity(entity)
    if not crm.can("merge", entity):
        from .access import denied
        raise denied(crm.actor, crm.registry.roles, "merge", entity, admin_writes=crm.registry.admin_writes)
    survivor = crm.get(entity, survivor_key, follow_merges=False)
    merged = crm.get(entity, merged_key, follow_merges=False)
    model = spec.model
    pk = model._meta.primary_key
    if survivor.get_id() == merged.get_id():
        raise ValidationError({"merged": "a record cannot be merged into itself"}, entity)
    for name, record in (("survivor", survivor), ("merged", merged)):
        if Merge.get_or_none((Merge.entity == entity) & (Merge.merged_id == record.get_id())):
            raise ValidationError({name: f"{crm.display(entity, record)} was already merged into another"},
                                  entity)
    take = list(take or ())
    errors = {}
    from . import attributes
    extra = attributes.definitions(crm, entity)
    for name in take:
        field = model._meta.fields.get(name)
        if field is None and name in extra:
            continue
        if field is None or name in ("id", "created_at", "changed_at", "deletion_mark"):
            errors.setdefault("take", []).append(f"{name!r} is not a field that can be taken")
        elif field.unique or name == spec.lookup:
            errors.setdefault("take", []).append(f"{name!r} is unique: the merged record keeps it")
    if errors:
        raise ValidationError(errors, entity)
    values = {}
    for name in (n for n in take if n not in extra):
        field = model._meta.fields[name]
        values[name] = getattr(merged, field.name + "_id") if isinstance(field, pw.ForeignKeyField) \
            else getattr(merged, name)
    s_id, m_id = survivor.get_id(), merged.get_id()
    with db.transaction():
        if values:
            crm.update(entity, s_id, values)
        crm.pm.hook.crmkit_merge_records(crm=crm, entity=entity, survivor=survivor, merged=merged)
        attributes.merge(crm, entity, s_id, m_id, take)
        moved = 0
        for other in _models():
            for field in other._meta.fields.values():
                if isinstance(field, pw.ForeignKeyField) and field.rel_model is model:
                    if other is model:   # the survivor cannot become its own parent
                        other.update({field: None}).where((pk == s_id) & (field == m_id)).execute()
                        other.update({field: None}).where((pk == m_id) & (field == s_id)).execute()
                    moved += other.update({field: s_id}).where(field == m_id).execute()
            for type_field, id_field in _subject_pairs(other):
                moved += other.update({id_field: s_id}).where(
                    (type_field == entity) & (id_field == m_id)).execute()
        if spec.partner_path == "self":
            OutboxMessage.update(partner_id=s_id).where(OutboxMessage.partner_id == m_id).execute()
        Merge.create(entity=entity, merged_id=m_id, survivor_id=s_id, user=crm.actor.login,
                     taken=json.dumps(take))
        if "deletion_mark" in model._meta.fields:
            model.update(deletion_mark=True).where(pk == m_id).execute()
        crm.log_action(entity, s_id, "merge", f"{crm.display(entity, merged)} (id {m_id}) merged into this")
        crm.log_action(entity, m_id, "merged", f"merged into {crm.display(entity, survivor)} (id {s_id})")
        from .duplicates import reindex
        reindex(crm, entity, [s_id, m_id])
        crm.pm.hook.crmkit_records_merged(crm=crm, entity=entity, survivor=survivor, merged=merged)
    return crm.get(entity, s_id)


def survivor_of(entity, record_id):
    """The id a merged record now lives as (following merges of merges)."""
    seen = set()
    while record_id not in seen:
        seen.add(record_id)
        row = Merge.get_or_none((Merge.entity == entity) & (Merge.merged_id == record_id))
        if row is None:
            return record_id
        record_id = row.survivor_id
    return record_id
