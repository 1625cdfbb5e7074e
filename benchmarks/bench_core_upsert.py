"""Upsert of core rows: a CSV of contact persons of which half are stored
already (found by their ``id``, their position changed) and half are new
(blank ``id``), through ``crm.import_file(..., mode="upsert", key="id")``
(chunked read, the stored rows found among the visible ones in one query
per chunk, vectorised validation, references, the changed fields written
and logged, the new rows inserted, one transaction) against a bare
``INSERT ... ON CONFLICT (id) DO UPDATE`` of the same rows read with the
standard csv module into the same table holding the same stored half.
"""
from __future__ import annotations

import csv
import datetime as dt

from common import Figure, Stopwatch, executemany, insert_rows, open_crm, rng, seed_core

TITLE = "Upsert of core.contact rows from CSV"
REQUIRES = ()
COLUMNS = ("id", "partner", "name", "position", "role", "comment")
STORED = ("partner_id", "name", "position", "role", "comment", "deletion_mark", "created_at", "changed_at")
POSITIONS = ["Генеральный директор", "Менеджер по закупкам", "Главный бухгалтер", "Инженер", "Кладовщик"]
ROLES = ["Принимает решения", "Влияет на решение", "Пользователь", "Финансы", ""]


def sizes(ctx):
    rows = ctx.n_import(1_000_000, 100_000)
    return rows, max(rows // 10, 1000)


def setup(ctx):
    rows, partners = sizes(ctx)
    half = rows // 2
    r = rng(23)
    owner = r.integers(0, partners, rows)
    pos = r.integers(0, len(POSITIONS), rows)
    role = r.integers(0, len(ROLES), rows)
    now = dt.datetime(2026, 11, 1, 9, 0)
    stored = [(int(owner[i]) + 1, f"Контакт {i}", POSITIONS[pos[i]], ROLES[role[i]], "", False, now, now)
              for i in range(half)]
    for name in ("crmkit", "floor"):
        ids = seed_core(ctx, name, partners)
        con = ctx.connect_bare(name)
        insert_rows(con, "core_contact", STORED, stored, ctx.param)   # ids 1..half: the stored half
        if ctx.db:
            con.cursor().execute("SELECT setval(pg_get_serial_sequence('core_contact', 'id'), %s)", (half,))
            con.commit()
        con.close()
    path = ctx.file("contacts.csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(rows):
            position = POSITIONS[(pos[i] + 1) % len(POSITIONS)]      # the stored half: a new position
            w.writerow((i + 1 if i < half else "", f"BP{owner[i] + 1:07d}", f"Контакт {i}", position,
                        ROLES[role[i]], ""))
    return {"rows": rows, "half": half, "partners": partners, "csv": str(path), **ids}


def crmkit_upsert(ctx):
    crm = open_crm(ctx, "crmkit")
    with Stopwatch() as sw:
        summary = crm.import_file("core.contact", ctx.extra["csv"], mode="upsert", key="id")
    crm.close()
    half, rows = ctx.extra["half"], ctx.extra["rows"]
    if (summary["inserted"], summary["updated"]) != (rows - half, half):
        raise RuntimeError(f"upsert: {summary['inserted']} inserted, {summary['updated']} updated "
                           f"of {rows}: {summary['errors']}")
    return {"crmkit": sw.seconds, "info": {"rows": rows, "updated": half,
                                           "rows_per_s_crmkit": round(rows / sw.seconds)}}


def floor_upsert(ctx):
    con = ctx.connect_bare("floor")
    cur = con.cursor()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    p = ctx.param
    # a blank id is a new row: SQLite numbers a NULL rowid, PostgreSQL takes the sequence
    key = p if not ctx.db else f"COALESCE({p}::integer, nextval(pg_get_serial_sequence('core_contact', 'id')))"
    with Stopwatch() as sw:
        cur.execute("SELECT code, id FROM core_partner")
        partner = dict(cur.fetchall())
        rows = []
        with open(ctx.extra["csv"], newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            for rid, code, name, position, role, comment in reader:
                rows.append((int(rid) if rid else None, partner[code], name, position, role, comment,
                             False, now, now))
        executemany(con, "INSERT INTO core_contact (id, partner_id, name, position, role, comment, deletion_mark, "
                         f"created_at, changed_at) VALUES ({key}, {', '.join([p] * 8)}) "
                         "ON CONFLICT (id) DO UPDATE SET partner_id = excluded.partner_id, name = excluded.name, "
                         "position = excluded.position, role = excluded.role, comment = excluded.comment, "
                         "changed_at = excluded.changed_at", rows)
    con.close()
    return {"floor": sw.seconds, "info": {"rows_per_s_floor": round(len(rows) / sw.seconds)}}


FIGURES = [
    Figure("core_upsert", "Upsert {rows} core.contact rows, half stored (CSV, key id, full validation)", "speed",
           0.2, "csv + INSERT ... ON CONFLICT DO UPDATE", ("floor_upsert", "crmkit_upsert")),
]
