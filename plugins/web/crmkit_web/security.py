"""Headers every response carries, and CORS only where configured.

Responses get a strict Content-Security-Policy unless a view set its own
(a page that needs styles or scripts sets a narrower one), no MIME
sniffing, no referrer, no framing, and ``Cache-Control: no-store`` on
API answers (they hold what one user may see).
"""
from __future__ import annotations

DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
CORS_METHODS = "GET, POST, PATCH, DELETE"
CORS_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key"


def init_app(app):
    from flask import request

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        for name, value in HEADERS.items():
            resp.headers.setdefault(name, value)
        if request.is_secure:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")
            _cors(app, request, resp)
        return resp


def _cors(app, request, resp):
    origin = request.headers.get("Origin")
    allowed = app.config.get("CRMKIT_CORS_ORIGINS") or ()
    if not origin or origin not in allowed:
        return
    resp.headers["Access-Control-Allow-Origin"] = origin
    resp.headers["Vary"] = "Origin"
    resp.headers["Access-Control-Expose-Headers"] = "ETag, Location, Link"
    if request.method == "OPTIONS":
        resp.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        resp.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        resp.headers["Access-Control-Max-Age"] = "600"
