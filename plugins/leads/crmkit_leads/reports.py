"""Lead reports: by source and status, and conversion by channel and by
responsible. Counted in SQL through ``crm.query`` (the access filter
applies), shaped in pandas."""
from __future__ import annotations

import pandas as pd
import peewee as pw

from crmkit import translate

from .kinds import STATUSES

ENTITY = "leads.lead"
NO_CHANNEL = "(no channel)"


def _leads(crm, *fields, date_from=None, date_to=None):
    """Visible leads of the period, with their primary interest's channel."""
    from crmkit_marketing.models import Channel, PrimaryInterest as PI
    L = crm.model(ENTITY)
    q = (crm.query(ENTITY, *fields)
         .join(PI, pw.JOIN.LEFT_OUTER, on=((PI.subject_type == ENTITY) & (PI.subject_id == L.id)))
         .join(Channel, pw.JOIN.LEFT_OUTER, on=(PI.channel == Channel.id)))
    if date_from:
        q = q.where(L.received_at >= pd.Timestamp(date_from, tz="UTC").to_pydatetime())
    if date_to:
        q = q.where(L.received_at < (pd.Timestamp(date_to, tz="UTC") + pd.Timedelta(days=1)).to_pydatetime())
    return q, L, Channel


def by_source(crm, date_from=None, date_to=None):
    """Leads per channel of primary interest and status, with totals."""
    q, L, Channel = _leads(crm, date_from=date_from, date_to=date_to)
    counts = crm.frame(q.select(Channel.name.alias("channel"), L.status, pw.fn.COUNT(L.id).alias("n"))
                       .group_by(Channel.name, L.status))
    counts["channel"] = counts["channel"].fillna(translate(NO_CHANNEL, crm.lang))
    table = (counts.pivot_table(index="channel", columns="status", values="n", aggfunc="sum", fill_value=0)
             .reindex(columns=list(STATUSES), fill_value=0)) if len(counts) else \
        pd.DataFrame(columns=list(STATUSES), index=pd.Index([], name="channel"))
    table = table.astype(int)
    table["total"] = table.sum(axis=1)
    table = table.sort_values(["total"], ascending=False).reset_index()
    total = {"channel": translate("Total", crm.lang), **{c: int(table[c].sum()) for c in [*STATUSES, "total"]}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)[["channel", *STATUSES, "total"]]


def conversion(crm, date_from=None, date_to=None):
    """Conversion rate and days to qualify, by channel and by responsible."""
    from crmkit_marketing.models import Channel  # noqa: F401
    sections = {}
    for title, label, pick in (("by channel", "channel", lambda L, C: C.name),
                               ("by responsible", "responsible", None)):
        q, L, C = _leads(crm, date_from=date_from, date_to=date_to)
        if pick is None:
            U = crm.model("core.user")
            q = q.join(U, pw.JOIN.LEFT_OUTER, on=(L.responsible == U.id))
            key = U.name
        else:
            key = pick(L, C)
        qualified = pw.fn.SUM(pw.Case(None, [(L.status == "qualified", 1)], 0))
        disqualified = pw.fn.SUM(pw.Case(None, [(L.status == "disqualified", 1)], 0))
        frame = crm.frame(q.select(key.alias(label), pw.fn.COUNT(L.id).alias("leads"),
                                   qualified.alias("qualified"), disqualified.alias("disqualified"))
                          .group_by(key))
        days = crm.frame(q.select(key.alias(label), L.received_at, L.closed_at)
                         .where((L.status == "qualified") & L.closed_at.is_null(False)))
        frame[label] = frame[label].fillna(translate(NO_CHANNEL if label == "channel" else "(nobody)", crm.lang))
        if len(days):
            days[label] = days[label].fillna(translate(NO_CHANNEL if label == "channel" else "(nobody)", crm.lang))
            days["days"] = (pd.to_datetime(days["closed_at"], utc=True)
                            - pd.to_datetime(days["received_at"], utc=True)).dt.total_seconds() / 86400
            avg = days.groupby(label)["days"].mean().round(1)
            frame["avg_days_to_qualify"] = frame[label].map(avg)
        else:
            frame["avg_days_to_qualify"] = pd.Series(dtype=float)
        for col in ("leads", "qualified", "disqualified"):
            frame[col] = frame[col].fillna(0).astype(int)
        total = {label: translate("Total", crm.lang), "leads": int(frame["leads"].sum()),
                 "qualified": int(frame["qualified"].sum()), "disqualified": int(frame["disqualified"].sum()),
                 "avg_days_to_qualify": round(float(days["days"].mean()), 1) if len(days) else None}
        frame = frame.sort_values(["leads", label], ascending=[False, True])
        frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
        frame["conversion_pct"] = (frame["qualified"] * 100 / frame["leads"].where(frame["leads"] > 0)).round(1)
        sections[title] = frame[[label, "leads", "qualified", "disqualified", "conversion_pct",
                                 "avg_days_to_qualify"]]
    return sections
