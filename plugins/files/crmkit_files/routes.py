"""The files plugin's API routes (``crmkit_register_api_routes``): uploads
with the file's bytes as the raw body, not base64 inside JSON (capped by
the API's 1 MiB body), and the content's download.

``POST /api/v1/files/<entity>/<id or code>?name=...&comment=...`` streams the
body into the store (hashed and counted as it is read, a megabyte at a
time) through the action ``files.attach``, the one the CLI and the web's
Files tab call. Its limit is ``CRMKIT_FILES_MAX_BYTES``: a larger
``Content-Length`` is refused (413) before anything is read, and a chunked
body is cut off (413) as soon as it passes the limit; nothing is written.
A subject the user does not see answers 404, as one that does not exist.

``GET /api/v1/files.file/<id>/content`` streams the content of a file the
user sees, as an attachment (``nosniff``), never rendered.
"""
from __future__ import annotations

FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _too_large(limit):
    from crmkit_web.api.problems import Problem
    message = f"is larger than the limit of {limit:,} bytes".replace(",", " ")
    return Problem(413, "Content too large", f"content: {message} (CRMKIT_FILES_MAX_BYTES)",
                   errors={"content": [message]})


def upload(entity, key):
    from flask import g, request, url_for
    from werkzeug.exceptions import RequestEntityTooLarge

    from crmkit import NotFound
    from crmkit_web.api.actions import result_document
    from crmkit_web.api.problems import bad_request
    from crmkit_web.api.responses import json_response

    from .store import TooLarge, max_bytes
    crm = g.crm
    limit = max_bytes()
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)   # before one byte is read
    if request.mimetype in FORMS:
        raise bad_request("body", "send the file's bytes as the body (Content-Type: its type, or "
                                  "application/octet-stream), not a form", status=415, title="Unsupported media type")
    if entity not in crm.registry.subject_types:
        raise NotFound(f"{entity!r} is not an entity files are attached to")
    record = crm.get(entity, int(key) if key.isascii() and key.isdigit() else key)   # hidden or missing: 404, the body unread
    try:
        done = crm.act("files.attach", subject=f"{entity}:{record.get_id()}", name=request.args.get("name", ""),
                       content=request.stream, comment=request.args.get("comment", ""))
    except (TooLarge, RequestEntityTooLarge):   # a chunked body past the limit, cut off as it passed it
        raise _too_large(limit) from None
    resp = json_response({"action": "files.attach", "result": result_document(crm, done)}, status=201)
    resp.headers["Location"] = url_for("api.get_record", entity="files.file", key=done["id"], _external=True)
    return resp


def download(key):
    from urllib.parse import quote

    from flask import Response, g, request
    from werkzeug.wsgi import wrap_file

    from .store import CHUNK, open_content
    record, stream = open_content(g.crm, key)
    return Response(wrap_file(request.environ, stream, CHUNK), mimetype="application/octet-stream",
                    direct_passthrough=True, headers={
                        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(record.name)}",
                        "Content-Length": str(record.size), "X-Content-Type-Options": "nosniff"})


PROBLEM = {"$ref": "#/components/responses/Problem"}
UPLOAD = {"post": {
    "tags": ["files.file"], "operationId": "upload_file", "summary": "Attach a file (the raw bytes as the body)",
    "description": "The action files.attach with the file's bytes as the body, streamed into the store, up to "
                   "CRMKIT_FILES_MAX_BYTES (default 20 MiB): a larger Content-Length is refused (413) before it is "
                   "read, a chunked body as soon as it passes the limit. The type is sniffed from the content "
                   "(programs are refused), not taken from Content-Type. A subject you may not see is a 404.",
    "parameters": [
        {"name": "entity", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "the subject's entity: core.partner, deals.deal, marketing.event, claims.claim, "
                        "core.interaction, leads.lead ..."},
        {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "the subject's id or code"},
        {"name": "name", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 255},
         "description": "the file's name (no folders, no control characters)"},
        {"name": "comment", "in": "query", "schema": {"type": "string", "maxLength": 500}}],
    "requestBody": {"required": True, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
    "responses": {"201": {"description": "attached; Location is the file record",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActionResult"}}}},
                  **{code: PROBLEM for code in ("401", "403", "404", "413", "415", "422")}}}}
CONTENT = {"get": {
    "tags": ["files.file"], "operationId": "file_content", "summary": "The content of a file",
    "description": "Streamed as an attachment (application/octet-stream, nosniff), never rendered.",
    "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "the file's bytes",
                          "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                  **{code: PROBLEM for code in ("401", "404")}}}}


def register_routes(register):
    from crmkit_web.api import ApiRoute

    from .store import max_bytes
    # one byte past the limit: the store reads limit + 1 bytes at most and refuses the content then
    # (werkzeug's own bound would refuse a body of exactly the limit when it looks for more)
    register(ApiRoute("/files/<entity>/<key>", "files.upload", upload, methods=("POST",),
                      max_body=lambda: max_bytes() + 1, openapi=UPLOAD, idempotent=True))
    register(ApiRoute("/files.file/<int:key>/content", "files.content", download, openapi=CONTENT))
