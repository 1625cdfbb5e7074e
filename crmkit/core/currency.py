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
import os

ENTITY = "core.currency_rate"
BASES = ("own", "report")
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
        """What one unit of the row's currency is in the report currency, as SQL."""
        import peewee as pw
        day = pw.Value(self.on) if self.on is not None else date_field
        own = pw.Case(None, [(currency_field == self.base, 1.0)], self._rate(currency_field, day))
        if self.to != self.base:
            own = own / self._rate(self.to, day)
        return pw.Case(None, [(currency_field == self.to, 1.0)], own)

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
        needs = dict(query.select(currency_field, pw.fn.MIN(date_field))
                     .where(currency_field != self.to).group_by(currency_field).order_by().tuples())
        needs = {cur: _as_date(day) for cur, day in needs.items() if cur and day is not None}
        if not needs:
            return
        if self.on is not None:
            needs = {cur: self.on for cur in needs}
        wanted = {cur: day for cur, day in needs.items() if cur != self.base}
        if self.to != self.base:
            wanted[self.to] = min(needs.values())
        R = self.crm.model(ENTITY)
        first = dict(self.crm.query(ENTITY, R.currency, pw.fn.MIN(R.date))
                     .where(R.currency.in_(sorted(wanted))).group_by(R.currency).tuples())
        for cur in sorted(wanted):
            day, earliest = wanted[cur], _as_date(first.get(cur))
            if earliest is None or earliest > day:
                raise ValidationError({"report_currency": f"no {cur} exchange rate on or before {day.isoformat()}: "
                                       f"load one (crmkit rates load cbr --date {day.isoformat()}) or import "
                                       f"core.currency_rate"}, self.report)


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
