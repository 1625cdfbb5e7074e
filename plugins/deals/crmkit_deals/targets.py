"""Plan and actual: sales targets against the deals won in their month or
quarter, and the forecast (won + the weighted potential of deals in work
expected to close in the period).

The actuals are two GROUP BYs through ``crm.query("deals.deal")`` (so the
acting user's access applies): won deals by month of their close, and deals
in work by month of their expected end, each by responsible, the
responsible's department and kind. Each target then takes the sum of the
groups in its period whose responsible, department and kind match the ones
it names (an empty one matches any): one pandas merge per combination of
named fields, never a loop over deals. Months are those of the close moment
in UTC.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import peewee as pw

from crmkit import ValidationError, translate

from . import models as m
from .api import resolve

D, T, K = m.Deal, m.Target, m.Kind
SCOPE = ("responsible_id", "department_id", "kind_id")
REPORT = "deals.plan_actual"
COLUMNS = ["Period", "Responsible", "Department", "Deal kind", "Currency",
           "Target amount", "Won amount", "Completion, %",
           "Target won deals", "Won deals", "Completion by deals, %",
           "Weighted potential in work", "Forecast amount", "Forecast completion, %"]


def _month(crm, field):
    """'YYYY-MM' of a date or moment, in the database's dialect."""
    if isinstance(crm.db, pw.SqliteDatabase):
        return pw.fn.strftime("%Y-%m", field)
    return pw.fn.to_char(field, "YYYY-MM")


def _period_of(months: pd.Series, period: str) -> pd.Series:
    """The first day of the month or quarter of 'YYYY-MM' texts, as ISO dates."""
    year, month = months.str[:4].astype(int), months.str[5:7].astype(int)
    if period == "quarter":
        month = (month - 1) // 3 * 3 + 1
    return year.astype(str) + "-" + month.map("{:02d}".format) + "-01"


def _targets(crm, conv, params):
    U, Dep = crm.model("core.user"), crm.model("core.department")
    q = (crm.query("deals.target", T.id, T.period, T.period_start, T.responsible.alias("responsible_id"),
                   T.department.alias("department_id"), T.kind.alias("kind_id"),
                   pw.fn.COALESCE(U.name, "").alias("responsible"), pw.fn.COALESCE(Dep.name, "").alias("department"),
                   pw.fn.COALESCE(K.name, "").alias("kind"),
                   conv.amount(T.amount, T.currency, T.period_start).alias("amount"),
                   conv.currency(T.currency).alias("currency"), T.won_deals)
         .join(U, pw.JOIN.LEFT_OUTER, on=(T.responsible == U.id))
         .switch(T).join(Dep, pw.JOIN.LEFT_OUTER, on=(T.department == Dep.id))
         .switch(T).join(K, pw.JOIN.LEFT_OUTER, on=(T.kind == K.id))
         .order_by(T.period_start, T.period, pw.fn.COALESCE(U.name, ""), pw.fn.COALESCE(Dep.name, ""),
                   pw.fn.COALESCE(K.name, ""), T.id))   # "any" first on every database (NULLs sort apart)
    if params.get("date_from"):
        q = q.where(T.period_start >= params["date_from"])
    if params.get("date_to"):
        q = q.where(T.period_start <= params["date_to"])
    if params.get("period"):
        q = q.where(T.period == params["period"])
    for name, entity in (("responsible", "core.user"), ("department", "core.department"), ("kind", "deals.kind")):
        if params.get(name) not in (None, ""):
            q = q.where(getattr(T, name) == resolve(crm, entity, params[name], name))
    conv.check(q.clone(), T.currency, T.period_start)
    return crm.frame(q)


def _actuals(crm, conv, months, date_field, status):
    """Deals of ``status`` grouped by month of ``date_field``, responsible,
    department and kind: count, potential (converted when asked) and the
    potential weighted by probability, for the months ``months``."""
    U = crm.model("core.user")
    month = _month(crm, date_field)
    amount = conv.amount(D.potential, D.currency, D.start_date)
    base = (crm.query("deals.deal").join(U, pw.JOIN.LEFT_OUTER, on=(D.responsible == U.id))
            .where((D.status == status) & month.in_(sorted(months))))
    conv.check(base.clone(), D.currency, D.start_date)
    q = base.select(month.alias("month"), D.responsible.alias("responsible_id"), U.department.alias("department_id"),
                    D.kind.alias("kind_id"), conv.currency(D.currency).alias("currency"),
                    pw.fn.COUNT(D.id).alias("n"), pw.fn.SUM(amount).alias("amount"),
                    pw.fn.SUM(amount * D.probability / 100.0).alias("weighted")
                    ).group_by(month, D.responsible, U.department, D.kind, *conv.keys(D.currency))
    return crm.frame(q)


def _cents(values) -> np.ndarray:
    """Sums (floats on SQLite, Decimals on PostgreSQL, None) as whole cents, half up."""
    out = np.zeros(len(values), dtype="int64")
    for i, v in enumerate(values):   # per target row (a few hundred), not per deal
        if v is not None and v == v:
            out[i] = int(Decimal(str(v)).quantize(Decimal("0.01"), ROUND_HALF_UP).scaleb(2))
    return out


def _matched(targets, actual, columns):
    """For each target, the sums of ``columns`` of the actual groups of its
    period whose scope fields match the target's named ones."""
    sums = pd.DataFrame(0, index=targets.index, columns=columns, dtype=object)
    if not len(actual) or not len(targets):
        return sums
    named = targets[list(SCOPE)].notna()
    for pattern, rows in targets.groupby([named[c] for c in SCOPE]).groups.items():
        keys = [c for c, on in zip(SCOPE, pattern) if on]
        part = targets.loc[rows]
        for kind in part["period"].unique():
            chosen = part[part["period"] == kind]
            grouped = actual.assign(period_start=_period_of(actual["month"], kind))
            totals = grouped.groupby(["period_start", *keys], dropna=False)[columns].sum().reset_index()
            left = chosen[["period_start", *keys]].assign(period_start=chosen["period_start"].astype(str))
            for key in keys:
                left[key] = left[key].astype("int64")
                totals = totals[totals[key].notna()].astype({key: "int64"})
            found = left.reset_index().merge(totals, on=["period_start", *keys], how="left").set_index("index")
            for col in columns:
                sums.loc[found.index, col] = found[col].where(found[col].notna(), 0).tolist()
    return sums


def _pct(part, whole):
    if whole is None or whole != whole or not whole:
        return None
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(Decimal("0.01"), ROUND_HALF_UP)


def plan_actual(crm, **params):
    """Per target: the target amount and number of won deals, what was won
    in its period, the completion %, and the forecast."""
    from crmkit.core.currency import conversion
    conv = conversion(crm, params, REPORT)
    targets = _targets(crm, conv, params)
    if not len(targets):
        return {"Plan and actual": pd.DataFrame(columns=COLUMNS)}
    months = set()
    for start, kind in zip(targets["period_start"], targets["period"]):
        for i in range(3 if kind == "quarter" else 1):
            months.add(f"{start.year}-{start.month + i:02d}")
    won = _actuals(crm, conv, months, D.closed_at, "won")
    pipeline = _actuals(crm, conv, months, D.end_date, "in_work")
    if not conv.active:
        found = set(won["currency"]) | set(pipeline["currency"])
        wanted = set(targets.loc[targets["amount"].notna(), "currency"])
        if len(found | wanted) > 1:
            raise ValidationError({"report_currency": f"targets and deals are in several currencies "
                                   f"({', '.join(sorted(found | wanted))}): choose report_currency=..."}, REPORT)
    won_sums = _matched(targets, won, ["n", "amount"])
    pipe_sums = _matched(targets, pipeline, ["weighted"])
    target_cents, won_cents = _cents(targets["amount"].tolist()), _cents(won_sums["amount"].tolist())
    weighted_cents = _cents(pipe_sums["weighted"].tolist())
    money = lambda cents: [Decimal(int(c)).scaleb(-2) for c in cents]   # noqa: E731
    has_amount = targets["amount"].notna().to_numpy()
    has_count = targets["won_deals"].notna().to_numpy()
    any_label = translate("(any)", crm.lang)
    target_amount, won_amount = money(target_cents), money(won_cents)
    forecast = money(won_cents + weighted_cents)
    won_n = won_sums["n"].astype("int64").to_numpy()
    frame = pd.DataFrame({
        "Period": [_period_label(s, k, crm.lang) for k, s in zip(targets["period"], targets["period_start"])],
        "Responsible": targets["responsible"].where(targets["responsible"] != "", any_label),
        "Department": targets["department"].where(targets["department"] != "", any_label),
        "Deal kind": targets["kind"].where(targets["kind"] != "", any_label),
        "Currency": targets["currency"],
        "Target amount": [a if h else None for a, h in zip(target_amount, has_amount)],
        "Won amount": won_amount,
        "Completion, %": [_pct(w, t) if h else None for w, t, h in zip(won_amount, target_amount, has_amount)],
        "Target won deals": pd.Series([int(v) if h else None for v, h in zip(targets["won_deals"], has_count)],
                                      dtype=object),
        "Won deals": won_n,
        "Completion by deals, %": [_pct(n, t) if h else None for n, t, h in zip(won_n, targets["won_deals"], has_count)],
        "Weighted potential in work": money(weighted_cents),
        "Forecast amount": forecast,
        "Forecast completion, %": [_pct(f, t) if h else None for f, t, h in zip(forecast, target_amount, has_amount)],
    }, columns=COLUMNS)
    return {"Plan and actual": frame}


def _period_label(start, kind, lang):
    """"March 2015", "Q1 2015" (in Russian "март 2015", "1-й кв. 2015")."""
    from babel.dates import format_date
    return format_date(start, "QQQ yyyy" if kind == "quarter" else "LLLL yyyy", locale=lang or "en")
