"""Import of deals with their stage history: a deals file (won, lost and in
work, with start, stage-entry and close moments) through
``crm.import_file("deals.deal")`` — vectorised validation, references,
the deals plugin's rules and the history it writes per deal — then the full
stage history file through ``crm.import_file("deals.stage_history")``,
checked per deal for consistency and replacing what the first import wrote;
against a bare executemany of the same deal and history rows, read with
the csv module (the floor's deal ids looked up by code, as any loader would).
"""
from __future__ import annotations

import csv
import datetime as dt

from common import Figure, Stopwatch, executemany, open_crm, rng, seed_core

TITLE = "Import of deals with stage history"
REQUIRES = ("deals",)
PLUGINS = ("deals",)
STAGES = ["Первичный контакт", "Квалификация клиента", "Формирование предложения", "Согласование условий",
          "Выполнение обязательств"]
DEALS = ("code", "name", "client", "kind", "stage", "status", "start_date", "stage_entered_at", "closed_at",
         "loss_reason", "potential", "probability")
HISTORY = ("deal", "stage", "status", "entered_at", "left_at")
UTC = dt.timezone.utc


def sizes(ctx):
    deals = ctx.n_import(200_000, 20_000)
    return deals, max(deals // 4, 1000)


def _catalogues(crm):
    stages = [crm.create("deals.stage", {"name": s}).id for s in STAGES]
    kind = crm.create("deals.kind", {"name": "Произвольная продажа", "process": "manual"}).id
    for seq, stage in enumerate(stages, start=1):
        crm.create("deals.kind_stage", {"kind": kind, "stage": stage, "sequence": seq})
    reason = crm.create("deals.loss_reason", {"name": "Высокая цена"}).id
    return kind, stages, reason


def setup(ctx):
    n, partners = sizes(ctx)
    for name in ("crmkit", "floor"):
        seed_core(ctx, name, partners, plugins=PLUGINS)
        crm = open_crm(ctx, name, plugins=PLUGINS)
        kind, stages, reason = _catalogues(crm)
        crm.close()
    r = rng(19)
    client = r.integers(1, partners + 1, n)
    passed = r.integers(1, len(STAGES) + 1, n)          # stages each deal went through
    outcome = r.choice(["won", "lost", "in_work"], size=n, p=[0.3, 0.35, 0.35])
    start = dt.datetime(2023, 1, 1, 9, tzinfo=UTC)
    offsets = r.integers(0, 500, n)
    steps = r.integers(1, 20, (n, len(STAGES) + 1))     # days at each stage
    history_rows = 0
    with open(ctx.file("deals.csv"), "w", newline="", encoding="utf-8") as fd, \
            open(ctx.file("history.csv"), "w", newline="", encoding="utf-8") as fh:
        deals, history = csv.writer(fd), csv.writer(fh)
        deals.writerow(DEALS)
        history.writerow(HISTORY)
        for i in range(n):
            code = f"IM-{i + 1:08d}"
            moment = start + dt.timedelta(days=int(offsets[i]))
            begun = moment
            rows = []
            for k in range(int(passed[i])):
                left = moment + dt.timedelta(days=int(steps[i, k]), hours=k)
                rows.append([code, stages[k], "in_work", moment.isoformat(), left.isoformat()])
                moment = left
            status = outcome[i]
            if status == "in_work":
                rows[-1][4] = ""
                closed = ""
            else:
                closed = rows[-1][4]
                rows.append([code, stages[int(passed[i]) - 1], status, closed, ""])
            entered = rows[int(passed[i]) - 1][3]
            history.writerows(rows)
            history_rows += len(rows)
            deals.writerow((code, f"Сделка {i + 1}", f"BP{int(client[i]):07d}", kind, stages[int(passed[i]) - 1],
                            status, begun.date().isoformat(), entered if passed[i] > 1 else "", closed,
                            reason if status == "lost" else "", f"{1000 + i % 5000}.00",
                            100 if status == "won" else 0 if status == "lost" else 40))
    return {"deals": n, "history": history_rows, "kind": kind}


def crmkit_import(ctx):
    crm = open_crm(ctx, "crmkit", plugins=PLUGINS)
    with Stopwatch() as sw:
        deals = crm.import_file("deals.deal", ctx.file("deals.csv"))
        history = crm.import_file("deals.stage_history", ctx.file("history.csv"))
    crm.close()
    if (deals["written"], history["written"]) != (ctx.extra["deals"], ctx.extra["history"]):
        raise RuntimeError(f"imported {deals['written']} deals, {history['written']} history rows: "
                           f"{deals['errors'] or history['errors']}")
    rows = deals["written"] + history["written"]
    return {"crmkit": sw.seconds, "info": {"deals": deals["written"], "history_rows": history["written"],
                                           "rows_per_s_crmkit": round(rows / sw.seconds)}}


def floor_executemany(ctx):
    con = ctx.connect_bare("floor")
    cur = con.cursor()
    p = ctx.param
    now = dt.datetime.now(UTC).replace(tzinfo=None)
    with Stopwatch() as sw:
        cur.execute("SELECT code, id FROM core_partner")
        partner = dict(cur.fetchall())
        rows = []
        with open(ctx.file("deals.csv"), newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            for code, name, client, kind, stage, status, start, _entered, closed, reason, potential, prob in reader:
                rows.append((code, name, partner[client], int(kind), int(stage), status, start,
                             closed.replace("T", " ")[:19] or None, int(reason) if reason else None, potential,
                             int(prob), "USD", "manual", "", False, now, now))
        executemany(con, "INSERT INTO deals_deal (code, name, client_id, kind_id, stage_id, status, start_date, "
                         "closed_at, loss_reason_id, potential, probability, currency, probability_method, comment, "
                         f"deletion_mark, created_at, changed_at) VALUES ({', '.join([p] * 17)})", rows)
        cur = con.cursor()
        cur.execute("SELECT code, id FROM deals_deal")
        deal = dict(cur.fetchall())
        rows = []
        with open(ctx.file("history.csv"), newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            for code, stage, status, entered, left in reader:
                rows.append((deal[code], int(stage), status, entered.replace("T", " ")[:19],
                             left.replace("T", " ")[:19] or None, status == "in_work"))
        executemany(con, "INSERT INTO deals_stage_history (deal_id, stage_id, status, entered_at, left_at, passage) "
                         f"VALUES ({', '.join([p] * 6)})", rows)
    con.close()
    return {"floor": sw.seconds, "info": {"rows_per_s_floor": round((len(deal) + len(rows)) / sw.seconds)}}


FIGURES = [
    Figure("deals_import", "Import {deals} deals with {history} stage-history rows (validated, consistency checked)",
           "speed", 0.25, "csv + executemany", ("floor_executemany", "crmkit_import")),
]
