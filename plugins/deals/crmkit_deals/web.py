"""The deals plugin's web pages, registered through the web plugin's
``crmkit_register_pages`` (imported only when the web plugin is installed):
the deal card's route map panel (stages of its kind, stage history, the
current route point's tasks, participants, primary demand), the partner
card's Deals tab, and the pipeline board, where dropping a card on a column
runs ``deals.move`` / ``deals.win`` / ``deals.lose`` — the same actions as
the card's buttons, the API and the CLI — and a refusal puts it back.
"""
from __future__ import annotations

import peewee as pw

from crmkit import translate
from crmkit_web.ui import CardTab, MenuEntry, Page, crm as current_crm, render, render_fragment
from crmkit_web.ui.entities import table

from . import api, models as m
from .rules import route

CARDS = 40        # cards shown per column; the column's count and sum cover all


def deal_panel(crm, deal):
    cols_p = ["partner", "contact", "role"]
    cols_d = ["product", "quantity", "price", "amount"] if "price" in m.Demand._meta.fields else ["product", "quantity"]
    H = m.StageHistory
    history = list(crm.query("deals.stage_history").where(H.deal == deal.id).order_by(H.entered_at, H.id))
    return render_fragment(
        "deals/web/deal_panel.html", deal=deal, route=api.route_map(crm, deal.id) if deal.kind_id else [],
        history=table(crm, crm.registry.entity("deals.stage_history"), history,
                      ["stage", "status", "entered_at", "left_at", "days", "user"]),
        tasks=table(crm, crm.registry.entity("core.task"), api.open_stage_tasks(crm, deal.id),
                    ["number", "title", "performer", "due", "route_point"]) if deal.status == "in_work" else [],
        participants=table(crm, crm.registry.entity("deals.participant"),
                           crm.find("deals.participant", deal=deal.id), cols_p), cols_p=cols_p,
        demand=table(crm, crm.registry.entity("deals.demand"), crm.find("deals.demand", deal=deal.id), cols_d),
        cols_d=cols_d)


def partner_deals(crm, partner):
    cols = ["code", "name", "status", "stage", "potential", "currency", "responsible", "start_date"]
    rows = crm.find("deals.deal", client=partner.id, order_by="-start_date", limit=200)
    return render_fragment("web/core/related.html", entity="deals.deal", partner=partner, columns=cols,
                           rows=table(crm, crm.registry.entity("deals.deal"), rows, cols),
                           new_args={"client": partner.id}, can_create=crm.can("create", "deals.deal"))


def board():
    """The pipeline of one deal kind: a column per stage of its route, and
    Won and Lost. Counts and sums per column are one GROUP BY through the
    user's access; each column shows its largest deals."""
    from flask import request
    crm = current_crm()
    D = m.Deal
    kinds = list(crm.query("deals.kind").where(m.Kind.process != "none").order_by(m.Kind.name))
    kind_id = request.args.get("kind", type=int) or (kinds[0].id if kinds else None)
    kind = next((k for k in kinds if k.id == kind_id), None)
    stages = route(kind.id) if kind else []
    mine = request.args.get("mine") == "1"
    base = crm.query("deals.deal").where(D.kind == kind_id)
    if mine:
        base = base.where(D.responsible == crm.actor.id)
    open_deals = base.where(D.status == "in_work")
    totals = {row[0]: (row[1], row[2]) for row in
              open_deals.select(D.stage, pw.fn.COUNT(D.id), pw.fn.SUM(D.potential)).group_by(D.stage).tuples()}
    closed = {row[0]: (row[1], row[2]) for row in base.where(D.status != "in_work").select(
        D.status, pw.fn.COUNT(D.id), pw.fn.SUM(D.potential)).group_by(D.status).tuples()}
    columns = []
    for ks in stages:
        cards = list(open_deals.where(D.stage == ks.stage_id).order_by(D.potential.desc(), D.id).limit(CARDS))
        count, total = totals.get(ks.stage_id, (0, 0))
        columns.append({"key": f"stage-{ks.stage_id}", "title": ks.stage.name, "action": "deals.move",
                        "stage": ks.stage_id, "cards": cards, "count": count, "total": total or 0, "css": ""})
    for status, action, title in (("won", "deals.win", "won"), ("lost", "deals.lose", "lost")):
        cards = list(base.where(D.status == status).order_by(D.closed_at.desc(nulls="LAST"), D.id.desc()).limit(CARDS))
        count, total = closed.get(status, (0, 0))
        columns.append({"key": status, "title": translate(title, crm.lang), "action": action, "stage": "",
                        "cards": cards, "count": count, "total": total or 0, "css": status,
                        "param": "reason" if status == "lost" else "",
                        "prompt": translate("Loss reason", crm.lang) if status == "lost" else ""})
    reasons = [r.name for r in crm.find("deals.loss_reason")] if crm.can("read", "deals.loss_reason") else []
    return render("deals/web/board.html", title=translate("Pipeline board", crm.lang), kinds=kinds, kind=kind,
                  columns=columns, mine=mine, reasons=reasons)


def register_pages(register):
    register(CardTab("deals.deal", "route", "Route map", deal_panel, panel=True))
    register(CardTab("core.partner", "deals", "Deals", partner_deals, order=40, entity_read="deals.deal"))
    register(Page("/deals/board", "deals.board", board))
    register(MenuEntry("Sales", "Pipeline board", "deals.board", entity="deals.deal", order=10))
    register(MenuEntry("Sales", "My deals in work", "entity:deals.deal", entity="deals.deal", order=20,
                       filters=lambda crm: {"responsible": crm.actor.id or "", "status": "in_work"}))
