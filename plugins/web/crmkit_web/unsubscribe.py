"""RFC 8058 one-click unsubscribe: ``POST /u/<token>`` with the body
``List-Unsubscribe=One-Click`` (what a mail client sends for the
``List-Unsubscribe-Post`` header) opts the address out.

The signed token is the only credential: no login, no cookie, no CSRF
token (RFC 8058 §3.1). ``GET`` changes nothing (mail scanners fetch links):
it shows a page whose button sends the same POST. The opt-out itself is
the ``marketing.unsubscribe`` action, run as the system user.
"""
from __future__ import annotations

from html import escape

from flask import Blueprint, current_app, request

from crmkit import CrmError, ValidationError

blueprint = Blueprint("unsubscribe", __name__)
ACTION = "marketing.unsubscribe"
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"


def _page(title, text, status=200, form_token=None):
    form = (f'<form method="post" action="{escape(request.path)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe · Отписаться</button></form>') if form_token else ""
    body = (f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
            '<meta name="viewport" content="width=device-width">'
            '<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}</style></head>'
            f'<body><h1>{escape(title)}</h1><p>{escape(text)}</p>{form}</body></html>')
    resp = current_app.response_class(body, status=status, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = PAGE_CSP
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _system():
    host = current_app.extensions["crmkit"]
    if ACTION not in host.registry.actions:
        return None
    return host.system()


@blueprint.get("/u/<token>")
def confirm(token):
    if _system() is None:
        return _page("Not found", "Unsubscribing is not available here.", 404)
    return _page("Unsubscribe", "Press the button to stop these messages.", form_token=token)


@blueprint.post("/u/<token>")
def one_click(token):
    crm = _system()
    if crm is None:
        return _page("Not found", "Unsubscribing is not available here.", 404)
    if request.form.get("List-Unsubscribe") != "One-Click":
        return _page("Bad request", "Expected the one-click body List-Unsubscribe=One-Click.", 400)
    try:
        crm.act(ACTION, None, token=token, method="one-click (RFC 8058)")
    except ValidationError:
        return _page("Invalid link", "This unsubscribe link is not valid.", 400)
    except CrmError:
        return _page("Try again", "The request could not be completed now.", 503)
    return _page("Unsubscribed", "You will not receive these messages any more.")
