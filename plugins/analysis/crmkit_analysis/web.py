"""The analysis plugin's web page, through the web plugin's
``crmkit_register_pages``: the partner card's classification history
(ABC/XYZ classes per run, newest first)."""
from __future__ import annotations

from crmkit_web.ui import CardTab, render_fragment
from crmkit_web.ui.entities import table

from . import models as m


def partner_classes(crm, partner):
    C = m.ClientClass
    cols = ["as_of", "abc_class", "xyz_class", "run"]
    rows = list(crm.query("analysis.client_class").where(C.partner == partner.id)
                .order_by(C.as_of.desc(), C.id.desc()).limit(200))
    return render_fragment("web/core/related.html", entity="analysis.client_class", partner=partner, columns=cols,
                           rows=table(crm, crm.registry.entity("analysis.client_class"), rows, cols),
                           new_args=None, can_create=False, note=None)


def register_pages(register):
    register(CardTab("core.partner", "classes", "Classification history", partner_classes, order=80,
                     entity_read="analysis.client_class"))
