"""Holdings and store networks: a partner's whole tree, and roll-ups over it."""
from __future__ import annotations


from . import models as m


def root_of(crm, partner_id) -> int:
    """The top of ``partner_id``'s holding as the user sees it: heads are
    followed while they are visible (a hidden head company ends the climb,
    and is never named)."""
    P = m.Partner
    seen, current = set(), partner_id
    while True:
        head = P.select(P.head).where(P.id == current).scalar()
        if head is None or head in seen or not crm.query("core.partner", P.id).where(P.id == head).exists():
            return current
        seen.add(current)
        current = head


def tree_ids_query(crm, root_id):
    """A recursive CTE of the ids of ``root_id`` and everything under it
    that the user sees through visible heads only."""
    P = m.Partner
    visible = crm.query("core.partner", P.id, include_marked=True)
    base = P.select(P.id).where(P.id == root_id).cte("tree", recursive=True, columns=("id",))
    child = P.alias("child")
    recursive = child.select(child.id).join(base, on=(child.head == base.c.id)).where(child.id.in_(visible))
    cte = base.union_all(recursive)
    return cte


def holding_ids(crm, partner_key, whole=True) -> list[int]:
    """Ids of the partner's holding (from its top visible head down) the user may see."""
    partner = crm.get("core.partner", partner_key)
    root = root_of(crm, partner.id) if whole else partner.id
    cte = tree_ids_query(crm, root)
    ids = [r[0] for r in cte.select_from(cte.c.id).tuples()]
    return [r[0] for r in crm.query("core.partner", m.Partner.id).where(m.Partner.id.in_(ids)).tuples()]


def tree(crm, partner_key):
    """``[(depth, partner)]`` of the whole holding, depth-first, visible only."""
    partner = crm.get("core.partner", partner_key)
    root = root_of(crm, partner.id)
    ids = set(holding_ids(crm, root))
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
