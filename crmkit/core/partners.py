"""Holdings and store networks: a partner's whole tree, and roll-ups over it."""
from __future__ import annotations


from . import models as m


def root_of(partner_id) -> int:
    seen, current = set(), partner_id
    while True:
        head = m.Partner.select(m.Partner.head).where(m.Partner.id == current).scalar()
        if head is None or head in seen:
            return current
        seen.add(current)
        current = head


def tree_ids_query(root_id):
    """A recursive CTE of the ids of ``root_id`` and everything under it."""
    P = m.Partner
    base = P.select(P.id).where(P.id == root_id).cte("tree", recursive=True, columns=("id",))
    child = P.alias("child")
    recursive = child.select(child.id).join(base, on=(child.head == base.c.id))
    cte = base.union_all(recursive)
    return cte


def holding_ids(crm, partner_key, whole=True) -> list[int]:
    """Ids of the partner's holding (from its top head down) the user may see."""
    partner = crm.get("core.partner", partner_key)
    root = root_of(partner.id) if whole else partner.id
    cte = tree_ids_query(root)
    ids = [r[0] for r in cte.select_from(cte.c.id).tuples()]
    visible = crm.query("core.partner", m.Partner.id).where(m.Partner.id.in_(ids))
    return [r[0] for r in visible.tuples()]


def tree(crm, partner_key):
    """``[(depth, partner)]`` of the whole holding, depth-first, visible only."""
    partner = crm.get("core.partner", partner_key)
    root = root_of(partner.id)
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
