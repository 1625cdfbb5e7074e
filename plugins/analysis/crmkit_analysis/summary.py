"""The monthly summary of the sales lines (issue 23).

Two tables, both cut by partner and month, hold what the assortment report
and the first-sale look-ups of classifications read instead of the lines:

- ``analysis_sale_month``: per partner, product and month, the lines not
  marked for deletion: their count, the count with a positive quantity,
  revenue and cost in whole cents, and the first date (and first date of a
  positive line) in the month;
- ``analysis_month_document``: per partner, month and document number,
  the lines' revenue and cost in whole cents (a month's document count is
  ``COUNT(DISTINCT document)`` over it, exactly as over the lines, whichever
  partners a number is used for; sums per partner or month read a quarter
  of the rows the product cut has).

Every figure read from them equals the same figure over the lines: a
month's sums are sums of the slices' sums, its distinct products and
documents are distinct over the slices, and the earliest date before a day
is the earliest of the slices' first dates before it.

They are kept in step in the transaction of every write of sales lines: a
slice (partner, month) touched by an import, a create, an update, a
deletion mark or a deletion is computed again from its lines (the import:
once, at its end, for every slice its lines touch; a month touched for
many partners is computed again whole), and a merge of partners or
products recomputes the survivor's slices. A raise undoes the write with
it. On PostgreSQL the recomputation takes a transaction-level advisory lock,
so two writers of the same slice cannot interleave their DELETE and INSERT.
"""
from __future__ import annotations

import datetime as dt

import peewee as pw

WHOLE_MONTH = 2000       # a month touched for more partners than this is computed again whole
LOCK_KEY = 230_001       # pg_advisory_xact_lock key of the summary's maintenance


def month_start(day) -> dt.date:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    if isinstance(day, dt.datetime):
        day = day.date()
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _sqlite(db) -> bool:
    return isinstance(db, pw.SqliteDatabase)


def month_sql(db, column="date") -> str:
    """SQL of the month's first day of a date column (as the summary stores it)."""
    if _sqlite(db):
        return f"substr({column}, 1, 7) || '-01'"
    return f"CAST(date_trunc('month', {column}) AS date)"


def _among(db, column, values):
    """``column IN (values)`` as SQL text and parameters, the values sent as
    one parameter (a JSON array on SQLite, an array on PostgreSQL)."""
    import json
    values = sorted({int(v) for v in values})
    if _sqlite(db):
        return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(values)]
    return f"{column} = ANY(%s)", [values]


def _p(db):
    return "?" if _sqlite(db) else "%s"


def _day(db, day):
    """A date as a parameter: ISO text on SQLite (as it stores dates), a date on PostgreSQL."""
    return day.isoformat() if _sqlite(db) else day


def _lock(db):
    if not _sqlite(db):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))


def _select_slices(db, where, params, month):
    """The INSERT ... SELECTs filling both tables from the lines of ``where``."""
    false = "0" if _sqlite(db) else "false"
    cents = "CAST(ROUND({} * 100) AS BIGINT)"
    lines = (f"INSERT INTO analysis_sale_month (partner_id, product_id, month, lines, positive_lines, "
             f"revenue_cents, cost_cents, first_date, first_positive_date) "
             f"SELECT partner_id, product_id, {month}, COUNT(*), SUM(CASE WHEN quantity > 0 THEN 1 ELSE 0 END), "
             f"SUM({cents.format('revenue')}), SUM({cents.format('COALESCE(cost, 0)')}), MIN(date), "
             f"MIN(CASE WHEN quantity > 0 THEN date END) "
             f"FROM analysis_sale WHERE deletion_mark = {false} AND {where} GROUP BY partner_id, product_id")
    documents = (f"INSERT INTO analysis_month_document (partner_id, month, document, revenue_cents, cost_cents) "
                 f"SELECT partner_id, {month}, document, SUM({cents.format('revenue')}), "
                 f"SUM({cents.format('COALESCE(cost, 0)')}) "
                 f"FROM analysis_sale WHERE deletion_mark = {false} AND {where} GROUP BY partner_id, document")
    return [(lines, params), (documents, params)]


def refresh(db, slices):
    """Compute the slices ``{(partner id, month's first day)}`` again from
    their lines, inside the caller's transaction."""
    by_month: dict = {}
    for partner, month in slices:
        if partner is None or month is None:
            continue
        by_month.setdefault(month_start(month), set()).add(int(partner))
    if not by_month:
        return
    _lock(db)
    p = _p(db)
    for month, partners in sorted(by_month.items()):
        start, end = month, next_month(month)
        span = f"date >= {p} AND date < {p}"
        first = _day(db, start)
        span_params = [first, _day(db, end)]
        if len(partners) > WHOLE_MONTH:
            db.execute_sql(f"DELETE FROM analysis_sale_month WHERE month = {p}", [first])
            db.execute_sql(f"DELETE FROM analysis_month_document WHERE month = {p}", [first])
            where, params = span, span_params
        else:
            among, among_params = _among(db, "partner_id", partners)
            db.execute_sql(f"DELETE FROM analysis_sale_month WHERE month = {p} AND {among}", [first, *among_params])
            db.execute_sql(f"DELETE FROM analysis_month_document WHERE month = {p} AND {among}",
                           [first, *among_params])
            where, params = f"{span} AND {among}", span_params + among_params
        month_value = p if _sqlite(db) else f"CAST({p} AS date)"
        for sql, args in _select_slices(db, where, [first, *params], month_value):
            db.execute_sql(sql, args)


def rebuild(db):
    """Both tables computed again from every line (the migration's backfill;
    also for a base whose lines were written around crmkit, by hand in SQL)."""
    _lock(db)
    db.execute_sql("DELETE FROM analysis_sale_month")
    db.execute_sql("DELETE FROM analysis_month_document")
    for sql, args in _select_slices(db, "1 = 1", [], month_sql(db)):
        # grouped by the month expression as well: the slices of every month at once
        sql = sql.replace("GROUP BY partner_id, ", f"GROUP BY {month_sql(db)}, partner_id, ")
        db.execute_sql(sql, args)


def slices_of_ids(db, first, last):
    """The (partner, month) slices of the lines with ids ``first..last``."""
    p = _p(db)
    cursor = db.execute_sql(f"SELECT DISTINCT partner_id, {month_sql(db)} FROM analysis_sale "
                            f"WHERE id >= {p} AND id <= {p}", [int(first), int(last)])
    return {(partner, month_start(str(month))) for partner, month in cursor.fetchall()}


def slices_of_partners(db, partner_ids):
    among, params = _among(db, "partner_id", partner_ids)
    cursor = db.execute_sql(f"SELECT DISTINCT partner_id, {month_sql(db)} FROM analysis_sale WHERE {among}", params)
    return {(partner, month_start(str(month))) for partner, month in cursor.fetchall()}


def slices_of_products(db, product_ids):
    among, params = _among(db, "product_id", product_ids)
    cursor = db.execute_sql(f"SELECT DISTINCT partner_id, {month_sql(db)} FROM analysis_sale WHERE {among}", params)
    return {(partner, month_start(str(month))) for partner, month in cursor.fetchall()}


# -- the hooks' side ----------------------------------------------------------

def _id(value):
    if value is None:
        return None
    return value.get_id() if isinstance(value, pw.Model) else int(value)


def line_written(crm, record, changes):
    """A line was created or updated (a deletion mark is an update)."""
    slices = {(_id(record.partner_id), record.date)}
    if changes and ("partner" in changes or "date" in changes):
        old_partner = _id(changes["partner"][0]) if "partner" in changes else _id(record.partner_id)
        old_date = changes["date"][0] if "date" in changes else record.date
        slices.add((old_partner, old_date))
    refresh(crm.db, slices)


def line_deleted(crm, record):
    refresh(crm.db, {(_id(record.partner_id), record.date)})


def lines_imported(crm, ids):
    if ids is None:      # the importer could not say which ids it wrote
        rebuild(crm.db)
        return
    refresh(crm.db, slices_of_ids(crm.db, *ids))


def before_merge(crm, entity, survivor, merged):
    """Both records' rows go (the kernel then moves the lines by their foreign keys)."""
    column = "partner_id" if entity == "core.partner" else "product_id"
    among, params = _among(crm.db, column, [survivor.get_id(), merged.get_id()])
    _lock(crm.db)
    if entity == "core.partner":
        crm.db.execute_sql(f"DELETE FROM analysis_month_document WHERE {among}", params)
        crm.db.execute_sql(f"DELETE FROM analysis_sale_month WHERE {among}", params)
    else:   # the slices of the partners who bought either are computed again after the move
        crm.db.execute_sql(f"DELETE FROM analysis_sale_month WHERE {among}", params)


def after_merge(crm, entity, survivor, merged):
    """The survivor's slices from its lines (those of both records, moved)."""
    if entity == "core.partner":
        refresh(crm.db, slices_of_partners(crm.db, [survivor.get_id()]))
    else:
        refresh(crm.db, slices_of_products(crm.db, [survivor.get_id()]))


# -- reading, through the acting user's access ----------------------------------

def visible(crm, query, model):
    """``query`` over a summary ``model`` narrowed to the partners the acting
    user may see: the row filter of the sales lines (their partner path)."""
    crm.require("read", "analysis.sale")
    cond = crm.visible("analysis.sale")
    if cond is None:
        return query
    P = crm.model("core.partner")
    inner = crm.visible("core.partner")
    seen = P.select(P.id).where(inner) if inner is not None else P.select(P.id)
    column = model.partner
    if _sqlite(crm.db):
        # ``+partner_id``: SQLite would otherwise look the partners up one by one
        # in the partner-led index and sort, instead of walking the month-led one
        column = pw.NodeList((pw.SQL("+"), model.partner), glue="")
    return query.where(column.in_(seen))
