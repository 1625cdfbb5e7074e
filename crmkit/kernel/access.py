"""Who acts, what they may do, and which rows they see.

Roles grant verbs (r c u d, and m: merge duplicates) per entity or report pattern. Row-level access
follows partners: a record belongs to a partner through
``EntitySpec.partner_path`` (a reference field, followed recursively), and a
partner is visible when it has no access group or one of the user's. A
record about a subject (``subject_type``/``subject_id``, the types in the
registry's subject types) is visible only when its subject is.
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
# How far a chain of subjects is followed: a note about a task about a
# deal is hidden with the deal; past that, a subject's visibility is its
# partner's (each level multiplies the subqueries of every list and report).
SUBJECT_DEPTH = 2
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
    time_zone: str = ""          # IANA name; "" = the operator's zone (CRMKIT_TZ, else the system's)

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


def can(actor: Actor, roles: dict, verb: str, name: str, admin_writes=ADMIN_ONLY_ENTITIES) -> bool:
    """May ``actor`` do ``verb`` (read/create/update/delete) on entity or report ``name``?
    ``admin_writes``: entities only administrators change (the registry's:
    these and those whose spec says ``admin_writes``)."""
    if actor.is_admin:
        return True
    letter = VERBS[verb]
    if verb != "read" and name in admin_writes:
        return False
    return any(letter in verbs and fnmatch.fnmatchcase(name, pattern)
               for pattern, verbs in grants_for(actor, roles).items())


def roles_granting(roles: dict, verb: str, name: str, admin_writes=ADMIN_ONLY_ENTITIES) -> list[str]:
    """The roles that grant ``verb`` on entity or report ``name``, by name
    (for the error that tells a user whom to ask)."""
    if verb != "read" and name in admin_writes:
        return ["administrator"]
    letter = VERBS[verb]
    return sorted(role for role, grants in roles.items()
                  if any(letter in verbs and fnmatch.fnmatchcase(name, pattern) for pattern, verbs in grants.items()))


def denied(actor, roles, verb, name, what=None, admin_writes=ADMIN_ONLY_ENTITIES) -> AccessDenied:
    """"user 'orlov' may not create claims.claim: a role that may is
    claims_officer or administrator" (``what`` for the first part)."""
    from .i18n import Either, Message
    holders = roles_granting(roles, verb, name, admin_writes)
    said = what or Message("user {login} may not {verb} {name}", domain="kernel", login=repr(actor.login),
                           verb=Message(verb, context="kernel.message", domain="kernel"), name=name)
    if not holders:
        return AccessDenied(Message("{what}: no role grants it", context="kernel.message", what=said))
    first = [r for r in holders if r != "administrator"] + [r for r in holders if r == "administrator"]
    return AccessDenied(Message("{what}: it needs the role {roles}", context="kernel.message", what=said,
                                roles=Either(first)))


def require(actor, roles, verb, name, admin_writes=ADMIN_ONLY_ENTITIES):
    if not can(actor, roles, verb, name, admin_writes):
        raise denied(actor, roles, verb, name, admin_writes=admin_writes)


def _paths(spec):
    if not spec.partner_path or spec.partner_path == "self":
        return ()
    return (spec.partner_path,) if isinstance(spec.partner_path, str) else spec.partner_path


def has_subject(model) -> bool:
    """Whether rows of ``model`` carry a subject reference (subject_type/subject_id)."""
    return "subject_type" in model._meta.fields and "subject_id" in model._meta.fields


def filter_is_static(spec, registry, depth=0, path=(), own=True) -> bool:
    """True when ``visible_filter`` of ``spec`` depends on nothing but the
    actor's admin flag and access groups (no plugin row filter on the way,
    through partner paths or subject types), so the SQL built from it can
    be reused for the same actor. ``own=False``: the spec's own row filter
    aside."""
    if (own and spec.row_filter is not None) or depth > 5:
        return False
    for path_field in _paths(spec):
        target = registry.spec_of_model(getattr(spec.model, path_field).rel_model)
        if target is not None and not filter_is_static(target, registry, depth + 1, path):
            return False
    if has_subject(spec.model) and spec.name not in path and len(path) < SUBJECT_DEPTH:
        for name in sorted(registry.subject_types):
            if not filter_is_static(registry.entity(name), registry, depth + 1, path + (spec.name,)):
                return False
    return True


def visible_filter(actor: Actor, spec, registry, depth=0, path=()):
    """A peewee expression selecting the rows of ``spec.model`` the actor may
    see, or None when every row is visible.

    A row is visible when every reference on its partner path that is set
    points at a visible row, its own row filter admits it, and, when it has
    a subject reference, the subject is visible too (for every registered
    subject type, recursively). ``path`` holds the entities whose subject is
    being followed: a subject of a type already on it, or past
    ``SUBJECT_DEPTH`` levels, is checked by its partner path only, so
    cycles (a task about an interaction about a task) end.
    """
    if actor.is_admin or depth > 5:
        return None
    model = spec.model
    if depth == 0 and filter_is_static(spec, registry, own=False):
        # what hangs off partners and subjects depends on the actor alone:
        # written as SQL once (compiling it was most of a query's cost)
        conds = [_compiled_reach(actor, spec, registry)]
    else:
        conds = _reach(actor, spec, registry, depth, path)
    if spec.row_filter is not None:
        cond = _call_row_filter(spec.row_filter, actor, model, registry)
        if cond is not None:
            conds.append(cond)
    return _flat([c for c in conds if c is not None], "AND")


def _reach(actor, spec, registry, depth, path) -> list:
    """The conditions of ``visible_filter`` but the row's own row filter."""
    model = spec.model
    conds = []
    if spec.partner_path == "self":
        group = model.access_group
        conds.append(group.is_null() | group.in_(sorted(actor.access_groups)) if actor.access_groups
                     else group.is_null())
    for path_field in _paths(spec):
        # every reference on the path(s) that is set must point at a visible row
        field = getattr(model, path_field)
        target = registry.spec_of_model(field.rel_model)
        inner = visible_filter(actor, target, registry, depth + 1, path) if target else None
        if inner is not None:
            visible = field.rel_model.select(field.rel_model._meta.primary_key).where(inner)
            conds.append(field.is_null() | field.in_(visible))
    if has_subject(model) and spec.name not in path and len(path) < SUBJECT_DEPTH:
        conds.extend(_subject_conditions(actor, spec, registry, depth, path))
    return conds


_OUTER = "__crmkit_outer__"


def _reach_cache(registry) -> dict:
    """Per registry (so it dies with it): (entity, actor) -> whether the
    reach condition is empty, and (entity, actor, dialect) -> its SQL."""
    cache = getattr(registry, "_access_reach", None)
    if cache is None:
        cache = registry._access_reach = {}
    return cache


def _compiled_reach(actor, spec, registry):
    """The reach condition of ``spec`` for ``actor`` as a node that writes
    its SQL once per dialect, or None when there is none."""
    cache = _reach_cache(registry)
    if (spec.name, actor) not in cache:
        cache[(spec.name, actor)] = bool(_reach(actor, spec, registry, 0, ()))
    return _Compiled(actor, spec, registry) if cache[(spec.name, actor)] else None


_COMPILED_CLASS = []


def _Compiled(actor, spec, registry):
    """A ``Compiled`` node (its class made on first use: the CLI imports this
    module before peewee)."""
    if not _COMPILED_CLASS:
        _COMPILED_CLASS.append(_make_compiled())
    return _COMPILED_CLASS[0](actor, spec, registry)


def _make_compiled():
    import peewee as pw

    class Compiled(pw.ColumnBase):
        """The reach condition as SQL written once per actor, entity and SQL
        dialect; the filtered table's alias is filled in where it is used
        (``ctx.alias_manager``, as peewee's own column references do)."""

        def __init__(self, actor, spec, registry):
            super().__init__()
            self.actor, self.spec, self.registry = actor, spec, registry

        def __sql__(self, ctx):
            settings = ctx.state.settings
            quote = settings.get("quote") or '""'
            table = self.spec.model._meta.table
            cache = _reach_cache(self.registry)
            key = (self.spec.name, self.actor, settings.get("param"), quote)
            if key not in cache:
                sub = ctx.as_new()
                sub.alias_manager[table] = _OUTER   # peewee keys aliases by table
                sub.sql(_flat(_reach(self.actor, self.spec, self.registry, 0, ()), "AND"))
                cache[key] = sub.query()
            text, params = cache[key]
            alias = ctx.alias_manager[table]
            text = text.replace(f"{quote[0]}{_OUTER}{quote[1]}", f"{quote[0]}{alias}{quote[1]}")
            return ctx.sql(pw.SQL(text, params))

    return Compiled


def _flat(conds, glue):
    """``c1 AND c2 AND ...`` as one flat list: chaining ``&`` nests a level
    of parentheses per condition, and SQLite's parser has a depth limit."""
    if not conds:
        return None
    if len(conds) == 1:
        return conds[0]
    import peewee as pw
    return pw.NodeList(conds, glue=f" {glue} ", parens=True)


class RowView:
    """What a three-argument row filter gets besides the actor and model:
    ``ids(entity)``, a select of the keys of ``entity`` the actor sees (None:
    all of them), and the ``registry``."""

    def __init__(self, actor, registry):
        self.actor = actor
        self.registry = registry

    def ids(self, entity):
        target = self.registry.entity(entity)
        inner = visible_filter(self.actor, target, self.registry)
        if inner is None:
            return None
        return target.model.select(target.model._meta.primary_key).where(inner)


def _call_row_filter(rule, actor, model, registry):
    """``rule(actor, model)``, or ``rule(actor, model, view)`` (a RowView)
    when it takes three arguments, for rules that follow a relation the
    partner path cannot express (an address)."""
    import inspect
    try:
        arity = len(inspect.signature(rule).parameters)
    except (TypeError, ValueError):
        arity = 2
    if arity < 3:
        return rule(actor, model)
    return rule(actor, model, RowView(actor, registry))


def _subject_conditions(actor, spec, registry, depth, path):
    """A row about a subject is visible only with its subject: for each
    subject type whose rows are filtered, a row of that type must point
    at a visible one."""
    model = spec.model
    filtered, allowed = [], []
    for name in sorted(registry.subject_types):
        target = registry.entity(name)
        inner = visible_filter(actor, target, registry, depth + 1, path + (spec.name,))
        if inner is not None:
            filtered.append(name)
            visible = target.model.select(target.model._meta.primary_key).where(inner)
            allowed.append(_flat([model.subject_type == name, model.subject_id.in_(visible)], "AND"))
    if not filtered:
        return []
    return [_flat([model.subject_type.is_null(), model.subject_type.not_in(filtered), *allowed], "OR")]
