"""The claims plugin's web pages, through the web plugin's
``crmkit_register_pages``: the claim card's work plan and results panel
(plan stages with their results, status changes, participants) and the
partner card's Claims tab. Registering a claim is the generic create form;
resolving it and completing plan stages are the claim's actions."""
from __future__ import annotations

from crmkit_web.ui import CardTab, MenuEntry, render_fragment
from crmkit_web.ui.entities import table

from . import models as m
from .kinds import FINAL_STATUSES, STATUSES


def claim_panel(crm, claim):
    S, C = m.Stage, m.StatusChange
    stage_cols = ["position", "title", "responsible", "due", "done", "done_at", "result"]
    change_cols = ["at", "login", "old_status", "new_status"]
    stages = list(crm.query("claims.stage").where(S.claim == claim.id).order_by(S.position))
    changes = list(crm.query("claims.status_change").where(C.claim == claim.id).order_by(C.at, C.id))
    people_cols = ["user", "contact", "role"]
    return render_fragment("claims/web/claim_panel.html", claim=claim,
                           stages=table(crm, crm.registry.entity("claims.stage"), stages, stage_cols),
                           stage_cols=stage_cols,
                           changes=table(crm, crm.registry.entity("claims.status_change"), changes, change_cols),
                           change_cols=change_cols,
                           people=table(crm, crm.registry.entity("claims.participant"),
                                        crm.find("claims.participant", claim=claim.id), people_cols),
                           people_cols=people_cols)


def partner_claims(crm, partner):
    cols = ["code", "name", "status", "cause", "responsible", "created_at"]
    rows = crm.find("claims.claim", client=partner.id, order_by="-id", limit=200)
    return render_fragment("web/core/related.html", entity="claims.claim", partner=partner, columns=cols,
                           rows=table(crm, crm.registry.entity("claims.claim"), rows, cols),
                           new_args={"client": partner.id}, can_create=crm.can("create", "claims.claim"))


def register_pages(register):
    register(CardTab("claims.claim", "plan", "Work plan", claim_panel, panel=True))
    register(CardTab("core.partner", "claims", "Claims", partner_claims, order=50, entity_read="claims.claim"))
    register(MenuEntry("Claims", "Open claims", "entity:claims.claim", entity="claims.claim", order=10,
                       filters=lambda crm: {"status__in": ",".join(s for s in STATUSES if s not in FINAL_STATUSES)}))
