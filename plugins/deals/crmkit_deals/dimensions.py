"""What deal reports filter and group by beyond a deal's own fields: the
responsible's department (and a department with everything under it), the
client's holding (its top visible head), and the month of the date basis.

Each is SQL joined to the report's one GROUP BY: department trees and
holdings are recursive CTEs, so a roll-up never walks records in Python.
A holding climbs through heads the user may see only: a hidden head company
ends the climb and is never named (as ``crmkit.core.partners.root_of``).
"""
from __future__ import annotations

import peewee as pw

from crmkit import ValidationError

from . import models as m

D = m.Deal
# the whitelist of group keys, in the order `crmkit report` shows them
GROUP_KEYS = ("responsible", "department", "top_department", "holding", "client", "kind", "month")
GROUP_LABELS = {"responsible": "Responsible", "department": "Department", "top_department": "Top department",
                "holding": "Holding", "client": "Client", "kind": "Deal kind", "month": "Month"}
DATE_BASES = ("start", "close")


def group_keys(value, report, default=()):
    """``group_by`` ("department,responsible") as a tuple of whitelisted keys."""
    if value in (None, ""):
        return tuple(default)
    keys = tuple(k.strip() for k in str(value).split(",") if k.strip())
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown or not keys:
        raise ValidationError({"group_by": f"unknown group key {', '.join(map(repr, unknown)) or repr(value)}: "
                                           f"use one or more of {', '.join(GROUP_KEYS)}, comma-separated"}, report)
    if len(set(keys)) != len(keys):
        raise ValidationError({"group_by": "a group key is given twice"}, report)
    return keys


def _department_tree(root_id):
    """CTE ``(id)`` of department ``root_id`` and every department under it."""
    Dep = _department_model()
    base = Dep.select(Dep.id).where(Dep.id == root_id).cte("department_tree", recursive=True, columns=("id",))
    child = Dep.alias("sub_department")
    return base.union_all(child.select(child.id).join(base, on=(child.parent == base.c.id)))


def _department_model():
    from crmkit.core import models as core   # core is required: its models are the public domain
    return core.Department


def department_ids(crm, root_id):
    """A subquery of the ids of ``root_id``'s department tree."""
    cte = _department_tree(root_id)
    return cte.select_from(cte.c.id)


def responsibles_in(crm, department_id):
    """Subquery of the users of a department or of any department under it."""
    U = crm.model("core.user")
    return U.select(U.id).where(U.department.in_(department_ids(crm, department_id)))


def team_department(crm, user_key, report):
    """The department whose tree is a manager's team."""
    from .api import resolve
    user_id = resolve(crm, "core.user", user_key, "team")
    U = crm.model("core.user")
    department = U.select(U.department).where(U.id == user_id).scalar()
    if department is None:
        raise ValidationError({"team": f"{user_key!r} belongs to no department: give department=... instead"},
                              report)
    return department


def holding_partners(crm, partner_id):
    """Subquery of the ids of a partner and every partner under it the user
    sees through visible heads (``crmkit.core.partners.tree_ids_query``)."""
    from crmkit.core.partners import tree_ids_query
    cte = tree_ids_query(crm, partner_id)
    return cte.select_from(cte.c.id)


def _holding_roots(crm):
    """CTE ``(id, root)``: every partner the user sees with the top of its
    holding, climbing through visible heads only."""
    P = crm.model("core.partner")
    visible = crm.query("core.partner", P.id, include_marked=True)
    top = (P.select(P.id, P.id).where(P.id.in_(visible) & (P.head.is_null() | P.head.not_in(visible)))
           .cte("holding_root", recursive=True, columns=("id", "root")))
    child = P.alias("holding_child")
    below = child.select(child.id, top.c.root).join(top, on=(child.head == top.c.id)).where(child.id.in_(visible))
    return top.union_all(below)


def _department_roots():
    """CTE ``(id, root)``: every department with the top of its hierarchy."""
    Dep = _department_model()
    top = Dep.select(Dep.id, Dep.id).where(Dep.parent.is_null()).cte(
        "department_root", recursive=True, columns=("id", "root"))
    child = Dep.alias("department_child")
    return top.union_all(child.select(child.id, top.c.root).join(top, on=(child.parent == top.c.id)))


def month_of(crm, column):
    """``YYYY-MM`` of a date or a UTC date-time column, in the database's dialect."""
    if isinstance(crm.db, pw.SqliteDatabase):
        return pw.fn.substr(column, 1, 7)     # ISO text: a substring, not strftime (half the time)
    return pw.fn.to_char(column, "YYYY-MM")


def date_column(params, default=D.start_date):
    """The column the period and the month read: the start, or the close."""
    basis = params.get("date_basis")
    if basis == "close":
        return D.closed_at
    if basis == "start":
        return D.start_date
    return default


def join_groups(crm, query, keys, params):
    """``query`` (over ``deals_deal``) joined to what ``keys`` need; returns
    the query and ``{key: expression}`` of each key's id (or month text)."""
    U = crm.model("core.user")
    exprs = {}
    if {"department", "top_department"} & set(keys):
        users = U.alias("group_user")
        query = query.switch(D).join(users, pw.JOIN.LEFT_OUTER, on=(D.responsible == users.id))
        if "department" in keys:
            exprs["department"] = users.department
        if "top_department" in keys:
            roots = _department_roots()
            query = query.with_cte(roots).join(roots, pw.JOIN.LEFT_OUTER, on=(users.department == roots.c.id),
                                                 src=users)
            exprs["top_department"] = roots.c.root
    if "holding" in keys:
        holdings = _holding_roots(crm)
        query = query.with_cte(holdings).join(holdings, pw.JOIN.LEFT_OUTER, on=(D.client == holdings.c.id), src=D)
        exprs["holding"] = pw.fn.COALESCE(holdings.c.root, D.client)
    for key, column in (("responsible", D.responsible), ("client", D.client), ("kind", D.kind)):
        if key in keys:
            exprs[key] = column
    if "month" in keys:
        exprs["month"] = month_of(crm, date_column(params))
    return query, exprs


ENTITY_OF = {"responsible": "core.user", "department": "core.department", "top_department": "core.department",
             "holding": "core.partner", "client": "core.partner", "kind": "deals.kind"}


def label_columns(crm, frame, keys, blank):
    """Replace each key's id column in ``frame`` by the names the user sees
    (one query per key over the distinct ids); ``blank`` for none."""
    import pandas as pd
    for key in keys:
        if key == "month":
            frame[key] = frame[key].astype(object).where(frame[key].notna(), blank)
            continue
        ids = pd.to_numeric(frame[key], errors="coerce")
        names = _names(crm, ENTITY_OF[key], ids.dropna().astype("int64").unique().tolist())
        frame[key + "_id"] = ids
        frame[key] = ids.map(names).astype(object).where(ids.notna(), blank).fillna(blank)
    return frame


def _names(crm, entity, ids):
    """Names for a catalogue: users and departments by name; partners and
    kinds as the user sees them."""
    if not ids:
        return {}
    if entity in ("core.user", "core.department"):
        model = crm.model(entity)
        return dict(model.select(model.id, model.name).where(model.id.in_(ids)).tuples())
    return crm.names(entity, ids)
