"""Calendar periods: windows before an "as of" date and sub-period buckets.

A window of ``count`` periods "as of" a date is the ``count`` whole calendar
periods before the period that contains the date (1C's "четыре предыдущие
недели"): as of 2015-11-02 (a Monday) four weeks are 2015-10-05 ..
2015-11-01. Weeks start on Monday. Sub-periods are calendar buckets keyed by
their first day; a bucket that straddles the window's edge (weeks in a month)
counts only the window's days.
"""
from __future__ import annotations

import datetime as dt

UNITS = ("day", "week", "month", "quarter", "year")
RANK = {u: i for i, u in enumerate(UNITS)}


def start_of(unit: str, day: dt.date) -> dt.date:
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"unknown period {unit!r}; use one of {', '.join(UNITS)}")


def shift(unit: str, day: dt.date, n: int) -> dt.date:
    """The start of the period ``n`` periods after the one starting on ``day``."""
    if unit == "day":
        return day + dt.timedelta(days=n)
    if unit == "week":
        return day + dt.timedelta(weeks=n)
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * n
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def window(unit: str, count: int, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """``(first day, day after the last)`` of ``count`` whole periods before ``as_of``'s period."""
    end = start_of(unit, as_of)
    return shift(unit, end, -count), end


def buckets(unit: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the sub-periods that meet ``[start, end)``."""
    out, current = [], start_of(unit, start)
    while current < end:
        out.append(current)
        current = shift(unit, current, 1)
    return out


def bucket_expression(db, unit: str, field):
    """A peewee expression of the bucket key of a date column: the
    ``YYYY-MM-DD`` text of the sub-period's first day, on SQLite and PostgreSQL."""
    import peewee as pw
    fn = pw.fn
    if unit not in UNITS:
        raise ValueError(f"unknown period {unit!r}; use one of {', '.join(UNITS)}")
    if isinstance(db, pw.SqliteDatabase):
        if unit == "day":
            return fn.date(field)
        if unit == "week":
            return fn.date(field, "weekday 0", "-6 days")
        if unit == "quarter":
            month = pw.Cast(fn.strftime("%m", field), "INTEGER")
            return fn.printf("%s-%02d-01", fn.strftime("%Y", field), (month - 1) / 3 * 3 + 1)
        # dates are ISO text on SQLite: cutting the text groups about twice as fast as strftime
        if unit == "month":
            return fn.substr(field, 1, 7).concat("-01")
        return fn.substr(field, 1, 4).concat("-01-01")
    return fn.to_char(fn.date_trunc(unit, field), "YYYY-MM-DD")


def bucket_position(db, unit: str, starts: list[dt.date], field):
    """A peewee expression of the 0-based position of a date column's
    sub-period in ``starts`` (the buckets' first days, ascending).

    PostgreSQL: ``width_bucket`` over the array of starts, an integer that
    groups faster than a formatted key. SQLite has no ``width_bucket``: the
    ``YYYY-MM-DD`` key of :func:`bucket_expression`, which :func:`positions`
    turns into positions in pandas.
    """
    import peewee as pw
    if isinstance(db, pw.SqliteDatabase):
        return bucket_expression(db, unit, field)
    return pw.fn.width_bucket(field, pw.SQL("%s::date[]", [list(starts)])) - 1


def positions(column, starts: list[dt.date]):
    """What :func:`bucket_position` returned, as 0-based positions (numpy
    int array; -1 for a key outside ``starts``)."""
    import numpy as np
    import pandas as pd
    if column.dtype.kind in "iu":
        return column.to_numpy(dtype=np.int64)
    return np.asarray(pd.Categorical(column.astype(str), categories=[d.isoformat() for d in starts]).codes,
                      dtype=np.int64)
