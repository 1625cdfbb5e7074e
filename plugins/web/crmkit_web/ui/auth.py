"""Sign-in, server-side sessions and sign-out.

The session cookie holds a random token (HttpOnly, SameSite=Lax, Secure and
``__Host-`` prefixed behind TLS); the database keeps its SHA-256 with the
login, the CSRF token and two expiries: idle (``CRMKIT_SESSION_IDLE_MINUTES``,
default 120) and absolute (``CRMKIT_SESSION_HOURS``, default 12). Signing in
makes a new session (no fixation); signing out deletes it. Passwords and the
lockout are core's (``crmkit.core.passwords``), the same the CLI manages.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from crmkit import AccessDenied, utcnow

from . import guard

COOKIE = "crmkit_session"
SECURE_COOKIE = "__Host-crmkit_session"
PUBLIC = {"ui.signin", "ui.lead_form", "ui.lead_submit", "static"}
TOUCH_AFTER = dt.timedelta(seconds=60)   # write seen_at at most once a minute


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _cookie_name(request):
    return SECURE_COOKIE if request.is_secure else COOKIE


def _limits(app):
    idle = dt.timedelta(minutes=int(app.config.get("CRMKIT_SESSION_IDLE_MINUTES", 120)))
    absolute = dt.timedelta(hours=int(app.config.get("CRMKIT_SESSION_HOURS", 12)))
    return idle, absolute


def current_session(request, app):
    from .models import Session
    token = request.cookies.get(_cookie_name(request))
    if not token or len(token) > 100:
        return None
    from crmkit import statement_sql
    sql, _ = statement_sql("web.session", lambda: Session.select().where(Session.token_hash == "").limit(1))
    row = next(iter(Session.raw(sql, _hash(token), 1)), None)   # every page's first statement: compiled once
    if row is None:
        return None
    now = utcnow()
    idle, _ = _limits(app)
    if row.expires_at <= now or row.seen_at + idle <= now:
        row.delete_instance()
        return None
    if now - row.seen_at > TOUCH_AFTER:
        Session.update(seen_at=now).where(Session.id == row.id).execute()
    return row


def start_session(resp, request, app, actor):
    """A new session for ``actor``; returns its row and sets the cookie."""
    from crmkit.core.models import User
    from .models import Session
    token = guard.new_token()
    now = utcnow()
    _, absolute = _limits(app)
    user = User.get_or_none(User.login == actor.login)
    row = Session.create(token_hash=_hash(token), login=actor.login, csrf=guard.new_token(),
                         lang=(user.lang if user else "") or "", time_zone=(user.time_zone if user else "") or "",
                         created_at=now, seen_at=now, expires_at=now + absolute)
    resp.set_cookie(_cookie_name(request), token, max_age=int(absolute.total_seconds()), path="/",
                    secure=request.is_secure, httponly=True, samesite="Lax")
    Session.delete().where(Session.expires_at <= now).execute()   # expired ones of anyone
    return row


def end_session(resp, request):
    from .models import Session
    token = request.cookies.get(_cookie_name(request))
    if token:
        Session.delete().where(Session.token_hash == _hash(token)).execute()
    resp.delete_cookie(_cookie_name(request), path="/", secure=request.is_secure, httponly=True, samesite="Lax")


def install(bp):
    from flask import current_app, g, redirect, request, url_for

    @bp.before_request
    def _authenticate():
        host = current_app.extensions["crmkit"]
        g.web_session = None
        limit = current_app.extensions["crmkit_pages"].body_limits.get(request.endpoint)
        if limit is not None:   # an upload page's own limit (Page.max_body)
            request.max_content_length = limit()
        if request.method in guard.UNSAFE and guard.cross_origin(request):
            guard.refuse("a form from another site was refused")
        if request.endpoint in PUBLIC:
            g.crm = host.system() if request.endpoint != "ui.signin" else None
            return None
        row = current_session(request, current_app)
        if row is None:
            if request.method == "GET":
                return redirect(url_for("ui.signin", next=request.full_path.rstrip("?")))
            guard.refuse("your session has ended: sign in again")
        try:
            g.crm = host.session(row.login, request)
        except AccessDenied:           # deactivated or removed since signing in
            from .models import Session
            Session.delete().where(Session.login == row.login).execute()
            return redirect(url_for("ui.signin"))
        g.web_session = row
        from . import locale
        locale.apply(g.crm, row, request)
        if request.method in guard.UNSAFE and not guard.same(guard.sent_token(request), row.csrf):
            guard.refuse()
        return None

    @bp.route("/signin", methods=["GET", "POST"], endpoint="signin")
    def signin():
        from flask import make_response, render_template
        from crmkit.core.passwords import SignInRefused, authenticate
        host = current_app.extensions["crmkit"]
        from . import locale
        lang = locale.browser_lang(request, host.system().lang)
        target = guard.safe_next(request.values.get("next"))
        error, status = None, 200
        if request.method == "POST":
            if not guard.same(request.form.get("csrf_token"), request.cookies.get(guard.LOGIN_CSRF_COOKIE)):
                guard.refuse()
            try:
                actor = authenticate(host.system(), request.form.get("login", ""), request.form.get("password", ""))
            except SignInRefused as exc:
                error, status = str(exc), 401
            else:
                resp = redirect(target)
                old = request.cookies.get(_cookie_name(request))
                if old:
                    end_session(resp, request)
                start_session(resp, request, current_app, actor)
                resp.delete_cookie(guard.LOGIN_CSRF_COOKIE, path="/signin")
                return resp
        token = guard.new_token()
        resp = make_response(render_template("web/signin.html", signin_token=token, next=target, error=error,
                                             login=request.form.get("login", ""), lang=lang), status)
        resp.set_cookie(guard.LOGIN_CSRF_COOKIE, token, max_age=3600, path="/signin", httponly=True,
                        samesite="Strict", secure=request.is_secure)
        return resp

    @bp.post("/signout", endpoint="signout")
    def signout():
        resp = redirect(url_for("ui.signin"))
        end_session(resp, request)
        return resp
