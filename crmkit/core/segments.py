"""Segments of partners and products.

A rule is data, never code: ``{"all": [cond, ...]}`` or ``{"any": [...]}``,
nested, where a condition is ``{"field": name, "op": op, "value": v}``.
Fields are the model's columns plus those plugins register
(``crmkit_register_segment_fields``); operators are a fixed list. The rule
compiles to a peewee expression with bound parameters.
"""
from __future__ import annotations

import json

import peewee as pw

from crmkit import ValidationError, utcnow

from . import models as m

OPS = {
    "eq": lambda f, v: f == v, "ne": lambda f, v: f != v,
    "lt": lambda f, v: f < v, "le": lambda f, v: f <= v,
    "gt": lambda f, v: f > v, "ge": lambda f, v: f >= v,
    "in": lambda f, v: f.in_(list(v)), "not_in": lambda f, v: f.not_in(list(v)),
    "contains": lambda f, v: f.contains(v), "startswith": lambda f, v: f.startswith(v),
    "isnull": lambda f, v: f.is_null(bool(v)),
}
MODELS = {"partner": m.Partner, "product": m.Product}
ENTITIES = {"partner": "core.partner", "product": "core.product"}


def compile_rule(crm, kind, rule, depth=0):
    """A peewee expression for ``rule`` over the partner or product table."""
    model = MODELS.get(kind)
    if model is None:
        raise ValueError(f"segment kind must be one of {', '.join(MODELS)}")
    if depth > 10:
        raise ValueError("rule is nested too deeply")
    if not isinstance(rule, dict) or not rule:
        raise ValueError('a rule is {"all": [...]}, {"any": [...]} or {"field", "op", "value"}')
    for joiner in ("all", "any"):
        if joiner in rule:
            parts = rule[joiner]
            if set(rule) != {joiner} or not isinstance(parts, list) or not parts:
                raise ValueError(f'"{joiner}" takes a non-empty list of conditions')
            exprs = [compile_rule(crm, kind, p, depth + 1) for p in parts]
            out = exprs[0]
            for e in exprs[1:]:
                out = (out & e) if joiner == "all" else (out | e)
            return out
    if set(rule) - {"field", "op", "value"} or "field" not in rule:
        raise ValueError(f"a condition has field, op and value; got {sorted(rule)}")
    name, op = rule["field"], rule.get("op", "eq")
    if op not in OPS:
        raise ValueError(f"unknown operator {op!r}; use one of {', '.join(OPS)}")
    field = model._meta.fields.get(name) if isinstance(name, str) else None
    if field is not None:
        value = rule.get("value")
        if op not in ("in", "not_in", "isnull") and value is not None:
            try:
                value = field.db_value(field.python_value(value)) if not isinstance(field, pw.ForeignKeyField) \
                    else int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name}: {value!r} is not a valid value") from None
        return OPS[op](field, value)
    if isinstance(name, str) and name in {a.name for a in crm.attributes(ENTITIES[kind])}:
        return crm.attribute_condition(ENTITIES[kind], name, op, rule.get("value"))  # an additional attribute
    extra = crm.registry.segment_fields.get((kind, name))
    if extra is None:
        known = sorted(set(model._meta.fields) | {n for (k, n) in crm.registry.segment_fields if k == kind})
        raise ValueError(f"unknown field {name!r}; known: {', '.join(known)}")
    if extra.view_expression is not None and not crm.sees_everything():
        return OPS[op](extra.view_expression(crm, model), rule.get("value"))
    return OPS[op](extra.expression(model), rule.get("value"))


def _fields_of(rule):
    if isinstance(rule, dict):
        for joiner in ("all", "any"):
            for part in rule.get(joiner) or ():
                yield from _fields_of(part)
        if "field" in rule:
            yield rule["field"]


def ranks_whole_base(crm, segment) -> bool:
    """Whether the segment's rule uses a field computed over the whole base
    (``SegmentField.view_expression``): its stored membership then depends
    on partners a restricted user may not see."""
    return _ranks(crm.registry, segment.kind, segment.method, segment.rule)


def _ranks(registry, kind, method, rule) -> bool:
    if method != "rule" or not rule:
        return False
    try:
        names = set(_fields_of(json.loads(rule)))
    except ValueError:
        return False
    return any(getattr(registry.segment_fields.get((kind, n)), "view_expression", None) for n in names)


def ranked_segment_ids(registry) -> list[int]:
    """Ids of the segments ranked over the whole base (few: segments are a
    short list, read when a filter is built)."""
    if not any(f.view_expression for f in registry.segment_fields.values()):
        return []
    S = m.Segment
    return [sid for sid, kind, method, rule in S.select(S.id, S.kind, S.method, S.rule).tuples()
            if _ranks(registry, kind, method, rule)]


def lives_in_view(crm, segment) -> bool:
    """Members of this segment are evaluated live for the acting user."""
    return ranks_whole_base(crm, segment) and not crm.sees_everything()


def membership(crm, segment_ids=None):
    """A select of ``(segment, member_id)``: the current members of every
    (or the given) segment as the acting user has them. Reports join on it
    instead of the stored table, so a company-wide ranked segment is seen
    over the user's view."""
    SM = m.SegmentMember
    segments = list(crm.query("core.segment") if segment_ids is None else
                    crm.query("core.segment").where(m.Segment.id.in_(list(segment_ids))))
    live = [s for s in segments if lives_in_view(crm, s)]
    stored = SM.select(SM.segment.alias("segment"), SM.member_id.alias("member_id")).where(
        SM.removed_at.is_null() & SM.segment.in_([s.id for s in segments if s not in live]))
    out = stored
    for seg in live:
        model = MODELS[seg.kind]
        expr = compile_rule(crm, seg.kind, json.loads(seg.rule))
        out = out.union_all(crm.query(f"core.{seg.kind}", pw.Value(seg.id).alias("segment"),
                                      model.id.alias("member_id")).where(expr))
    return out


def matching_ids(crm, segment) -> set[int]:
    model = MODELS[segment.kind]
    rule = json.loads(segment.rule) if segment.rule else None
    try:
        expr = compile_rule(crm, segment.kind, rule)
    except ValueError as exc:
        raise ValidationError({"rule": str(exc)}, "core.segment") from None
    q = crm.query(f"core.{segment.kind}", model.id).where(expr)
    return {row[0] for row in q.tuples()}


def _in_view(crm, kind):
    """The ids of ``kind`` the acting user sees (marked ones too), as a
    subquery; None when the user sees every row."""
    if crm.visible(f"core.{kind}") is None:
        return None
    model = MODELS[kind]
    return crm.query(f"core.{kind}", model.id, include_marked=True)


def current_members(segment_id, crm=None, kind="partner") -> set[int]:
    """Current members; with ``crm``, only those the acting user sees."""
    SM = m.SegmentMember
    q = SM.select(SM.member_id).where((SM.segment == segment_id) & SM.removed_at.is_null())
    view = _in_view(crm, kind) if crm is not None else None
    if view is not None:
        q = q.where(SM.member_id.in_(view))
    return {r[0] for r in q.tuples()}


def compute(crm, key) -> dict:
    """Recompute a rule segment's membership; joins and leaves are dated.

    A segment may be shared by users of several access groups. Each user's
    compute evaluates the rule over the partners that user sees, and adds
    or removes only those: members outside the user's view are neither
    counted, nor removed, nor confirmed. An administrator's compute covers
    every partner. The counts returned are of the user's view. A segment
    ranked over the whole base (``ranks_whole_base``) is stored by an
    administrator's compute only; for others it is evaluated live, and
    their compute writes nothing.
    """
    segment = crm.get("core.segment", key)
    crm.require("update", "core.segment")
    if segment.method != "rule":
        raise ValidationError({"method": "only rule-based segments are computed"}, "core.segment")
    if lives_in_view(crm, segment):   # the stored list is company-wide: the user's view is live
        count = members_query(crm, segment.id).count()
        return {"segment": segment.name, "members": count, "added": 0, "removed": 0}
    now = utcnow()
    with crm.transaction():
        new = matching_ids(crm, segment)
        old = current_members(segment.id, crm, segment.kind)
        added, removed = new - old, old - new
        SM = m.SegmentMember
        if removed:
            for chunk in _chunks(sorted(removed)):
                SM.update(removed_at=now).where((SM.segment == segment.id) & SM.removed_at.is_null()
                                                & SM.member_id.in_(chunk)).execute()
        if added:
            SM.insert_many([{"segment": segment.id, "member_id": i, "added_at": now} for i in sorted(added)]).execute()
        m.Segment.update(computed_at=now).where(m.Segment.id == segment.id).execute()
    return {"segment": segment.name, "members": len(new), "added": len(added), "removed": len(removed)}


def add_members(crm, key, ids):
    segment = crm.get("core.segment", key)
    crm.require("update", "core.segment")
    if segment.method != "manual":
        raise ValidationError({"method": "members of a rule segment come from its rule"}, "core.segment")
    entity = f"core.{segment.kind}"
    visible = {r.id for r in crm.query(entity).where(MODELS[segment.kind].id.in_(list(ids)))}
    missing = set(ids) - visible
    if missing:
        raise ValidationError({"member_id": f"unknown {segment.kind}(s): {sorted(missing)}"}, "core.segment")
    with crm.transaction():
        new = set(ids) - current_members(segment.id, crm, segment.kind)
        if new:
            m.SegmentMember.insert_many([{"segment": segment.id, "member_id": i, "added_at": utcnow()}
                                         for i in sorted(new)]).execute()
    return len(new)


def remove_members(crm, key, ids):
    """Remove members the user sees; others (hidden, or not members) count
    for nothing, exactly as if they were not there."""
    segment = crm.get("core.segment", key)
    crm.require("update", "core.segment")
    if segment.method != "manual":
        raise ValidationError({"method": "members of a rule segment come from its rule"}, "core.segment")
    SM = m.SegmentMember
    q = SM.update(removed_at=utcnow()).where((SM.segment == segment.id) & SM.removed_at.is_null()
                                             & SM.member_id.in_(list(ids)))
    view = _in_view(crm, segment.kind)
    if view is not None:
        q = q.where(SM.member_id.in_(view))
    with crm.transaction():
        return q.execute()


def members_query(crm, key):
    """The visible current members of a segment, as a select of partners/products."""
    segment = crm.get("core.segment", key)
    model = MODELS[segment.kind]
    if lives_in_view(crm, segment):
        return crm.query(f"core.{segment.kind}").where(compile_rule(crm, segment.kind, json.loads(segment.rule)))
    SM = m.SegmentMember
    inner = SM.select(SM.member_id).where((SM.segment == segment.id) & SM.removed_at.is_null())
    return crm.query(f"core.{segment.kind}").where(model.id.in_(inner))


def _chunks(items, size=5000):
    for i in range(0, len(items), size):
        yield items[i:i + size]
