"""CSRF, the Content-Security-Policy and safe redirects of the web pages.

- **CSRF** (OWASP's synchronizer token): every session has a random token;
  every POST carries it (a hidden ``csrf_token`` field, or the
  ``X-CSRF-Token`` header from the page's scripts) and is refused with 403
  otherwise, before the view runs. The sign-in form, which has no session
  yet, uses a double-submit cookie. A cross-site ``Origin`` is refused too.
- **CSP**: scripts and styles only from the application's own files (no
  inline script, no ``eval``), nothing framed, forms posting only here.
- **Redirects** after sign-in go only to a path of this site.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; frame-src 'self'")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
LOGIN_CSRF_COOKIE = "crmkit_signin"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a, b) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def safe_next(target, default="/"):
    """``target`` if it is a path on this site (``/deals/board?x=1``), else
    ``default``: no scheme, no host, no ``//`` or ``/\\`` tricks."""
    if not target or not isinstance(target, str):
        return default
    target = target.strip()
    if any(ch in target for ch in "\\\r\n\t") or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def sent_token(request):
    from werkzeug.exceptions import RequestEntityTooLarge
    try:
        return request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    except RequestEntityTooLarge:
        too_large(request.max_content_length)


def too_large(limit):
    """Refuse a body over ``limit`` bytes (413) with a page that says the limit."""
    from flask import abort, make_response, render_template

    from crmkit.kernel.i18n import Message
    message = Message("the request is larger than the limit of {limit} bytes", domain="web",
                      limit=f"{limit:,}".replace(",", " "))
    abort(make_response(render_template("web/error.html", status=413, message=message), 413))


def cross_origin(request) -> bool:
    """A browser's ``Origin`` (or ``Sec-Fetch-Site``) naming another site."""
    site = request.headers.get("Sec-Fetch-Site")
    if site and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc != request.host
    return origin == "null"


def install(bp):
    from flask import request

    @bp.after_request
    def _headers(resp):
        resp.headers["Content-Security-Policy"] = CSP
        # "no-referrer" would make browsers send "Origin: null" with every form; "same-origin"
        # sends our own origin on our forms and still tells other sites nothing
        resp.headers["Referrer-Policy"] = "same-origin"
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "no-store")   # pages show what one user may see
        return resp


def refuse(message="the form has expired or came from another site: reload the page and try again"):
    from flask import abort, make_response, render_template
    abort(make_response(render_template("web/error.html", status=403, message=message), 403))
