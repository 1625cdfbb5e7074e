"""A list filtered by an additional attribute against the same filter on a
built-in indexed column, over 1,000,000 partners (50,000 with --scale small).

Every partner gets a branch code of 1,000 values (so a filter keeps about
one partner in a thousand) twice: in the built-in, indexed ``inn`` column
and as the value of a string attribute ``branch`` in
``kernel_attribute_value`` (inserted bare, untimed). Timed, through crmkit
both: one list page (``crm.find(..., limit=100)``, sorted by id) and its
count (``crm.count``), the median of 30 branch codes, as the administrator
and as a manager whose access groups hide part of the base. Target: the
attribute ≤ 2× the built-in column.
"""
from __future__ import annotations

import statistics
import time

from common import Figure, open_crm, seed_core

TITLE = "Lists filtered by an additional attribute"
REQUIRES = ()
BRANCHES = 1000


def setup(ctx):
    n = ctx.n(1_000_000, 50_000)
    ids = seed_core(ctx, "main", n)
    crm = open_crm(ctx, "main")
    attribute = crm.define_attribute("core.partner", "branch", "string", label_ru="Филиал")
    crm.close()
    con = ctx.connect_bare("main")
    cur = con.cursor()
    code = "printf('B%04d', id % 1000)" if ctx.backend == "sqlite" else "'B' || lpad((id % 1000)::text, 4, '0')"
    started = time.perf_counter()
    cur.execute(f"UPDATE core_partner SET inn = {code}")
    cur.execute("INSERT INTO kernel_attribute_value (attribute_id, entity, record_id, value_text) "
                f"SELECT {attribute.id}, 'core.partner', id, inn FROM core_partner")
    if ctx.backend == "sqlite":
        cur.execute("ANALYZE")
    else:
        con.commit()
        con.autocommit = True
        cur.execute("VACUUM ANALYZE core_partner")
        cur.execute("VACUUM ANALYZE kernel_attribute_value")
    con.close()
    return {"partners": n, "generate_s": round(time.perf_counter() - started, 1),
            "manager": ids["manager_login"]}


def _median(crm, field, probes):
    times, rows = [], 0
    for value in probes:
        started = time.perf_counter()
        page = crm.find("core.partner", limit=100, **{field: value})
        total = crm.count("core.partner", **{field: value})
        times.append(time.perf_counter() - started)
        rows += len(page) + total
    return statistics.median(times), rows


def _compare(ctx, user=None):
    crm = open_crm(ctx, "main", user=user)
    probes = [f"B{(37 * k) % BRANCHES:04d}" for k in range(30)]
    _median(crm, "branch", probes[:3])      # warm both paths and the caches alike
    _median(crm, "inn", probes[:3])
    attr_s, attr_rows = _median(crm, "branch", probes)
    col_s, col_rows = _median(crm, "inn", probes)
    crm.close()
    if attr_rows != col_rows:    # the same rows, or the comparison means nothing
        raise AssertionError(f"the attribute filter found {attr_rows} rows, the column {col_rows}")
    return {"crmkit": attr_s, "floor": col_s,
            "info": {"partners": ctx.extra["partners"], "attribute ms": round(attr_s * 1000, 2),
                     "column ms": round(col_s * 1000, 2), "rows per probe": attr_rows // len(probes)}}


def administrator(ctx):
    return _compare(ctx)


def manager(ctx):
    return _compare(ctx, ctx.extra["manager"])


FIGURES = [
    Figure("attribute_list", "List + count filtered by an attribute, {partners} partners (administrator)", "time",
           2.0, "the same filter on the indexed inn column", ("administrator",)),
    Figure("attribute_list_manager", "List + count filtered by an attribute, {partners} partners (a manager)",
           "time", 2.0, "the same filter on the indexed inn column", ("manager",)),
]
