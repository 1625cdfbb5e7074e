"""``Idempotency-Key`` on POST: a retried request gets the first answer
again, not a second record.

The first successful response is stored per user and key, in the same
transaction as the write it answers, so either both are kept or neither.
The same key with another method, path or body is refused (422); while the
first request is still running, a second one with its key waits for the
write lock and then finds the stored answer, or gets 409 on PostgreSQL if
the first is not yet committed. Keys are kept for a day.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import peewee as pw
from flask import current_app, g, request

from crmkit import utcnow

from .problems import Problem, bad_request

KEEP = dt.timedelta(hours=1 * 24)
HEADERS_KEPT = ("Content-Type", "Location", "ETag")


def _fingerprint() -> str:
    h = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    h.update(request.get_data(cache=True))
    return h.hexdigest()


def _key():
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
        raise bad_request("Idempotency-Key", "must be 1 to 200 printable ASCII characters")
    return key


def run(view, transactional=True):
    """Call ``view()`` (which returns a Flask response) honouring the
    request's ``Idempotency-Key``."""
    from ..models import IdempotentResponse as R
    key = _key()
    if key is None:
        return view()
    crm = g.crm
    login, fingerprint = crm.actor.login, _fingerprint()

    def stored():
        row = R.get_or_none((R.login == login) & (R.key == key) & (R.created_at > utcnow() - KEEP))
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise Problem(422, "Idempotency key reused", "this Idempotency-Key was used for another request",
                          errors={"Idempotency-Key": ["was used for a different request"]})
        resp = current_app.response_class(bytes(row.body), status=row.status)
        for name, value in json.loads(row.headers).items():
            resp.headers[name] = value
        resp.headers["Idempotent-Replayed"] = "true"
        return resp

    def keep(resp):
        if not 200 <= resp.status_code < 300:
            return
        R.delete().where((R.login == login) & ((R.key == key) | (R.created_at <= utcnow() - KEEP))).execute()
        try:
            with crm.db.atomic():
                R.create(login=login, key=key, fingerprint=fingerprint, status=resp.status_code,
                         headers=json.dumps({h: resp.headers[h] for h in HEADERS_KEPT if h in resp.headers}),
                         body=resp.get_data(), created_at=utcnow())
        except pw.IntegrityError:
            raise Problem(409, "Conflict", "a request with this Idempotency-Key is still being processed") from None

    if not transactional:
        replay = stored()
        if replay is not None:
            return replay
        resp = view()
        keep(resp)
        return resp
    with crm.transaction():
        replay = stored()
        if replay is not None:
            return replay
        resp = view()
        keep(resp)
        return resp
