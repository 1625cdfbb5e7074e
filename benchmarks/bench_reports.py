"""Every registered report at the interactive scale, as a manager with a
row filter and as the administrator, against its main aggregate written by
hand in SQL (the floor), plus DuckDB reading the same database as the
columnar peer for the funnel, the efficiency tree and the ABC/XYZ aggregate.

The base (seeded, generated straight into the tables): 100,000 partners in
five access groups, 5,000 products, 200,000 deals with ~1M stage-history
rows (a third of the deals take their probability from the statistics),
~200,000 primary-demand lines, 2,000,000 sales lines (one in ten of a
deal), 300,000 interactions, 50,000 tasks, 20,000 claims, 120,000 primary
interests (100,000 of deals, 20,000 of partners; their sources events,
partners, users and contacts), five partner segments, and two client
classification runs and one of products made by crmkit itself.

The reports are those of ``crmkit report list``: a report added later is
timed without touching this module; one without a floor here says so.
Each report runs with its default parameters, three times per user, and
counts at its median; the CLI (``crmkit report run ... --format csv``) is
timed once per user beside it. Target: under a second, and at most twice
its floor.

``CRMKIT_BENCH_CACHE=/some/folder`` keeps the generated base (a SQLite
file, or a template database on the PostgreSQL server) between runs of the
same scale; migrations added since are applied when it is opened.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import salesdata
from common import Figure, Stopwatch, create_pg_database, insert_rows, open_crm, pareto_weights, pg_url, rng, \
    seasonal_dates, seed_core

TITLE = "Every report at the interactive scale (manager and administrator)"
REQUIRES = ("deals", "analysis", "marketing", "claims")
RUNS = 3
LIMIT_S = 1.0
CACHE_VERSION = 1            # bump when the generated base changes
NOW = dt.datetime(2024, 7, 1, 12, 0)


# -- the base ------------------------------------------------------------------

def _sizes(ctx):
    return {"partners": ctx.n(100_000, 10_000), "products": ctx.n(5_000, 500), "deals": ctx.n(200_000, 20_000),
            "lines": ctx.n(2_000_000, 200_000), "interactions": ctx.n(300_000, 30_000),
            "tasks": ctx.n(50_000, 5_000), "claims": ctx.n(20_000, 2_000), "interests": ctx.n(120_000, 12_000)}


def _cache(ctx):
    folder = os.environ.get("CRMKIT_BENCH_CACHE")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    name = f"reports-v{CACHE_VERSION}-{ctx.scale}"
    return Path(folder) / (name + ".db") if not ctx.db else f"crmkit_benchcache_{name.replace('-', '_')}"


def _restore(ctx, cache) -> bool:
    if not ctx.db:
        if not cache.exists():
            return False
        shutil.copyfile(cache, ctx.sqlite_path("main"))
        return True
    from common import _admin
    con = _admin(ctx.db)
    try:
        cur = con.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cache,))
        if cur.fetchone() is None:
            return False
        cur.execute(f'CREATE DATABASE "{ctx.db_name("main")}" TEMPLATE "{cache}"')
        return True
    finally:
        con.close()


def _store(ctx, cache):
    if not ctx.db:
        con = ctx.connect_bare("main")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        shutil.copyfile(ctx.sqlite_path("main"), cache)
        return
    from common import _admin
    con = _admin(ctx.db)
    try:
        con.cursor().execute(f'CREATE DATABASE "{cache}" TEMPLATE "{ctx.db_name("main")}"')
    finally:
        con.close()


def setup(ctx):
    sizes = _sizes(ctx)
    cache = _cache(ctx)
    if cache is not None and _restore(ctx, cache):
        info = json.loads(Path(str(cache) + ".json").read_text()) if not ctx.db else \
            json.loads(Path(os.environ["CRMKIT_BENCH_CACHE"], cache + ".json").read_text())
    else:
        info = _generate(ctx, sizes)
        if cache is not None:
            _store(ctx, cache)
            target = Path(str(cache) + ".json") if not ctx.db else Path(os.environ["CRMKIT_BENCH_CACHE"], cache + ".json")
            target.write_text(json.dumps(info))
    crm = open_crm(ctx, "main", everything=True)     # migrations added since the cache was made
    info["reports"] = sorted(crm.registry.reports)
    crm.close()
    return info


def _generate(ctx, sizes):
    import numpy as np
    from bench_deals import seed_deals
    n = sizes
    ids = seed_core(ctx, "main", n["partners"], everything=True)
    crm = open_crm(ctx, "main", everything=True)
    crm.create("core.user", {"login": "chief", "name": "Администратор", "roles": "administrator"})
    manager = crm.as_user("manager1").actor
    visible_groups = sorted(manager.access_groups)
    crm.close()
    salesdata.seed_products(ctx, "main", n["products"])
    salesdata.check_ids(ctx, "main", n["partners"], n["products"])
    deals = seed_deals(ctx, "main", n["deals"], n["partners"], ids["managers"], everything=True,
                       by_statistics=1 / 3)
    data = salesdata.lines(n["lines"], n["partners"], n["products"], dt.date(2023, 1, 1), 24, offset=71)
    lines = salesdata.insert_lines(ctx, "main", data, ids["managers"])
    con = ctx.connect_bare("main")
    cur = con.cursor()
    cur.execute(f"UPDATE analysis_sale SET deal_id = 1 + (CAST(id AS BIGINT) * 7919) % {n['deals']} WHERE id % 10 = 0")
    con.commit() if ctx.db else None
    r = rng(80)
    p = ctx.param
    partners = n["partners"]
    pick = lambda size, offset: (r.choice(partners, size=size, p=pareto_weights(partners, offset)) + 1).tolist()
    # contacts: one per partner for a third of them
    contact_partner = list(range(1, partners + 1, 3))
    insert_rows(con, "core_contact", ("partner_id", "name", "position", "role", "comment", "deletion_mark",
                                      "created_at", "changed_at"),
                [(pid, f"Контакт {pid}", "", "", "", False, NOW, NOW) for pid in contact_partner], p)
    # segments: five of partners, a fifth of the partners each (overlapping)
    cur = con.cursor()
    seg_ids = []
    for i in range(1, 6):
        insert_rows(con, "core_segment", ("name", "kind", "method", "rule", "comment", "deletion_mark",
                                          "created_at", "changed_at"),
                    [(f"Сегмент {i}", "partner", "manual", "", "", False, NOW, NOW)], p)
        cur.execute(f"SELECT id FROM core_segment WHERE name = {p}", (f"Сегмент {i}",))
        seg_ids.append(cur.fetchone()[0])
    members = []
    for k, seg in enumerate(seg_ids):
        chosen = np.flatnonzero(rng(90 + k).random(partners) < 0.2) + 1
        members += [(seg, int(pid), NOW, None) for pid in chosen]
    insert_rows(con, "core_segment_member", ("segment_id", "member_id", "added_at", "removed_at"), members, p)
    # primary demand: a product or three for half of the deals
    demand_deals = np.flatnonzero(rng(81).random(n["deals"]) < 0.5) + 1
    per = rng(82).integers(1, 4, len(demand_deals))
    deal_of = np.repeat(demand_deals, per)
    product = rng(83).choice(n["products"], size=len(deal_of), p=pareto_weights(n["products"], 84, 1.4)) + 1
    qty = rng(85).integers(1, 20, len(deal_of))
    price = np.round(np.exp(rng(86).normal(6.5, 1.0, len(deal_of))), 2)
    insert_rows(con, "deals_demand", ("deal_id", "product_id", "quantity", "price", "amount", "comment",
                                      "deletion_mark", "created_at", "changed_at"),
                list(zip(deal_of.tolist(), product.tolist(), qty.tolist(), price.tolist(),
                         np.round(qty * price, 2).tolist(), [""] * len(deal_of), [False] * len(deal_of),
                         [NOW] * len(deal_of), [NOW] * len(deal_of))), p)
    # interactions and tasks of the managers about their clients
    kinds = np.array(["meeting", "call", "email", "sms", "planned"])
    when = seasonal_dates(n["interactions"], dt.date(2023, 1, 1), 18, 87)
    ikind = kinds[r.integers(0, 5, n["interactions"])]
    insert_rows(con, "core_interaction",
                ("number", "kind", "direction", "date", "duration", "topic", "text", "how", "responsible_id",
                 "partner_id", "done", "deletion_mark", "created_at", "changed_at"),
                [(f"00-{i + 1:08d}", str(k), None if k in ("meeting", "planned") else ("incoming", "outgoing")[i % 2],
                  dt.datetime.combine(d.item(), dt.time(9 + i % 8)), int(5 + i % 55), f"Тема {i + 1}", "", "",
                  int(ids["managers"][i % 10]), pid, True, False, NOW, NOW)
                 for i, (k, d, pid) in enumerate(zip(ikind.tolist(), when, pick(n["interactions"], 88)))], p)
    due = seasonal_dates(n["tasks"], dt.date(2024, 1, 1), 12, 89)
    states = np.array(["active", "done", "stopped"])[rng(91).choice(3, size=n["tasks"], p=[0.5, 0.45, 0.05])]
    insert_rows(con, "core_task", ("number", "title", "description", "author_id", "performer_id", "due",
                                   "priority", "state", "done_at", "result", "partner_id", "route_point",
                                   "deletion_mark", "created_at", "changed_at"),
                [(f"00-{i + 1:08d}", f"Задача {i + 1}", "", int(ids["managers"][(i + 3) % 10]),
                  int(ids["managers"][i % 10]), dt.datetime.combine(d.item(), dt.time(18)),
                  ("low", "normal", "high")[i % 3], str(s), NOW if s == "done" else None, "", pid, "",
                  False, NOW, NOW)
                 for i, (d, s, pid) in enumerate(zip(due, states.tolist(), pick(n["tasks"], 92)))], p)
    # claims with causes, departments and guilty employees
    crm = open_crm(ctx, "main", everything=True)
    causes = [crm.create("claims.cause", {"name": f"Причина {i}"}).id for i in range(1, 9)]
    departments = [crm.create("core.department", {"name": f"Отдел {i}"}).id for i in range(1, 5)]
    channel_kinds = {"event": "marketing.event", "partner": "core.partner", "user": "core.user",
                     "contact": "core.contact"}
    channels = {kind: crm.create("marketing.channel", {"name": f"Канал {kind}", "impact_type": kind}).id
                for kind in channel_kinds}
    events = [crm.create("marketing.event", {"name": f"Мероприятие {i}", "planned_start": f"2023-{1 + i % 12:02d}-10",
                                             "budget_planned": "100000", "budget_actual": "90000"}).id
              for i in range(1, 201)]
    crm.close()
    registered = seasonal_dates(n["claims"], dt.date(2023, 1, 1), 18, 93)
    cstatus = np.array(["registered", "in_work", "satisfied", "partly_satisfied", "not_satisfied"])[
        rng(94).choice(5, size=n["claims"], p=[0.1, 0.2, 0.4, 0.15, 0.15])]
    rows = []
    for i, (d, s, pid) in enumerate(zip(registered, cstatus.tolist(), pick(n["claims"], 95))):
        at = dt.datetime.combine(d.item(), dt.time(11))
        end = at + dt.timedelta(days=int(1 + i % 30)) if s not in ("registered", "in_work") else None
        rows.append((f"ПР-{i + 1:08d}", f"Претензия {i + 1}", pid, "", causes[i % 8], int(ids["managers"][i % 10]),
                     departments[i % 4], int(ids["managers"][(i + 5) % 10]), at, at + dt.timedelta(days=14), end,
                     s, "", float(i % 7 * 100), "RUB", "", "", False, NOW, NOW))
    insert_rows(con, "claims_claim", ("code", "name", "client_id", "description", "cause_id", "responsible_id",
                                      "guilty_department_id", "guilty_employee_id", "registered_at", "planned_end",
                                      "actual_end", "status", "decision", "compensation", "currency",
                                      "result_comment", "comment", "deletion_mark", "created_at", "changed_at"),
                rows, p)
    # primary interests: of deals (each deal once) and of partners, from four kinds of source
    cur.execute("SELECT id, client_id, start_date FROM deals_deal ORDER BY id")
    deal_rows = cur.fetchall()
    chosen = rng(96).choice(len(deal_rows), size=min(len(deal_rows), n["interests"] * 5 // 6), replace=False)
    kind_of = np.array(list(channel_kinds))[rng(97).choice(4, size=n["interests"], p=[0.4, 0.4, 0.1, 0.1])]
    n_contacts = len(contact_partner)
    source_pick = {"event": lambda j: events[j % len(events)], "partner": lambda j: 1 + (j * 104729) % partners,
                   "user": lambda j: int(ids["managers"][j % 10]), "contact": lambda j: 1 + (j * 7) % n_contacts}
    interests = []
    for j, row in enumerate(deal_rows[k] for k in sorted(chosen.tolist())):
        kind = str(kind_of[j])
        source = None if j % 997 == 0 else source_pick[kind](j)       # a few without a source (old data)
        interests.append(("deals.deal", row[0], row[1], channels[kind], channel_kinds[kind] if source else None,
                          source, row[2], "", False, NOW, NOW))
    for j in range(n["interests"] - len(interests)):
        kind = str(kind_of[len(interests)])
        pid = 1 + (j * 31) % partners
        interests.append(("core.partner", pid, pid, channels[kind], channel_kinds[kind],
                          source_pick[kind](j + 17), "2023-06-01", "", False, NOW, NOW))
    insert_rows(con, "marketing_primary_interest", ("subject_type", "subject_id", "partner_id", "channel_id",
                                                    "source_type", "source_id", "date", "comment", "deletion_mark",
                                                    "created_at", "changed_at"), interests, p)
    cur = con.cursor()
    cur.execute("ANALYZE")
    con.commit() if ctx.db else None
    con.close()
    # the lines went in by hand, around crmkit: their monthly summary is computed as its migration would
    from crmkit_analysis.classify import run
    from crmkit_analysis.summary import rebuild
    crm = open_crm(ctx, "main", everything=True)
    with crm.transaction():
        rebuild(crm.db)
    # two classification runs of clients (a quarter apart) and one of products, by crmkit
    settings = {"measure": "revenue", "abc_period": "year", "abc_periods": 1, "xyz_period": "year",
                "xyz_periods": 1, "xyz_subperiod": "month"}
    for as_of in (dt.date(2024, 10, 1), dt.date(2025, 1, 1)):
        run(crm, "partner", as_of=as_of, **settings)
    run(crm, "product", as_of=dt.date(2025, 1, 1), **settings)
    crm.close()
    if ctx.db:
        # as autovacuum leaves a base at rest: the visibility map set (an index-only
        # scan of a table fresh from bulk inserts fetched every heap row) and statistics
        con = ctx.connect_bare("main")
        con.autocommit = True
        con.cursor().execute("VACUUM ANALYZE")
        con.close()
    return {**n, "history": deals["history"], "lines": lines, "manager_login": "manager1", "admin_login": "chief",
            "manager_groups": visible_groups, "partners_n": partners}


# -- floors: each report's main aggregate by hand ---------------------------------

def _false(ctx):
    return "0" if not ctx.db else "false"


def _true(ctx):
    return "1" if not ctx.db else "true"


def _visible(ctx, column, groups):
    """The manager's row filter written by hand: the partner is in no group or one of theirs."""
    if groups is None:
        return ""
    inner = "access_group_id IS NULL" + (f" OR access_group_id IN ({', '.join(map(str, groups))})" if groups else "")
    return f" AND ({column} IS NULL OR {column} IN (SELECT id FROM core_partner WHERE {inner}))"


def _month(ctx, column):
    return f"substr({column}, 1, 7)" if not ctx.db else f"date_trunc('month', {column})"


def floors(ctx, groups) -> dict:
    """Report id -> the SQL statements of its main aggregate (``groups``:
    the manager's access groups, or None for the administrator)."""
    f, t, v = _false(ctx), _true(ctx), lambda col: _visible(ctx, col, groups)
    deal = f"d.deletion_mark = {f}" + v("d.client_id")
    sale = f"s.deletion_mark = {f}" + v("s.partner_id")
    latest = "(SELECT MAX(id) FROM analysis_run WHERE kind = '{}')"
    return {
        "deals.funnel": [
            "SELECT h.stage_id, d.status, d.currency, COUNT(h.id), SUM(d.potential), SUM(h.days), COUNT(h.days) "
            f"FROM deals_deal d JOIN deals_stage_history h ON h.deal_id = d.id WHERE h.passage = {t} AND {deal} "
            "GROUP BY h.stage_id, d.status, d.currency"],
        "deals.efficiency": [
            "SELECT d.kind_id, d.responsible_id, d.id, d.name, p.id, p.name, COALESCE(a.name, ''), h.status, "
            "d.currency, d.potential FROM deals_deal d "
            "JOIN deals_stage_history h ON h.deal_id = d.id AND h.left_at IS NULL "
            "JOIN core_partner p ON p.id = d.client_id LEFT JOIN deals_agreement a ON a.id = d.agreement_id "
            f"WHERE {deal}"],
        "deals.loss_reasons": [
            "SELECT d.loss_reason_id, d.currency, COUNT(d.id), SUM(d.potential) FROM deals_deal d "
            "JOIN deals_stage_history h ON h.deal_id = d.id AND h.left_at IS NULL "
            f"WHERE h.status = 'lost' AND {deal} GROUP BY d.loss_reason_id, d.currency"],
        "deals.forecast": [
            "SELECT d.responsible_id, d.end_date, d.probability_method, d.probability, d.stage_id, d.client_id, "
            "d.kind_id, d.currency, COUNT(d.id), SUM(d.potential) FROM deals_deal d "
            f"WHERE d.status = 'in_work' AND {deal} GROUP BY d.responsible_id, d.end_date, d.probability_method, "
            "d.probability, d.stage_id, d.client_id, d.kind_id, d.currency"],
        "deals.managers": [
            "SELECT d.responsible_id, d.status, d.currency, COUNT(d.id), SUM(d.potential) FROM deals_deal d "
            f"WHERE {deal} GROUP BY d.responsible_id, d.status, d.currency"],
        "deals.primary_demand": [
            "SELECT m.product_id, d.status, COUNT(DISTINCT d.id), SUM(m.quantity), SUM(m.amount) "
            f"FROM deals_demand m JOIN deals_deal d ON d.id = m.deal_id WHERE m.deletion_mark = {f} AND {deal} "
            "GROUP BY m.product_id, d.status",
            "SELECT d.id, SUM(m.amount) FROM deals_demand m JOIN deals_deal d ON d.id = m.deal_id "
            f"WHERE m.deletion_mark = {f} AND {deal} GROUP BY d.id"],
        "marketing.primary_interest": [
            "SELECT i.source_type, i.source_id, COUNT(DISTINCT i.subject_id), COUNT(DISTINCT i.partner_id), "
            "SUM(CASE WHEN d.status = 'won' THEN 1 ELSE 0 END) FROM marketing_primary_interest i "
            f"JOIN deals_deal d ON d.id = i.subject_id WHERE i.subject_type = 'deals.deal' AND i.deletion_mark = {f} "
            f"AND d.deletion_mark = {f}" + v("i.partner_id") + " GROUP BY i.source_type, i.source_id"],
        "marketing.event_return": [
            "SELECT i.source_id, COUNT(DISTINCT i.subject_id) FROM marketing_primary_interest i "
            "JOIN deals_deal d ON d.id = i.subject_id WHERE i.subject_type = 'deals.deal' "
            f"AND i.source_type = 'marketing.event' AND d.deletion_mark = {f}" + v("i.partner_id") +
            " GROUP BY i.source_id"],
        "analysis.assortment": [
            f"SELECT s.product_id, {_month(ctx, 's.date')}, SUM(s.revenue) FROM analysis_sale s WHERE {sale} "
            "GROUP BY 1, 2"],
        "analysis.segments": [
            "SELECT m.segment_id, SUM(t.revenue), SUM(t.profit), SUM(t.documents) FROM core_segment_member m JOIN "
            "(SELECT s.partner_id, SUM(s.revenue) AS revenue, SUM(s.revenue - s.cost) AS profit, "
            f"COUNT(DISTINCT s.document) AS documents FROM analysis_sale s WHERE {sale} GROUP BY s.partner_id) t "
            "ON t.partner_id = m.member_id WHERE m.removed_at IS NULL GROUP BY m.segment_id"],
        "analysis.deal_profit": [
            "SELECT s.deal_id, SUM(s.revenue), SUM(s.cost), COUNT(s.id) FROM analysis_sale s "
            f"WHERE s.deal_id IS NOT NULL AND {sale} GROUP BY s.deal_id"],
        "analysis.history": [
            f"SELECT COUNT(*) FROM analysis_client_class c WHERE 1 = 1" + v("c.partner_id"),
            "SELECT p.code, p.name, c.as_of, r.measure, c.abc_class, c.xyz_class, c.value, c.cv "
            "FROM analysis_client_class c JOIN core_partner p ON p.id = c.partner_id "
            f"JOIN analysis_run r ON r.id = c.run_id WHERE 1 = 1" + v("c.partner_id") +
            " ORDER BY p.code, c.as_of DESC, r.id DESC LIMIT 1000"],
        "analysis.abc_xyz_clients": [
            "SELECT p.code, p.name, c.value, c.share, c.cumulative_share, c.abc_class, c.cv, c.xyz_class "
            "FROM analysis_client_class c JOIN core_partner p ON p.id = c.partner_id "
            f"WHERE c.run_id = {latest.format('partner')}" + v("c.partner_id")],
        "analysis.abc_xyz_products": [
            "SELECT p.code, p.name, c.value, c.share, c.cumulative_share, c.abc_class, c.cv, c.xyz_class "
            "FROM analysis_product_class c JOIN core_product p ON p.id = c.product_id "
            f"WHERE c.run_id = {latest.format('product')}"],
        "analysis.matrix": [
            "SELECT c.abc_class, c.xyz_class, COUNT(c.id), SUM(c.value) FROM analysis_client_class c "
            f"WHERE c.run_id = {latest.format('partner')}" + v("c.partner_id") + " GROUP BY 1, 2"],
        "analysis.abc_changes": [
            "SELECT b.abc_class, c.abc_class, COUNT(*) FROM analysis_client_class c "
            "LEFT JOIN analysis_client_class b ON b.partner_id = c.partner_id "
            f"AND b.run_id = (SELECT MIN(id) FROM analysis_run WHERE kind = 'partner') "
            f"WHERE c.run_id = {latest.format('partner')}" + v("c.partner_id") + " GROUP BY 1, 2"],
        "core.interactions": [
            "SELECT i.kind, i.direction, i.responsible_id, COUNT(i.id), SUM(i.duration) FROM core_interaction i "
            f"WHERE i.deletion_mark = {f}" + v("i.partner_id") + " GROUP BY 1, 2, 3"],
        "core.tasks": [
            "SELECT t.number, t.created_at, t.title, t.author_id, t.performer_id, t.due, t.priority, t.state "
            f"FROM core_task t WHERE t.state <> 'done' AND t.deletion_mark = {f}" + v("t.partner_id") +
            " ORDER BY t.number"],
        "claims.register": [
            "SELECT c.registered_at, c.actual_end, c.status, c.name, c.code, p.name, c.cause_id, c.responsible_id "
            f"FROM claims_claim c JOIN core_partner p ON p.id = c.client_id WHERE c.deletion_mark = {f}"
            + v("c.client_id") + " ORDER BY c.name, c.code"],
        "claims.by_cause": [
            f"SELECT c.cause_id, c.status, COUNT(*) FROM claims_claim c WHERE c.deletion_mark = {f}"
            + v("c.client_id") + " GROUP BY 1, 2"],
    }


def _bare_timed(ctx, statements):
    con = ctx.connect_bare("main")
    cur = con.cursor()
    best = None
    for _ in range(2):
        with Stopwatch() as sw:
            for sql in statements:
                cur.execute(sql)
                cur.fetchall()
        best = sw.seconds if best is None else min(best, sw.seconds)
    con.close()
    return best


# -- timing --------------------------------------------------------------------

def _cli(ctx, report_id, login):
    exe = Path(sys.executable).with_name("crmkit")
    started = time.perf_counter()
    proc = subprocess.run([str(exe), "--db", ctx.url("main"), "--user", login, "report", "run", report_id,
                           "--format", "csv"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return seconds if proc.returncode == 0 else None, proc.stderr.strip().splitlines()[-1:] if proc.returncode else []


def _statements(crm, report_id):
    """The SQL statements one run of the report sends, with their parameters."""
    seen = []
    original = crm.db.execute_sql

    def traced(sql, params=None, *args, **kwargs):
        seen.append((sql, params))
        return original(sql, params, *args, **kwargs)
    crm.db.execute_sql = traced
    try:
        crm.report(report_id)
    finally:
        crm.db.execute_sql = original
    return [(sql, params) for sql, params in seen if sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def full_scans(crm, statements) -> set:
    """Tables the statements read whole (no index narrowing them), from
    ``EXPLAIN``: SQLite's ``SCAN t`` without an index, PostgreSQL's
    ``Seq Scan on t``."""
    import re
    out = set()
    sqlite = crm.db.__class__.__name__.startswith("Sqlite")
    for sql, params in statements:
        if sqlite:
            aliases = dict((a, t) for t, a in re.findall(r'"(\w+)" AS "(t\d+)"', sql))
            for row in crm.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall():
                found = re.match(r"SCAN (\w+)( USING (COVERING )?INDEX (\w+))?", row[-1])
                if found and not found.group(2):
                    out.add(aliases.get(found.group(1), found.group(1)))
        else:
            for (line,) in crm.db.execute_sql("EXPLAIN " + sql, params).fetchall():
                found = re.search(r"Seq Scan on (\w+)", line)
                if found:
                    out.add(found.group(1))
    return out & set(crm.db.get_tables())       # not the reports' own subqueries


def time_report(ctx, report_id):
    """Both users: the floor before and after, the report three times
    (median), the CLI once. The administrator's figures are kept in a file
    for the figure that shows them."""
    import pandas  # noqa: F401  -- loaded in any running service; not part of the figure
    import crmkit
    out, scans = {}, {}
    for role, login, groups in (("manager", ctx.extra["manager_login"], ctx.extra["manager_groups"]),
                                ("admin", ctx.extra["admin_login"], None)):
        sql = floors(ctx, groups).get(report_id)
        floor = _bare_timed(ctx, sql) if sql else None
        crm = crmkit.open(ctx.url("main"), user=login)
        crm.report(report_id)              # first run: imports of the report's modules, warm cache
        scans[role] = full_scans(crm, _statements(crm, report_id))
        times, sizes = [], {}
        for _ in range(RUNS):
            with Stopwatch() as sw:
                result = crm.report(report_id)
            times.append(sw.seconds)
            sizes = {name: len(frame) for name, frame in result.sections.items()}
        crm.close()
        if sql:
            floor = min(floor, _bare_timed(ctx, sql))
        cli, error = _cli(ctx, report_id, login)
        out[role] = {"crmkit": statistics.median(times), **({"floor": floor} if floor is not None else {}),
                     "info": {"runs_s": [round(x, 4) for x in times], "sections": sizes,
                              "cli_s": None if cli is None else round(cli, 3), "cli_error": error,
                              "detail": f"CLI {cli:.2f} s" if cli is not None else f"CLI failed: {error}"}}
    # the row filter must not turn a read the administrator makes by an index into a scan
    worse = sorted(scans["manager"] - scans["admin"])
    for role in out:
        out[role]["info"]["full_scans"] = sorted(scans[role])
    out["manager"]["info"]["filter_scans"] = worse
    out["manager"]["info"]["detail"] += "; plans: " + (f"the row filter scans {', '.join(worse)}" if worse
                                                       else "the row filter adds no table scan")
    Path(ctx.work, f"report-{report_id}.json").write_text(json.dumps(out["admin"]))
    return out["manager"]


def admin_figures(ctx, report_id):
    return json.loads(Path(ctx.work, f"report-{report_id}.json").read_text())


# -- DuckDB reading the same database -----------------------------------------------

def _duckdb(ctx):
    import duckdb
    import duckdb_ext
    version = duckdb.__version__
    kind = "sqlite" if not ctx.db else "postgres"
    ext = "sqlite_scanner" if not ctx.db else "postgres_scanner"
    path = Path(duckdb_ext.__path__[0], "extensions", f"v{version}", "linux_amd64", f"{ext}.duckdb_extension")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"LOAD '{path}'")
    source = ctx.sqlite_path("main") if not ctx.db else pg_url(ctx.db, ctx.db_name("main"))
    con.execute(f"ATTACH '{source}' AS s (TYPE {kind}, READ_ONLY)")
    con.execute("USE s")
    return con


PEERS = {
    "funnel": "deals.funnel", "efficiency": "deals.efficiency",
}


def peer_duckdb(ctx, what):
    con = _duckdb(ctx)
    groups = ctx.extra["manager_groups"]
    if what == "abc_xyz":
        sql = [("SELECT partner_id, substr(CAST(date AS VARCHAR), 1, 7) AS m, SUM(revenue) FROM analysis_sale "
                "WHERE date >= '2024-01-01' AND date < '2025-01-01' AND deletion_mark = false "
                "GROUP BY partner_id, m")]
    else:
        sql = floors(ctx, groups)[PEERS[what]]
    best = None
    for _ in range(3):
        with Stopwatch() as sw:
            for s in sql:
                con.execute(s).fetchall()
        best = sw.seconds if best is None else min(best, sw.seconds)
    con.close()
    return {"floor": best}


def crmkit_abc_xyz(ctx):
    """The classification's aggregate (crmkit_analysis.classify.aggregate) as the manager."""
    import pandas  # noqa: F401
    import crmkit
    from crmkit_analysis.classify import aggregate, stored_settings
    crm = crmkit.open(ctx.url("main"), user=ctx.extra["manager_login"])
    settings = {**stored_settings(crm, "partner"), "measure": "revenue", "abc_period": "year", "abc_periods": 1,
                "xyz_period": "year", "xyz_periods": 1, "xyz_subperiod": "month"}
    times = []
    for _ in range(RUNS):
        with Stopwatch() as sw:
            aggregate(crm, "partner", settings, dt.date(2025, 1, 1))
        times.append(sw.seconds)
    crm.close()
    return {"crmkit": statistics.median(times)}


def _report_figures(ctx) -> list[Figure]:
    """Every registered report; ``CRMKIT_BENCH_REPORTS=a,b`` keeps only those
    (a run while working on a few; the full run times them all)."""
    out = []
    chosen = {r for r in os.environ.get("CRMKIT_BENCH_REPORTS", "").split(",") if r}
    for report_id in ctx.extra.get("reports", []):
        if chosen and report_id not in chosen:
            continue
        has_floor = report_id in floors(ctx, None)
        label = "its main aggregate by hand" if has_floor else "no floor written for this report"
        out.append(Figure(f"{report_id}:manager", f"{report_id} as a manager", "time", 2.0 if has_floor else None,
                          label, (f"time_report:{report_id}",), limit_s=LIMIT_S, timeout=600))
        out.append(Figure(f"{report_id}:admin", f"{report_id} as the administrator", "time",
                          2.0 if has_floor else None, label, (f"admin_figures:{report_id}",), limit_s=LIMIT_S))
    return out


def figures(ctx) -> list[Figure]:
    """The figures once the base is built: one pair per registered report, then the peers."""
    peers = [
        Figure("duck_funnel", "Funnel vs DuckDB on the same database", "time", 1.5, "DuckDB, the same aggregate",
               ("peer_duckdb:funnel",), optional_peer="duckdb", crmkit_from="deals.funnel:manager"),
        Figure("duck_efficiency", "Efficiency tree vs DuckDB on the same database", "time", 1.5,
               "DuckDB, the deal rows", ("peer_duckdb:efficiency",), optional_peer="duckdb",
               crmkit_from="deals.efficiency:manager"),
        Figure("duck_abc_xyz", "ABC/XYZ aggregate (classify.aggregate) vs DuckDB", "time", 1.5,
               "DuckDB, GROUP BY partner, month", ("crmkit_abc_xyz", "peer_duckdb:abc_xyz"), optional_peer="duckdb"),
    ]
    return _report_figures(ctx) + peers


FIGURES = []      # built by figures(ctx) after setup
