"""Claims reports. Counts and sums are aggregated in SQL through
``crm.query`` (so the access filter applies); per-claim durations for the
resolution percentiles are few and are shaped in pandas."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import peewee as pw

from crmkit import ValidationError, translate, utcnow

from . import models as m

C = m.Claim
FINAL = list(m.FINAL_STATUSES)
CENT = Decimal("0.01")


def _period(crm, query, date_from, date_to):
    """Claims registered within the period (dates inclusive, local days of the user's zone)."""
    if date_from:
        query = query.where(C.registered_at >= crm.day_start(date_from))
    if date_to:
        query = query.where(C.registered_at < crm.day_start(date_to + dt.timedelta(days=1)))
    return query


def _none_for_missing(frame, *columns):
    """Missing moments as None rather than NaT, which the renderers can show."""
    for col in columns:
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def _cents_sum(field):
    """SUM of money in whole cents: exact on SQLite too, where decimals are
    stored as REAL and a plain SUM drifts (300.29999999999995)."""
    return pw.fn.SUM(pw.Cast(pw.fn.ROUND(field * 100), "BIGINT"))


def _count_if(condition):
    return pw.fn.SUM(pw.Case(None, [(condition, 1)], 0))


def _resolve(crm, entity, key, field_name):
    try:
        return crm.get(entity, key).id
    except Exception:
        raise ValidationError({field_name: f"{key!r} not found"}, "claims.register") from None


def register(crm, date_from=None, date_to=None, status=None, client=None, cause=None, responsible=None):
    """The claim list as in the presentation, sorted by name then code."""
    P, U, K = m.Partner, m.User, m.Cause
    q = (crm.query("claims.claim", C.registered_at, C.actual_end.alias("end_date"), C.status, C.name,
                   C.code, P.name.alias("client"), _group_name(crm, K.name, "cause"),
                   _group_name(crm, U.name, "responsible"), C.planned_end)
         .join(P, on=(C.client == P.id))
         .join(K, pw.JOIN.LEFT_OUTER, on=(C.cause == K.id))
         .join(U, pw.JOIN.LEFT_OUTER, on=(C.responsible == U.id))
         .order_by(C.name, C.code))
    q = _period(crm, q, date_from, date_to)
    if status:
        q = q.where(C.status == status)
    if client:
        q = q.where(C.client == _resolve(crm, "core.partner", client, "client"))
    if cause:
        q = q.where(C.cause == _resolve(crm, "claims.cause", cause, "cause"))
    if responsible:
        q = q.where(C.responsible == _resolve(crm, "core.user", responsible, "responsible"))
    # status codes are catalogue messages: the renderer shows "Удовлетворена"
    return _none_for_missing(crm.frame(q), "end_date", "planned_end")


NOT_SET = "(not set)"


def _group_name(crm, name_field, label):
    """The group's name; claims without one fall in "(not set)"."""
    return pw.fn.COALESCE(name_field, translate(NOT_SET, crm.lang)).alias(label)


def _sorted(frame, label, crm):
    """"(not set)" first, then names in one order on every backend (SQL
    collations differ between SQLite and PostgreSQL)."""
    if frame.empty:
        return frame.reset_index(drop=True)
    not_set = translate(NOT_SET, crm.lang)
    by = [frame[label] != not_set, frame[label].astype(str)]
    order = sorted(range(len(frame)), key=lambda i: (by[0].iloc[i], by[1].iloc[i]))
    return frame.iloc[order].reset_index(drop=True)


def _breakdown(crm, label, join_model, join_on, name_field, date_from, date_to, money=None):
    """Counts by status and the satisfied share per group; compensation per
    group and currency (sums never mix currencies), or per group in the
    report currency (``report_currency``: each compensation converted at the
    rate of its claim's registration date, or of the report date)."""
    from crmkit.core.currency import conversion
    conv = conversion(crm, {"date_to": date_to, **(money or {})}, f"claims.by_{label.replace('guilty_', '')}")
    name = _group_name(crm, name_field, label)
    counts = (crm.query("claims.claim", name, pw.fn.COUNT(C.id).alias("claims"),
                        _count_if(C.status.not_in(FINAL)).alias("open"),
                        _count_if(C.status == "satisfied").alias("satisfied"),
                        _count_if(C.status == "partly_satisfied").alias("partly_satisfied"),
                        _count_if(C.status == "not_satisfied").alias("not_satisfied"))
              .join(join_model, pw.JOIN.LEFT_OUTER, on=join_on)
              .group_by(name_field).order_by(name_field))
    frame = crm.frame(_period(crm, counts, date_from, date_to))
    for col in ("claims", "open", "satisfied", "partly_satisfied", "not_satisfied"):
        frame[col] = frame[col].fillna(0).astype(int)
    closed = frame["claims"] - frame["open"]
    # share of the closed claims that were fully satisfied, in percent
    frame["satisfied_share"] = (frame["satisfied"] * 100.0 / closed.where(closed > 0)).round(1)
    frame = _sorted(frame, label, crm)
    conv.check(_period(crm, crm.query("claims.claim").where(C.compensation > 0), date_from, date_to),
               C.currency, C.registered_at)
    cents = pw.fn.SUM(conv.cents(C.compensation, C.currency, C.registered_at)) if conv.active \
        else _cents_sum(C.compensation)
    money = (crm.query("claims.claim", name, conv.currency(C.currency).alias("currency"), cents.alias("cents"),
                       _count_if(C.compensation > 0).alias("compensated"))
             .join(join_model, pw.JOIN.LEFT_OUTER, on=join_on)
             .where(C.compensation > 0)
             .group_by(name_field, *conv.keys(C.currency)).order_by(name_field, *conv.keys(C.currency)))
    compensation = crm.frame(_period(crm, money, date_from, date_to))
    compensation["compensated"] = compensation["compensated"].astype(int)
    compensation.insert(2, "compensation", [(Decimal(int(c)) / 100).quantize(CENT) for c in compensation.pop("cents")])
    compensation = _sorted(compensation, label, crm)
    return {"main": frame, "compensation": compensation}


def by_cause(crm, date_from=None, date_to=None, **money):
    return _breakdown(crm, "cause", m.Cause, C.cause == m.Cause.id, m.Cause.name, date_from, date_to, money)


def by_department(crm, date_from=None, date_to=None, **money):
    return _breakdown(crm, "guilty_department", m.Department, C.guilty_department == m.Department.id,
                      m.Department.name, date_from, date_to, money)


def by_employee(crm, date_from=None, date_to=None, **money):
    return _breakdown(crm, "guilty_employee", m.User, C.guilty_employee == m.User.id, m.User.name,
                      date_from, date_to, money)


def _counts(crm, label, join_model, join_on, name_field, at, date_from, date_to):
    """Claims, closed, overdue (open past planned end at ``at``) and closed
    late, per group; over all claims when ``label`` is None."""
    aggregates = (pw.fn.COUNT(C.id).alias("claims"),
                  _count_if(C.status.in_(FINAL)).alias("closed"),
                  _count_if(C.status.not_in(FINAL) & (C.planned_end < at)).alias("overdue"),
                  _count_if(C.status.in_(FINAL) & (C.actual_end > C.planned_end)).alias("closed_late"))
    if label is None:
        q = crm.query("claims.claim", *aggregates)
    else:
        q = (crm.query("claims.claim", _group_name(crm, name_field, label), *aggregates)
             .join(join_model, pw.JOIN.LEFT_OUTER, on=join_on)
             .group_by(name_field).order_by(name_field))
    frame = crm.frame(_period(crm, q, date_from, date_to))
    for col in ("claims", "closed", "overdue", "closed_late"):
        frame[col] = frame[col].fillna(0).astype(int)
    return frame if label is None else _sorted(frame, label, crm)


def _days(durations, label):
    """Average and 90th percentile (linear interpolation) days to close."""
    if durations.empty:
        return pd.DataFrame(columns=[label, "avg_days", "p90_days"])
    grouped = durations.groupby(label)["days"]
    out = pd.DataFrame({"avg_days": grouped.mean(), "p90_days": grouped.quantile(0.9)}).reset_index()
    out[["avg_days", "p90_days"]] = out[["avg_days", "p90_days"]].astype(float).round(2)
    return out


def resolution(crm, date_from=None, date_to=None, at=None):
    """Time to close by cause and by responsible; overdue as of ``at``."""
    at = at or utcnow()
    K, U = m.Cause, m.User
    closed = (crm.query("claims.claim", _group_name(crm, K.name, "cause"),
                        _group_name(crm, U.name, "responsible"), C.registered_at, C.actual_end)
              .join(K, pw.JOIN.LEFT_OUTER, on=(C.cause == K.id))
              .join(U, pw.JOIN.LEFT_OUTER, on=(C.responsible == U.id))
              .where(C.status.in_(FINAL) & C.actual_end.is_null(False)))
    durations = crm.frame(_period(crm, closed, date_from, date_to))
    if len(durations):
        spent = pd.to_datetime(durations["actual_end"], utc=True) - pd.to_datetime(durations["registered_at"], utc=True)
        durations["days"] = spent.dt.total_seconds() / 86400.0
    else:
        durations["days"] = pd.Series(dtype=float)
    sections = {}
    for label, model, join_on, field in (("cause", K, C.cause == K.id, K.name),
                                         ("responsible", U, C.responsible == U.id, U.name)):
        counts = _counts(crm, label, model, join_on, field, at, date_from, date_to)
        sections[f"by {label}"] = counts.merge(_days(durations, label), on=label, how="left")
    total = _counts(crm, None, None, None, None, at, date_from, date_to)
    overall = _days(durations.assign(total="all"), "total")
    total["avg_days"] = overall["avg_days"].iloc[0] if len(overall) else None
    total["p90_days"] = overall["p90_days"].iloc[0] if len(overall) else None
    sections["total"] = total
    return sections
