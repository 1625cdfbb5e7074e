"""RFC 9457 problem documents (``application/problem+json``) for every
error the API gives: the kernel's errors, HTTP errors and bad bodies.

A validation problem carries ``errors``: every field's messages at once,
exactly the kernel's ``ValidationError.errors``. Texts never carry a token
or a stack trace.
"""
from __future__ import annotations

import json
import logging

from crmkit import AccessDenied, Busy, Conflict, CrmError, NotFound, ValidationError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("crmkit_web")


class Problem(Exception):
    """An error answered as a problem document; raise it from a view."""

    def __init__(self, status, title, detail="", errors=None, headers=None, **extra):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.errors, self.headers, self.extra = errors, headers or {}, extra

    def document(self) -> dict:
        doc = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            doc["detail"] = self.detail
        if self.errors is not None:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


def bad_request(field, message, status=400, title="Bad request"):
    """A problem about one part of the request (``body``, a parameter)."""
    return Problem(status, title, f"{field}: {message}", errors={field: [message]})


def from_error(exc: CrmError) -> Problem:
    """The problem for a kernel error."""
    if isinstance(exc, Conflict):
        return Problem(409, "Conflict", exc.describe(), errors=exc.errors)
    if isinstance(exc, ValidationError):
        extra = {"rows": {str(k): v for k, v in exc.rows.items()}} if exc.rows else {}
        return Problem(422, "Invalid input", exc.describe(), errors=exc.errors, **extra)
    if isinstance(exc, NotFound):
        return Problem(404, "Not found", str(exc))
    if isinstance(exc, AccessDenied):
        return Problem(403, "Forbidden", str(exc))
    if isinstance(exc, Busy):
        return Problem(503, "Busy", str(exc), headers={"Retry-After": "1"})
    return Problem(400, "Bad request", str(exc))


def response(problem: Problem):
    from flask import current_app
    body = json.dumps(problem.document(), ensure_ascii=False, default=str)
    resp = current_app.response_class(body, status=problem.status, mimetype=MEDIA_TYPE)
    for name, value in problem.headers.items():
        resp.headers[name] = value
    return resp


def install(blueprint):
    """Answer every error raised under ``blueprint`` with a problem document."""
    from werkzeug.exceptions import HTTPException

    @blueprint.errorhandler(Problem)
    def _problem(exc):
        return response(exc)

    @blueprint.errorhandler(CrmError)
    def _crm_error(exc):
        return response(from_error(exc))

    @blueprint.errorhandler(HTTPException)
    def _http(exc):
        headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
        return response(Problem(exc.code or 500, exc.name, exc.description or "", headers=headers))

    @blueprint.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unexpected error")
        return response(Problem(500, "Internal server error", "the error is in the server's log"))


def install_unrouted(app, prefix):
    """Problem documents, not HTML pages, for what no API route matched
    (an unknown path, a method a route does not take) under ``prefix``."""
    from flask import request
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(HTTPException)
    def _unrouted(exc):
        if not request.path.startswith(prefix):
            return exc
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return response(Problem(exc.code or 500, exc.name, exc.description or "", headers=headers))
