"""JSON responses, written one way for the whole API."""
from __future__ import annotations

import json

from flask import current_app

from crmkit import plain


def _default(value):
    shown = plain(value)
    return str(value) if shown is value else shown


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default, separators=(",", ":"))


def json_response(value, status=200, headers=None, mimetype="application/json"):
    resp = current_app.response_class("" if value is None else dumps(value), status=status,
                                      mimetype=None if value is None else mimetype)
    for name, text in (headers or {}).items():
        resp.headers[name] = text
    return resp
