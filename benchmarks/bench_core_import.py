"""Bulk import of core rows: 1,000,000 contact persons from a CSV through
``crm.import_file`` (chunked read, vectorised schema validation, partner
codes resolved among visible partners, duplicate and reference checks, one
transaction) against a bare executemany of the same rows read with the
standard csv module into the same table.
"""
from __future__ import annotations

import csv
import datetime as dt

from common import Figure, Stopwatch, executemany, open_crm, rng, seed_core

TITLE = "Import of core.contact rows from CSV"
REQUIRES = ()
COLUMNS = ("partner", "name", "position", "role", "birth_date", "gender", "comment")
POSITIONS = ["Генеральный директор", "Менеджер по закупкам", "Главный бухгалтер", "Инженер",
             "Кладовщик", "Коммерческий директор", "Юрист", ""]
ROLES = ["Принимает решения", "Влияет на решение", "Пользователь", "Финансы", ""]
FIRST = ["Александр", "Мария", "Дмитрий", "Елена", "Сергей", "Ольга", "Андрей", "Наталья", "Игорь", "Анна"]
LAST = ["Орлов", "Смирнова", "Иванов", "Кузнецова", "Попов", "Соколова", "Лебедев", "Козлова", "Новиков"]


def sizes(ctx):
    rows = ctx.n_import(1_000_000, 100_000)
    return rows, max(rows // 10, 1000)


def setup(ctx):
    import numpy as np

    from common import pareto_weights
    rows, partners = sizes(ctx)
    ids = {}
    for name in ("crmkit", "floor"):
        ids = seed_core(ctx, name, partners)
    # a few big clients with thousands of contacts, most with one or two
    r = rng(11)
    owner = r.choice(partners, size=rows, p=pareto_weights(partners, 12))
    first = r.integers(0, len(FIRST), rows)
    last = r.integers(0, len(LAST), rows)
    pos = r.integers(0, len(POSITIONS), rows)
    role = r.integers(0, len(ROLES), rows)
    has_birth = r.random(rows) < 0.4
    birth = np.datetime64("1955-01-01") + r.integers(0, 365 * 45, rows)
    gender = r.choice(["male", "female", ""], size=rows, p=[0.45, 0.45, 0.10])
    path = ctx.file("contacts.csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(rows):
            female = gender[i] == "female"
            surname = LAST[last[i]] + ("а" if female and not LAST[last[i]].endswith("а") else "")
            w.writerow((f"BP{owner[i] + 1:07d}", f"{surname} {FIRST[first[i]]} {i}", POSITIONS[pos[i]],
                        ROLES[role[i]], str(birth[i]) if has_birth[i] else "", gender[i],
                        "" if i % 7 else "основной контакт"))
    return {"rows": rows, "partners": partners, "csv": str(path), **ids}


def crmkit_import(ctx):
    crm = open_crm(ctx, "crmkit")
    with Stopwatch() as sw:
        summary = crm.import_file("core.contact", ctx.extra["csv"])
    written = summary["written"]
    crm.close()
    if written != ctx.extra["rows"]:
        raise RuntimeError(f"imported {written} of {ctx.extra['rows']} rows: {summary['errors']}")
    return {"crmkit": sw.seconds, "info": {"rows": written, "rows_per_s_crmkit": round(written / sw.seconds)}}


def floor_executemany(ctx):
    con = ctx.connect_bare("floor")
    cur = con.cursor()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with Stopwatch() as sw:
        cur.execute("SELECT code, id FROM core_partner")
        partner = dict(cur.fetchall())
        rows = []
        with open(ctx.extra["csv"], newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            for p, name, position, role, birth, gender, comment in reader:
                rows.append((partner[p], name, position, role, birth or None, gender or None, comment,
                             False, now, now))
        p = ctx.param
        executemany(con, "INSERT INTO core_contact (partner_id, name, position, role, birth_date, gender, "
                         "comment, deletion_mark, created_at, changed_at) VALUES "
                         f"({', '.join([p] * 10)})", rows)
    con.close()
    return {"floor": sw.seconds, "info": {"rows_per_s_floor": round(len(rows) / sw.seconds)}}


FIGURES = [
    Figure("core_import", "Import {rows} core.contact rows (CSV, full validation)", "speed", 0.25,
           "csv + executemany", ("floor_executemany", "crmkit_import")),
]
