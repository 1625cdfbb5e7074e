"""Who acts, what they may do, and which rows they see.

Roles grant verbs (r c u d, and m: merge duplicates) per entity or report pattern. Row-level access
follows partners: a record belongs to a partner through
``EntitySpec.partner_path`` (a reference field, followed recursively), and a
partner is visible when it has no access group or one of the user's.
Administrators see everything. The same filter serves get, find, update,
delete, reports, exports and the CLI, because all of them query through it.
"""
from __future__ import annotations

import fnmatch

import attrs

from .errors import AccessDenied

SYSTEM_LOGIN = "system"
VERBS = {"read": "r", "create": "c", "update": "u", "delete": "d", "merge": "m"}

BUILTIN_ROLES = {
    "administrator": {"*": "rcudm"},
    "manager": {"*": "r", "core.*": "rcu", "deals.*": "rcu"},
    "marketer": {"*": "r", "core.segment*": "rcud", "marketing.*": "rcud",
                 "core.interaction": "rcu", "core.task": "rcu", "core.note": "rcud"},
    "claims_officer": {"*": "r", "claims.*": "rcu", "core.interaction": "rcu",
                       "core.task": "rcu", "core.note": "rcud"},
    "analyst": {"*": "r", "analysis.*": "rcud", "core.segment*": "rcud"},
    "readonly": {"*": "r"},
}
# Who may change who may do what: only administrators, whatever roles say.
ADMIN_ONLY_ENTITIES = {"core.user", "core.user_access", "core.access_group"}


@attrs.frozen
class Actor:
    """The acting user."""

    login: str
    id: int | None = None
    name: str = ""
    roles: frozenset = frozenset()
    access_groups: frozenset = frozenset()
    is_admin: bool = False

    @classmethod
    def system(cls):
        return cls(login=SYSTEM_LOGIN, name="System", roles=frozenset({"administrator"}),
                   is_admin=True)


def grants_for(actor: Actor, roles: dict) -> dict:
    merged: dict[str, set] = {}
    for role in actor.roles:
        for pattern, verbs in roles.get(role, {}).items():
            merged.setdefault(pattern, set()).update(verbs)
    return merged


def can(actor: Actor, roles: dict, verb: str, name: str) -> bool:
    """May ``actor`` do ``verb`` (read/create/update/delete) on entity or report ``name``?"""
    if actor.is_admin:
        return True
    letter = VERBS[verb]
    if verb != "read" and name in ADMIN_ONLY_ENTITIES:
        return False
    return any(letter in verbs and fnmatch.fnmatchcase(name, pattern)
               for pattern, verbs in grants_for(actor, roles).items())


def require(actor, roles, verb, name):
    if not can(actor, roles, verb, name):
        raise AccessDenied(f"user {actor.login!r} may not {verb} {name}")


def filter_is_static(spec, registry, depth=0) -> bool:
    """True when ``visible_filter`` of ``spec`` depends on nothing but the
    actor's admin flag and access groups (no plugin row filter on the way),
    so the SQL built from it can be reused for the same actor."""
    if spec.row_filter is not None or depth > 5:
        return False
    if spec.partner_path and spec.partner_path != "self":
        paths = (spec.partner_path,) if isinstance(spec.partner_path, str) else spec.partner_path
        for path in paths:
            target = registry.spec_of_model(getattr(spec.model, path).rel_model)
            if target is not None and not filter_is_static(target, registry, depth + 1):
                return False
    return True


def visible_filter(actor: Actor, spec, registry, depth=0):
    """A peewee expression selecting the rows of ``spec.model`` the actor may
    see, or None when every row is visible."""
    if actor.is_admin or depth > 5:
        return None
    model = spec.model
    conds = []
    if spec.partner_path == "self":
        group = model.access_group
        conds.append(group.is_null() | group.in_(sorted(actor.access_groups)) if actor.access_groups
                     else group.is_null())
    elif spec.partner_path:
        # every reference on the path(s) that is set must point at a visible row
        paths = (spec.partner_path,) if isinstance(spec.partner_path, str) else spec.partner_path
        for path in paths:
            field = getattr(model, path)
            target = registry.spec_of_model(field.rel_model)
            inner = visible_filter(actor, target, registry, depth + 1) if target else None
            if inner is not None:
                visible = field.rel_model.select(field.rel_model._meta.primary_key).where(inner)
                conds.append(field.is_null() | field.in_(visible))
    if spec.row_filter is not None:
        conds.append(spec.row_filter(actor, model))
    if not conds:
        return None
    expr = conds[0]
    for c in conds[1:]:
        expr &= c
    return expr
