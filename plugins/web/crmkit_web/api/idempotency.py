"""``Idempotency-Key`` on POST: a retried request gets the first answer
again, not a second record.

The first successful response is stored per user and key, in the same
transaction as the write it answers, so either both are kept or neither.
The same key with another method, path or body is refused (422); while the
first request is still running, a second one with its key waits for the
write lock and then finds the stored answer, or gets 409 on PostgreSQL if
the first is not yet committed. Keys are kept for a day.

A route that streams its body (a plugin's upload, ``ApiRoute(idempotent=
True)``) is fingerprinted by the SHA-256 of the body as the view reads it,
never buffered: a retry whose key was used reads its body through the hash
(bounded by the route's limit, nothing written) and is answered the first
response, or 422 for another body.
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


def _fingerprint(body_sha256=None) -> str:
    h = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    if body_sha256 is None:
        h.update(request.get_data(cache=True))
    else:   # a streamed body: its hash as it was read
        h.update(b"sha256:" + body_sha256.encode())
    return h.hexdigest()


class _HashedBody:
    """``request.stream`` hashed as it is read: a streamed body's
    fingerprint without holding it. ``digest()`` reads what the view left
    (nothing, after a view that read it to its end)."""

    def __init__(self, stream):
        self.stream, self.h = stream, hashlib.sha256()

    def read(self, size=-1):
        chunk = self.stream.read(size)
        self.h.update(chunk)
        return chunk

    def readable(self):
        return True

    def digest(self) -> str:
        while self.read(1024 * 1024):
            pass
        return self.h.hexdigest()


def _key():
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
        raise bad_request("Idempotency-Key", "must be 1 to 200 printable ASCII characters")
    return key


def run(view, transactional=True, streamed=False):
    """Call ``view()`` (which returns a Flask response) honouring the
    request's ``Idempotency-Key``. ``streamed``: the view reads
    ``request.stream`` itself (an upload): the body is fingerprinted by its
    hash as read, and the answer is kept after the view's own transaction
    (as for an action with ``transaction=False``)."""
    from ..models import IdempotentResponse as R
    key = _key()
    if key is None:
        return view()
    crm = g.crm
    login = crm.actor.login
    if streamed:
        hashed = _HashedBody(request.stream)
        request.__dict__["stream"] = hashed   # werkzeug's cached property: what the view will read
        fingerprint = _Lazy(lambda: _fingerprint(hashed.digest()))
    else:
        fingerprint = _fingerprint()

    def stored():
        row = R.get_or_none((R.login == login) & (R.key == key) & (R.created_at > utcnow() - KEEP))
        if row is None:
            return None
        if row.fingerprint != str(fingerprint):
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
                R.create(login=login, key=key, fingerprint=str(fingerprint), status=resp.status_code,
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


class _Lazy:
    """A fingerprint made on first use (a streamed body's, once read)."""

    def __init__(self, make):
        self.make, self.value = make, None

    def __str__(self):
        if self.value is None:
            self.value = self.make()
        return self.value
