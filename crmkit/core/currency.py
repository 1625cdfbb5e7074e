"""Money in a report currency: one helper every money report calls.

A report given ``report_currency=RUB`` converts each amount in SQL, inside
its own aggregate: the amount times the rate of its currency on its date
(``rates_on=own``, the default) or on the report date (``rates_on=report``:
the ``as_of`` moment, else ``date_to``, else today), divided by the rate of
the report currency on that date. The rate of a date is the latest stored
rate on or before it (a correlated sub-select over the unique index
``(currency, date)``; one index probe per row, no row leaves the database).
Rates are quoted in one base currency (``CRMKIT_BASE_CURRENCY``, RUB by
default, whose rate is 1). Before the report runs, one GROUP BY over the
report's rows finds the earliest date each currency needs; a currency
without a rate on or before it is an error naming the currency and the
date, never a silent 1. Without ``report_currency`` nothing changes: the
amounts stay in their own currencies.

Nothing here is imported at start-up: ``PARAMS`` is plain data for report
schemas, peewee is imported when a report runs.
"""
from __future__ import annotations

import datetime as dt
import functools
import os

ENTITY = "core.currency_rate"
BASES = ("own", "report")
MAX_SPAN_DAYS = 40_000   # ~110 years of daily rates per currency kept for one report
# the parameters' labels, for the specs' ``labels`` (each plugin's catalogue translates them)
LABELS = {"report_currency": "Report currency", "rates_on": "Rates on"}
PARAMS = {"report_currency": {"type": "string", "nullable": True, "regex": "[A-Za-z]{3}"},
          "rates_on": {"type": "string", "nullable": True, "allowed": list(BASES)}}


def base_currency() -> str:
    """The currency rates are quoted in."""
    return (os.environ.get("CRMKIT_BASE_CURRENCY") or "RUB").strip().upper()


def report_date(params) -> dt.date:
    """The date of a report: its ``as_of`` moment, else the end of its period, else today."""
    as_of = params.get("as_of")
    if as_of:
        return as_of.date() if isinstance(as_of, dt.datetime) else as_of
    return params.get("date_to") or dt.date.today()


class Conversion:
    """Expressions converting a report's amounts; ``None`` target = no conversion.

    :param to: the report currency (upper case), or None.
    :param on: None (each amount at its own date) or the one date of every rate.
    """

    def __init__(self, crm, to, on, report):
        self.crm, self.to, self.on, self.report = crm, to, on, report
        self.base = base_currency()
        self._tables = {}   # currency -> (first day, [rate of each day as text]): see ``_load``

    @property
    def active(self) -> bool:
        return self.to is not None

    def currency(self, currency_field):
        """The currency column a report groups by: the report currency when converting."""
        import peewee as pw
        return pw.Value(self.to) if self.active else currency_field

    def keys(self, currency_field) -> list:
        """What a report groups by for the currency: nothing when converting
        (every amount is in the report currency), else the currency."""
        return [] if self.active else [currency_field]

    def _rate(self, currency, day):
        """Base-currency units of one unit of ``currency`` on ``day``: the
        latest visible rate on or before it (a scalar sub-select)."""
        import peewee as pw
        R = self.crm.model(ENTITY)
        return (self.crm.query(ENTITY, (R.rate * 1.0 / R.multiplier))
                .where((R.currency == currency) & (R.date <= day))
                .order_by(R.date.desc()).limit(1))

    def factor(self, currency_field, date_field):
        """What one unit of the row's currency is in the report currency, as SQL.

        Rendered when the query's SQL is made (``_Factor``): by then
        ``check`` has loaded the rates of the currencies and dates the rows
        need, and the factor is a lookup in them; a currency or a date it
        has not loaded falls back to the sub-select."""
        return _Factor(self, currency_field, date_field)

    def _factor_sql(self, currency_field, date_field):
        import peewee as pw
        day = pw.Value(self.on) if self.on is not None else date_field
        own = pw.Case(None, [(currency_field == self.base, 1.0),
                             *self._known(currency_field, date_field, exclude=(self.base, self.to))],
                      self._rate(currency_field, day))
        if self.to != self.base:
            known = self._known(None, date_field, only=self.to)
            to_rate = pw.Case(None, known, self._rate(self.to, day)) if known else self._rate(self.to, day)
            own = own / to_rate
        return pw.Case(None, [(currency_field == self.to, 1.0)], own)

    def _known(self, currency_field, date_field, exclude=(), only=None) -> list:
        """CASE branches over the rates ``check`` loaded: ``(condition,
        rate)`` per currency. One date for every rate (``rates_on=report``):
        the rate itself. Each amount at its own date: on PostgreSQL the
        day's rate read from an array of the currency's daily rates (one
        per calendar day of the span the rows need, made once in Python
        from the stored rates), so no row runs a sub-select (PostgreSQL
        runs a correlated sub-select once per row, ~35 us each); on SQLite
        the sub-select is an index probe of a few us and stays."""
        import peewee as pw
        from crmkit.kernel import db as kdb
        branches = []
        for cur, table in sorted(self._tables.items()):
            if cur in exclude or (only is not None and cur != only):
                continue
            first, values = table
            cond = (currency_field == cur) if currency_field is not None else None
            if self.on is not None:
                value = pw.SQL(f"CAST({values[0]} AS NUMERIC)") if values[0] is not None else pw.SQL("NULL")
            elif kdb.is_sqlite():
                continue
            else:
                day = pw.Cast(date_field, "DATE")
                last = first + dt.timedelta(days=len(values) - 1)
                inside = (day >= _date_sql(first)) & (day <= _date_sql(last))
                cond = inside if cond is None else (cond & inside)
                text = "{" + ",".join("NULL" if v is None else v for v in values) + "}"
                value = pw.NodeList((pw.SQL("(CAST("), pw.Value(text, converter=False), pw.SQL(" AS NUMERIC[]))["),
                                     day - _date_sql(first), pw.SQL(" + 1]")), glue="")
            branches.append((cond if cond is not None else pw.SQL("TRUE"), value))
        return branches

    def amount(self, amount_field, currency_field, date_field):
        """The amount in the report currency (or as it is, when not converting)."""
        if not self.active:
            return amount_field
        return amount_field * self.factor(currency_field, date_field)

    def cents(self, amount_field, currency_field, date_field):
        """The amount in whole cents of the report currency (each amount rounded once)."""
        import peewee as pw
        return pw.Cast(pw.fn.ROUND(pw.fn.COALESCE(self.amount(amount_field, currency_field, date_field), 0) * 100),
                       "BIGINT")

    def check(self, query, currency_field, date_field):
        """Raise ``ValidationError`` naming the first currency and date the
        rows of ``query`` (the report's filtered rows) need a rate for and
        have none. Two GROUP BYs: the earliest date per currency in the rows,
        the earliest rate per currency."""
        if not self.active:
            return
        import peewee as pw
        from crmkit import ValidationError
        spans = {cur: (_as_date(lo), _as_date(hi)) for cur, lo, hi in
                 query.select(currency_field, pw.fn.MIN(date_field), pw.fn.MAX(date_field))
                 .where(currency_field != self.to).group_by(currency_field).order_by().tuples()
                 if cur and lo is not None}
        if not spans:
            return
        if self.on is not None:
            spans = {cur: (self.on, self.on) for cur in spans}
        wanted = {cur: span for cur, span in spans.items() if cur != self.base}
        if self.to != self.base:
            wanted[self.to] = (min(lo for lo, _ in spans.values()), max(hi for _, hi in spans.values()))
        R = self.crm.model(ENTITY)
        first = dict(self.crm.query(ENTITY, R.currency, pw.fn.MIN(R.date))
                     .where(R.currency.in_(sorted(wanted))).group_by(R.currency).tuples())
        for cur in sorted(wanted):
            day, earliest = wanted[cur][0], _as_date(first.get(cur))
            if earliest is None or earliest > day:
                raise ValidationError({"report_currency": f"no {cur} exchange rate on or before {day.isoformat()}: "
                                       f"load one (crmkit rates load cbr --date {day.isoformat()}) or import "
                                       f"core.currency_rate"}, self.report)
        for cur, (lo, hi) in wanted.items():
            self._load(cur, lo, hi)

    def _load(self, currency, lo, hi):
        """Keep the rate of ``currency`` for every day from ``lo`` to ``hi``
        (widening what an earlier check kept): the latest visible rate on or
        before each day, as exact decimal text. Spans past ``MAX_SPAN_DAYS``
        are left to the sub-select."""
        from decimal import Decimal
        import peewee as pw
        if currency in self._tables:
            first, values = self._tables[currency]
            lo, hi = min(lo, first), max(hi, first + dt.timedelta(days=len(values) - 1))
        if (hi - lo).days + 1 > MAX_SPAN_DAYS:
            self._tables.pop(currency, None)
            return
        R = self.crm.model(ENTITY)
        start = (self.crm.query(ENTITY, pw.fn.MAX(R.date))
                 .where((R.currency == currency) & (R.date <= lo)).scalar())
        rows = (self.crm.query(ENTITY, R.date, R.rate, R.multiplier)
                .where((R.currency == currency) & (R.date >= (_as_date(start) or lo)) & (R.date <= hi))
                .order_by(R.date).tuples())
        values, day, current = [], lo, None
        pending = [(_as_date(d), Decimal(str(rate)) / Decimal(int(mult))) for d, rate, mult in rows]
        at = 0
        while day <= hi:
            while at < len(pending) and pending[at][0] <= day:
                current = pending[at][1]
                at += 1
            values.append(None if current is None else format(current, "f"))
            day += dt.timedelta(days=1)
        self._tables[currency] = (lo, values)


def _date_sql(day):
    import peewee as pw
    return pw.Cast(pw.Value(day.isoformat(), converter=False), "DATE")


def _Factor(conv, currency_field, date_field):
    """The conversion factor of a row, made into SQL only when its query is
    (after the report's ``check`` has loaded the rates it needs)."""
    return _factor_class()(conv, currency_field, date_field)


@functools.cache
def _factor_class():
    import peewee as pw

    class Factor(pw.ColumnBase):
        def __init__(self, conv, currency_field, date_field):
            super().__init__()
            self.conv, self.currency_field, self.date_field = conv, currency_field, date_field

        def __sql__(self, ctx):
            return ctx.sql(self.conv._factor_sql(self.currency_field, self.date_field))
    return Factor


def _as_date(value):
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def conversion(crm, params, report) -> Conversion:
    """The conversion a report's parameters ask for (``report_currency``, ``rates_on``)."""
    from .rates import currency_problem
    from crmkit import ValidationError
    to = params.get("report_currency")
    if to in (None, ""):
        return Conversion(crm, None, None, report)
    to = str(to).upper()
    problem = currency_problem(to)
    if problem:
        raise ValidationError({"report_currency": problem}, report)
    on = report_date(params) if params.get("rates_on") == "report" else None
    return Conversion(crm, to, on, report)
