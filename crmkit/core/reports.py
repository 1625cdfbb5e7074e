"""Core reports: interactions by kind and responsible, the task list,
partners by region. Aggregated in SQL, shaped in pandas."""
from __future__ import annotations

import peewee as pw

from crmkit import ChartSpec, ReportSpec

from . import models as m

PERIOD = {"date_from": {"type": "date", "coerce": "date", "nullable": True},
          "date_to": {"type": "date", "coerce": "date", "nullable": True}}


def _period(crm, query, field, date_from, date_to):
    """Rows whose moment ``field`` falls on the period's days (local days of the user's zone)."""
    import datetime as dt
    if date_from:
        query = query.where(field >= crm.day_start(date_from))
    if date_to:
        query = query.where(field < crm.day_start(date_to + dt.timedelta(days=1)))
    return query


def interactions(crm, date_from=None, date_to=None):
    """Interactions by kind, direction and responsible. Counted per
    responsible's id first, then named: the users are joined to the few
    groups, not to every interaction."""
    I, U = m.Interaction, m.User
    counts = _period(crm, crm.query("core.interaction", I.kind, I.direction, I.responsible.alias("responsible_id"),
                               pw.fn.COUNT(I.id).alias("n"), pw.fn.SUM(I.duration).alias("minutes"))
                     .group_by(I.kind, I.direction, I.responsible), I.date, date_from, date_to).alias("counts")
    q = (U.select(counts.c.kind, counts.c.direction, pw.fn.COALESCE(U.name, "").alias("responsible"),
                  pw.Cast(pw.fn.SUM(counts.c.n), "BIGINT").alias("count"),
                  pw.Cast(pw.fn.COALESCE(pw.fn.SUM(counts.c.minutes), 0), "BIGINT").alias("minutes"))
         .from_(counts).join(U, pw.JOIN.LEFT_OUTER, on=(counts.c.responsible_id == U.id))
         .group_by(counts.c.kind, counts.c.direction, U.name).order_by(counts.c.kind, counts.c.direction, U.name))
    frame = crm.frame(q)
    frame["direction"] = frame["direction"].fillna("")
    by_kind = frame.groupby("kind", as_index=False)["count"].sum() if len(frame) else frame[["kind", "count"]]
    return {"by kind": by_kind, "detail": frame}


def tasks(crm, performer=None, include_done=False):
    from crmkit import utcnow
    T, U = m.Task, m.User
    P = U.alias("p")
    q = (crm.query("core.task", T.number, T.created_at, T.title, U.name.alias("author"),
                   P.name.alias("performer"), T.due, T.priority, T.state, T.done_at)
         .join(U, pw.JOIN.LEFT_OUTER, on=(T.author == U.id))
         .join(P, pw.JOIN.LEFT_OUTER, on=(T.performer == P.id))
         .order_by(T.number))
    if performer:
        q = q.where(P.login == performer)
    if not include_done:
        q = q.where(T.state != "done")
    frame = crm.frame(q)
    import pandas as pd
    now = utcnow().replace(tzinfo=None)
    due = pd.to_datetime(frame["due"], utc=True).dt.tz_localize(None) if len(frame) else frame["due"]
    frame["overdue"] = (frame["state"] != "done") & due.notna() & (due < now) if len(frame) else []
    return frame


def partners_by_region(crm):
    P, R = m.Partner, m.Region
    q = (crm.query("core.partner", pw.fn.COALESCE(R.name, "").alias("region"),
                   pw.fn.SUM(pw.Case(None, [(P.is_client == True, 1)], 0)).alias("clients"),  # noqa: E712
                   pw.fn.COUNT(P.id).alias("partners"))
         .join(R, pw.JOIN.LEFT_OUTER, on=(P.region == R.id)).group_by(R.name).order_by(R.name))
    return crm.frame(q)


REPORTS = [
    ReportSpec("core.interactions", "Interactions", interactions, params=PERIOD,
               question="How many calls, meetings and letters, of what kind, and by whom?",
               labels={"by kind": "By kind", "detail": "In detail", "kind": "Kind of interaction",
                       "direction": "Direction", "responsible": "Responsible", "count": "Number of interactions",
                       "minutes": "Minutes"},
               charts=(ChartSpec("bar", section="by kind", x="kind", y="count", title="Interactions by kind"),)),
    ReportSpec("core.tasks", "Tasks", tasks,
               question="Which tasks are open, who performs them, and which are overdue?",
               labels={"number": "Number", "created_at": "Created", "title": "Task", "author": "Author",
                       "performer": "Performer", "due": "Due", "priority": "Priority", "state": "State",
                       "done_at": "Done at", "overdue": "Overdue", "include_done": "Including done tasks"},
               params={"performer": {"type": "string", "nullable": True},
                       "include_done": {"type": "boolean", "coerce": "bool"}}),
    ReportSpec("core.partners_by_region", "Partners by region", partners_by_region,
               question="How many partners and clients does each business region hold?",
               labels={"region": "Business region", "clients": "Number of clients", "partners": "Number of partners"},
               charts=(ChartSpec("bar", x="region", y=("partners", "clients"), title="Partners by region"),)),
]
