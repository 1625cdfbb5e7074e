"""The files plugin's web pages: a Files tab on the card of every subject
that may hold files, and the download (as an attachment, never rendered:
a stored HTML file must not run in crmkit's origin)."""
from __future__ import annotations

from crmkit_web.ui import CardTab, Page, render_fragment

SUBJECTS = ("core.partner", "core.interaction", "deals.deal", "marketing.event", "marketing.template", "claims.claim",
            "leads.lead")


def _entity_of(crm, record):
    return next(s.name for s in crm.registry.entities.values() if type(record) is s.model)


def files_tab(crm, record, errors=()):
    from .store import listing
    entity = _entity_of(crm, record)
    return render_fragment("files/tab.html", files=listing(crm, (entity, record.get_id())), entity=entity,
                           key=record.get_id(), errors=list(errors), can_attach=crm.can("create", "files.file"))


def upload(entity, key):
    """POST of the tab's form: the file is attached, then back to the tab;
    a refusal (a program, too large, a hidden subject) is shown there (422);
    a body past ``upload_limit`` is refused before it is read (413)."""
    from flask import redirect, request, url_for

    from crmkit import ValidationError, translate
    from crmkit_web.ui import crm, render
    session = crm()
    given = request.files.get("file")
    try:
        if given is None:
            raise ValidationError({"content": ["choose a file to attach"]}, "files.file")
        session.act("files.attach", subject=f"{entity}:{key}", name=given.filename or "", content=given.stream)
    except ValidationError as exc:
        record = session.get(entity, key)
        messages = [f"{translate(field, session.lang)}: {translate(str(m), session.lang)}"
                    for field, msgs in exc.errors.items() for m in msgs]
        return render("files/page.html", title=session.display(entity, record),
                      body=files_tab(session, record, messages)), 422
    return redirect(url_for("ui.card", entity=entity, key=key, tab="files"))


def download(key):
    """The content streamed a megabyte at a time (from disk, or the
    database's bytes), never rendered."""
    from urllib.parse import quote

    from flask import Response, request
    from werkzeug.wsgi import wrap_file

    from crmkit_web.ui import crm
    from .store import CHUNK, open_content
    record, stream = open_content(crm(), key)
    return Response(wrap_file(request.environ, stream, CHUNK), mimetype="application/octet-stream",
                    direct_passthrough=True, headers={
                        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(record.name)}",
                        "Content-Length": str(record.size),
                        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


def register_pages(register):
    for entity in SUBJECTS:
        register(CardTab(entity, "files", "Files", files_tab, order=80, entity_read="files.file"))
    register(Page("/files/<int:key>", "files.download", download))
    register(Page("/files/attach/<entity>/<int:key>", "files.attach", upload, methods=("POST",),
                  max_body=upload_limit))


FORM_OVERHEAD = 64 * 1024   # the form's other fields and multipart boundaries


def upload_limit() -> int:
    """The upload's body limit: the files limit (``CRMKIT_FILES_MAX_BYTES``)
    and the form around it, not the server's 1 MiB for other requests. The
    file part is spooled to a temporary file by the form parser (never held
    in memory past 500 KB), then streamed into the store."""
    from .store import max_bytes
    return max_bytes() + FORM_OVERHEAD
