"""Funnel and efficiency over 200,000 deals and ~1,000,000 stage-history rows
(``crm.report("deals.funnel")`` / ``crm.report("deals.efficiency")``: the
report engine's parameter validation, the plugin's GROUP BY through
``crm.query``, the shaping in pandas) against the database running the same
aggregate over the stage history itself.

The deals are generated like a year and a half of work: a few big clients
with many deals, most with one or two; the typical process kind (7 stages)
for most, a manual kind (4 stages) and a kind without stages; each deal
passes some stages, then is won, lost (with a reason) or still in work.
"""
from __future__ import annotations

import datetime as dt

from common import Figure, Stopwatch, insert_rows, open_crm, pareto_weights, restore_indexes, rng, \
    seasonal_dates, seed_core, without_indexes

TITLE = "Deal funnel and efficiency"
REQUIRES = ("deals",)
PLUGINS = ("deals",)
TYPICAL = ["Первичный контакт", "Квалификация клиента", "Формирование предложения", "Презентация",
           "Согласование условий", "Подготовка к выполнению обязательств", "Выполнение обязательств"]
MANUAL = ["Первичный контакт", "Квалификация клиента", "Формирование предложения", "Выполнение обязательств"]
REASONS = ["Проигрыш конкуренту", "Высокая цена", "Клиент отказался от покупки"]
DEAL_COLUMNS = ("id", "name", "code", "client_id", "responsible_id", "start_date", "end_date", "potential",
                "currency", "probability", "probability_method", "status", "loss_reason_id", "kind_id",
                "stage_id", "comment", "closed_at", "deletion_mark", "created_at", "changed_at", "agreement_id")
HISTORY_COLUMNS = ("deal_id", "stage_id", "status", "passage", "entered_at", "left_at", "days", "user_id")


def _catalogues(crm):
    stages = {name: crm.create("deals.stage", {"name": name}).id for name in TYPICAL}
    typical = crm.create("deals.kind", {"name": "Типовая продажа", "process": "process"}).id
    for seq, name in enumerate(TYPICAL, start=1):
        crm.create("deals.kind_stage", {"kind": typical, "stage": stages[name], "sequence": seq})
    manual = crm.create("deals.kind", {"name": "Произвольная продажа", "process": "manual"}).id
    for seq, name in enumerate(MANUAL, start=1):
        crm.create("deals.kind_stage", {"kind": manual, "stage": stages[name], "sequence": seq})
    none = crm.create("deals.kind", {"name": "Долгосрочные проекты", "process": "none"}).id
    reasons = [crm.create("deals.loss_reason", {"name": r}).id for r in REASONS]
    agreements = [crm.create("deals.agreement", {"name": f"Соглашение {i}"}).id for i in range(1, 6)]
    routes = {typical: [stages[s] for s in TYPICAL], manual: [stages[s] for s in MANUAL], none: []}
    return routes, reasons, agreements


def setup(ctx):
    n_deals, partners = ctx.n(200_000, 20_000), ctx.n(50_000, 5_000)
    ids = seed_core(ctx, "main", partners, plugins=PLUGINS)
    return seed_deals(ctx, "main", n_deals, partners, ids["managers"])


def seed_deals(ctx, name, n_deals, partners, managers, plugins=PLUGINS, everything=False, by_statistics=0.0,
               outcomes=(0.25, 0.35, 0.40)):
    """``n_deals`` deals of clients 1..``partners`` and their stage history,
    inserted straight into the tables (catalogues through crmkit); a share
    ``by_statistics`` of them takes its probability from the statistics;
    ``outcomes``: the shares won, lost and in work."""
    import numpy as np
    crm = open_crm(ctx, name, plugins=plugins, everything=everything)
    routes, reasons, agreements = _catalogues(crm)
    crm.close()
    kinds = list(routes)
    r = rng(61)
    client = r.choice(partners, size=n_deals, p=pareto_weights(partners, 62)) + 1
    kind = r.choice(kinds, size=n_deals, p=[0.7, 0.2, 0.1])
    responsible = r.choice(managers, size=n_deals)
    start = seasonal_dates(n_deals, dt.date(2023, 1, 1), 18, 63)
    potential = np.round(np.exp(r.normal(11.0, 1.2, n_deals)), -2)        # ~60,000, long tail
    outcome = r.choice(["won", "lost", "in_work"], size=n_deals, p=list(outcomes))
    depth = r.choice(np.arange(1, 8), size=n_deals, p=[0.04, 0.06, 0.08, 0.12, 0.16, 0.20, 0.34])
    stage_days = r.gamma(2.0, 4.0, size=(n_deals, 8))
    agreement = r.choice(agreements + [None], size=n_deals)
    reason = r.choice(reasons, size=n_deals)
    method = np.where(rng(64).random(n_deals) < by_statistics, "statistics", "manual")
    now = dt.datetime(2024, 7, 1, 12, 0)
    deals, history = [], []
    for i in range(n_deals):
        route = routes[int(kind[i])]
        passed = route[:min(int(depth[i]), len(route))] if route else [None]
        moment = dt.datetime.combine(start[i].item(), dt.time(10, 0))
        status = str(outcome[i])
        for j, stage in enumerate(passed):
            last = j == len(passed) - 1
            days = round(float(stage_days[i, j]), 2)
            left = None if last and status == "in_work" else moment + dt.timedelta(days=days)
            history.append((i + 1, stage, "in_work", stage is not None, moment, left,
                            days if left is not None and stage is not None else None, int(responsible[i])))
            if left is not None:
                moment = left
        closed = None
        if status != "in_work":
            closed = moment
            history.append((i + 1, passed[-1], status, False, moment, None, None, int(responsible[i])))
        deals.append((i + 1, f"Сделка {i + 1}", f"D-{i + 1:08d}", int(client[i]), int(responsible[i]),
                      str(start[i]), str((start[i] + 60)), float(potential[i]), "RUB", 50, str(method[i]), status,
                      int(reason[i]) if status == "lost" else None, int(kind[i]), passed[-1],
                      "", closed, False, now, now, None if agreement[i] is None else int(agreement[i])))
    con = ctx.connect_bare(name)
    saved = without_indexes(con, "deals_stage_history") + without_indexes(con, "deals_deal")
    insert_rows(con, "deals_deal", DEAL_COLUMNS, deals, ctx.param)
    insert_rows(con, "deals_stage_history", HISTORY_COLUMNS, history, ctx.param)
    restore_indexes(con, saved)
    cur = con.cursor()
    if ctx.db:   # ids were given explicitly: move the sequence past them
        cur.execute("SELECT setval(pg_get_serial_sequence('deals_deal', 'id'), (SELECT MAX(id) FROM deals_deal))")
    cur.execute("ANALYZE")
    if ctx.db:
        con.commit()
    con.close()
    return {"deals": n_deals, "history": len(history)}


# -- the floors: the same aggregates, written by hand --------------------------

def _false(ctx):
    return "0" if ctx.backend == "sqlite" else "false"


def funnel_sql(ctx):
    return ("SELECT h.stage_id, d.status, d.currency, COUNT(h.id), SUM(d.potential), SUM(h.days), COUNT(h.days) "
            "FROM deals_deal d JOIN deals_stage_history h ON h.deal_id = d.id "
            f"WHERE h.passage = {'1' if ctx.backend == 'sqlite' else 'true'} AND d.deletion_mark = {_false(ctx)} "
            "GROUP BY h.stage_id, d.status, d.currency")


def efficiency_sql(ctx):
    return ("SELECT COALESCE(k.name, ''), d.id, d.name, COALESCE(u.name, ''), p.id, p.name, COALESCE(a.name, ''), "
            "h.status, d.currency, COUNT(d.id), SUM(d.potential) "
            "FROM deals_deal d JOIN deals_stage_history h ON h.deal_id = d.id AND h.left_at IS NULL "
            "LEFT JOIN deals_kind k ON k.id = d.kind_id LEFT JOIN core_user u ON u.id = d.responsible_id "
            "JOIN core_partner p ON p.id = d.client_id LEFT JOIN deals_agreement a ON a.id = d.agreement_id "
            f"WHERE d.deletion_mark = {_false(ctx)} "
            "GROUP BY k.name, d.id, d.name, u.name, p.id, p.name, a.name, h.status, d.currency")


def _floor(ctx, sql):
    con = ctx.connect_bare("main")
    cur = con.cursor()
    with Stopwatch() as sw:
        cur.execute(sql)
        rows = cur.fetchall()
    con.close()
    return sw.seconds, len(rows)


def floor_funnel(ctx):
    seconds, n = _floor(ctx, funnel_sql(ctx))
    return {"floor": seconds, "info": {"floor_rows": n}}


def floor_efficiency(ctx):
    seconds, n = _floor(ctx, efficiency_sql(ctx))
    return {"floor": seconds, "info": {"floor_rows": n}}


def _report(ctx, report_id, **params):
    import pandas  # noqa: F401  -- loaded in any running service; not part of the figure
    crm = open_crm(ctx, "main", plugins=PLUGINS)
    with Stopwatch() as sw:
        result = crm.report(report_id, **params)
    crm.close()
    return sw.seconds, {name: len(frame) for name, frame in result.sections.items()}


def crmkit_funnel(ctx):
    seconds, sizes = _report(ctx, "deals.funnel")
    return {"crmkit": seconds, "info": {"sections": sizes}}


def crmkit_efficiency(ctx):
    seconds, sizes = _report(ctx, "deals.efficiency")
    return {"crmkit": seconds, "info": {"sections": sizes}}


def crmkit_efficiency_summary(ctx):
    seconds, sizes = _report(ctx, "deals.efficiency", detail=False)
    return {"crmkit": seconds, "info": {"sections": sizes}}


FIGURES = [
    Figure("deals_funnel", "Funnel: {deals} deals, {history} history rows", "time", 2,
           "GROUP BY stage, status (best of 2)", ("floor_funnel", "crmkit_funnel", "floor_funnel")),
    Figure("deals_efficiency", "Efficiency (with detail tree) over {deals} deals", "time", 2,
           "GROUP BY kind, deal, client ...", ("floor_efficiency", "crmkit_efficiency"), timeout=150),
    Figure("deals_efficiency_summary", "Efficiency by status only (detail=no)", "time", 2,
           "GROUP BY kind, deal, client ... (best of 2)",
           ("floor_efficiency", "crmkit_efficiency_summary", "floor_efficiency")),
]
