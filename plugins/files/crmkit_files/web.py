"""The files plugin's web pages: a Files tab on the card of every subject
that may hold files, and the download (as an attachment, never rendered:
a stored HTML file must not run in crmkit's origin)."""
from __future__ import annotations

from crmkit_web.ui import CardTab, Page, render_fragment

SUBJECTS = ("core.partner", "core.interaction", "deals.deal", "marketing.event", "claims.claim", "leads.lead")


def files_tab(crm, record):
    from .store import listing
    entity = next(s.name for s in crm.registry.entities.values() if isinstance(record, s.model))
    return render_fragment("files/tab.html", files=listing(crm, (entity, record.get_id())))


def download(key):
    from urllib.parse import quote

    from flask import Response

    from crmkit_web.ui import crm
    from .store import content
    record, data = content(crm(), key)
    return Response(data, mimetype="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(record.name)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


def register_pages(register):
    for entity in SUBJECTS:
        register(CardTab(entity, "files", "Files", files_tab, order=80, entity_read="files.file"))
    register(Page("/files/<int:key>", "files.download", download))
