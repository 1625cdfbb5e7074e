"""Holdings and store networks: a partner's whole tree, and roll-ups over it."""
from __future__ import annotations


from . import models as m


_UNREAD = object()


def root_of(crm, partner_id, head=_UNREAD) -> int:
    """The top of ``partner_id``'s holding as the user sees it: heads are
    followed while they are visible (a hidden head company ends the climb,
    and is never named). ``head``: the partner's ``head_id`` when the caller
    has read the partner already (no statement for the first step)."""
    P = m.Partner
    seen, current = set(), partner_id
    while True:
        if head is _UNREAD:
            head = P.select(P.head).where(P.id == current).scalar()
        if head is None or head in seen or not crm.query("core.partner", P.id).where(P.id == head).exists():
            return current
        seen.add(current)
        current, head = head, _UNREAD


def tree_ids_query(crm, root_id):
    """A recursive CTE of the ids of ``root_id`` and everything under it
    that the user sees through visible heads only (each child checked by
    the user's row filter of partners on its own row: no list of every
    visible partner is built for it)."""
    P = m.Partner
    crm.require("read", "core.partner")
    base = P.select(P.id).where(P.id == root_id).cte("tree", recursive=True, columns=("id",))
    recursive = P.select(P.id).join(base, on=(P.head == base.c.id))
    visible = crm.visible("core.partner")
    if visible is not None:
        recursive = recursive.where(visible)
    cte = base.union_all(recursive)
    return cte


def holding_ids(crm, partner_key, whole=True) -> list[int]:
    """Ids of the partner's holding (from its top visible head down) the
    user may see, unmarked. ``partner_key``: an id or code, or the partner's
    record as ``crm.get`` returned it to this user (not read again)."""
    partner = partner_key if isinstance(partner_key, m.Partner) else crm.get("core.partner", partner_key)
    root = root_of(crm, partner.id, partner.head_id) if whole else partner.id
    return _members(crm, root)


def _members(crm, root) -> list[int]:
    """The visible, unmarked ids of the tree under ``root`` (itself included):
    one statement, the partners the user may read among the tree's CTE
    (``IN``: SQLite answers a join to the CTE with a bloom filter over the
    whole partner table, milliseconds for a tree of one)."""
    P = m.Partner
    cte = tree_ids_query(crm, root)
    query = P.select(P.id).where(P.id.in_(cte.select_from(cte.c.id)) & (P.deletion_mark == False))  # noqa: E712
    visible = crm.visible("core.partner")
    if visible is not None:
        query = query.where(visible)
    return [r[0] for r in query.tuples()]


def tree(crm, partner_key):
    """``[(depth, partner)]`` of the whole holding, depth-first, visible
    only. ``partner_key`` as for :func:`holding_ids`."""
    partner = partner_key if isinstance(partner_key, m.Partner) else crm.get("core.partner", partner_key)
    root = root_of(crm, partner.id, partner.head_id)
    ids = set(_members(crm, root))
    rows = {p.id: p for p in crm.query("core.partner", include_marked=True).where(m.Partner.id.in_(list(ids)))}
    children: dict = {}
    for p in rows.values():
        children.setdefault(p.head_id, []).append(p)
    out = []

    def walk(p, depth):
        out.append((depth, p))
        for c in sorted(children.get(p.id, []), key=lambda x: x.name):
            walk(c, depth + 1)

    if root in rows:
        walk(rows[root], 0)
    return out


def interaction_history(crm, partner_key, whole_holding=True):
    """The interactions of a partner, or of its whole holding, newest first."""
    ids = holding_ids(crm, partner_key) if whole_holding else [crm.get("core.partner", partner_key).id]
    I = m.Interaction
    return list(crm.query("core.interaction").where(I.partner.in_(ids)).order_by(I.date.desc(), I.id.desc()))
