"""What a deal's writes set off: stage history rows, process tasks, events.

Runs inside the write's transaction (from ``crmkit_entity_saved``), so a
failure here undoes the write.
"""
from __future__ import annotations

import datetime as dt
import logging

from crmkit import ValidationError

from . import context
from . import models as m
from .rules import days_between, route

log = logging.getLogger(__name__)

H = m.StageHistory


def _open_row(deal, moment, user, passage):
    H.create(deal=deal.id, stage=deal.stage_id, status=deal.status, passage=passage,
             entered_at=moment, user=user)


def _close_open_rows(deal, moment):
    H.update(left_at=moment).where((H.deal == deal.id) & H.left_at.is_null()).execute()


def _end_passage(deal, moment):
    """The stage passage in progress ends now: record its length in days."""
    row = (H.select().where((H.deal == deal.id) & (H.passage == True))  # noqa: E712
           .order_by(H.entered_at.desc(), H.id.desc()).first())
    if row is not None:
        row.days = days_between(moment, row.entered_at)
        row.save(only=[H.days])


def deal_saved(crm, deal, created, changes):
    moment = context.moment()
    user = crm.actor.id
    if created:
        _open_row(deal, moment, user, passage=deal.stage_id is not None)
        if deal.stage_id is not None and deal.status == "in_work":
            create_stage_tasks(crm, deal, moment)
        return
    stage_changed, status_changed = "stage" in changes, "status" in changes
    if not (stage_changed or status_changed):
        return
    _close_open_rows(deal, moment)
    was_in_work = changes["status"][0] == "in_work" if status_changed else deal.status == "in_work"
    if deal.stage_id is not None or stage_changed:
        if was_in_work and (stage_changed or deal.status != "in_work"):
            _end_passage(deal, moment)
    _open_row(deal, moment, user, passage=stage_changed and deal.stage_id is not None)
    if stage_changed:
        if deal.status == "in_work" and deal.stage_id is not None:
            create_stage_tasks(crm, deal, moment)
        crm.pm.hook.crmkit_deal_stage_changed(crm=crm, deal=deal, old_stage=changes["stage"][0],
                                              new_stage=deal.stage_id)
    if status_changed:
        if deal.status != "in_work":
            stop_open_tasks(crm, deal)
        crm.pm.hook.crmkit_deal_status_changed(crm=crm, deal=deal, old_status=changes["status"][0],
                                               new_status=deal.status)


def kind_stage_of(deal):
    if deal.stage_id is None or deal.kind_id is None:
        return None
    return m.KindStage.get_or_none((m.KindStage.kind == deal.kind_id) & (m.KindStage.stage == deal.stage_id))


def route_point_of(kind_stage) -> str:
    return (kind_stage.route_point or kind_stage.stage.name)[:100]


def create_stage_tasks(crm, deal, moment):
    """Entering a stage of a process-driven kind gives the responsible its task(s)."""
    kind = m.Kind.get_by_id(deal.kind_id)
    if kind.process != "process":
        return []
    ks = kind_stage_of(deal)
    point = route_point_of(ks)
    templates = [line for line in ks.tasks.splitlines() if line.strip()] or ["{{ route_point }}: {{ deal }}"]
    values = {"deal": deal.name, "client": deal.client.name, "stage": ks.stage.name, "route_point": point}
    due = moment + dt.timedelta(days=ks.task_days)
    created = []
    for template in templates:
        try:
            title = crm.render_template(template, values, field="tasks", entity="deals.deal")[:300]
        except ValidationError as exc:  # a bad stage template never stops the deal: the task says why
            log.warning("deal %s: task template of %s refused: %s", deal.id, ks.stage.name, exc)
            title = f"{point}: {deal.name}"[:300]
        created.append(crm.create("core.task", {
            "title": title, "performer": deal.responsible_id, "due": due, "route_point": point,
            "subject": ("deals.deal", deal.id),
            "description": f"{kind.name}: {ks.stage.name}"}))
    if context.explicit_moment() is not None:   # a move recorded at a past moment: its tasks are set then
        date_tasks(crm, [t.id for t in created], created_at=moment, changed_at=moment)
    return created


def date_tasks(crm, ids, **moments):
    """Stamp the process's own tasks with the moment the deal's move was
    recorded at (``created_at``, ``done_at`` ...) instead of the moment the
    write happens: a history loaded in 2026 still shows 2015's tasks."""
    if ids:
        T = crm.model("core.task")
        T.update(**moments).where(T.id.in_(list(ids))).execute()


def open_stage_tasks(crm, deal):
    """The unfinished tasks of the deal's current route point."""
    ks = kind_stage_of(deal)
    if ks is None:
        return []
    T = crm.model("core.task")
    return list(crm.query("core.task").where((T.subject_type == "deals.deal") & (T.subject_id == deal.id)
                                             & (T.route_point == route_point_of(ks)) & (T.state != "done"))
                .order_by(T.id))


def stop_open_tasks(crm, deal):
    T = crm.model("core.task")
    for task in crm.query("core.task").where((T.subject_type == "deals.deal") & (T.subject_id == deal.id)
                                             & (T.route_point != "") & (T.state == "active")):
        crm.update("core.task", task.id, {"state": "stopped"})
        if context.explicit_moment() is not None:
            date_tasks(crm, [task.id], changed_at=context.moment())


def task_saved(crm, task, changes):
    """A process task was completed: when the stage has none left, move on."""
    if "state" not in changes or task.state != "done" or task.subject_type != "deals.deal" or not task.route_point:
        return
    query = m.Deal.select().where(m.Deal.id == task.subject_id)
    if crm.db.for_update:   # PostgreSQL: read the deal under its write lock (SQLite's transaction has it)
        query = query.for_update()
    deal = query.first()
    if deal is None or deal.status != "in_work" or deal.kind_id is None:
        return
    if m.Kind.select(m.Kind.process).where(m.Kind.id == deal.kind_id).scalar() != "process":
        return
    ks = kind_stage_of(deal)
    if ks is None or route_point_of(ks) != task.route_point or open_stage_tasks(crm, deal):
        return
    stages = route(deal.kind_id)
    later = [s for s in stages if s.sequence > ks.sequence]
    if later:
        with context.acting(process=True):
            crm.update("deals.deal", deal.id, {"stage": later[0].stage_id})
