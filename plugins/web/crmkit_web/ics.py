"""A user's iCalendar feed at ``GET /ics/<secret>.ics`` (``crmkit calendar
url LOGIN`` makes the secret). The secret is the only credential, as
calendar clients subscribe without signing in; a wrong, rotated or
malformed secret, or an inactive user, is the same plain 404, so the answer
tells nothing about which secrets or users exist. The feed is built by
``crmkit.core.calendar`` as that user: only what they may see."""
from __future__ import annotations

from flask import Blueprint, current_app, request

blueprint = Blueprint("ics", __name__)


def _not_found():
    resp = current_app.response_class("Not found\n", status=404, mimetype="text/plain")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@blueprint.get("/ics/<secret>.ics")
def feed(secret):
    from crmkit.core.calendar import login_for_secret, render
    login = login_for_secret(secret)
    if login is None:
        return _not_found()
    crm = current_app.extensions["crmkit"].session(login, request)
    resp = current_app.response_class(render(crm), mimetype="text/calendar")
    resp.headers["Content-Disposition"] = 'inline; filename="calendar.ics"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
