"""Bearer tokens: which user a request acts as.

A token is checked against the database (``crmkit.core.tokens``: SHA-256
digest, not revoked, not expired, its user active) and the user's roles and
access groups are loaded (and their time zone found), then all are kept in this worker process for
``CRMKIT_TOKEN_CACHE_SECONDS`` (default 5 s; 0 turns the cache off). Within
that time the worker's next requests with the same token act as the same
user without reading the database again: on a fast request that reading
(three queries) was half the time of the whole request. The request
sessions (``Crm``) made for that user are kept with it, so what a session
reads once (the additional attributes' definitions) is read once per
entry, not once per request.

What still holds:

- an expired token stops working at its expiry moment exactly: the cached
  entry keeps the token's ``expires_at`` and is dropped at it;
- a revoked token, a user deactivated or marked for deletion, and changed
  roles, access groups or time zone take effect within the cache's lifetime (5 s) in
  every worker, at once with the cache off; so does an additional
  attribute added, changed or removed by another process (one changed
  through the same session is seen at once);
- the cache is keyed by the token's SHA-256 digest (the secret itself is
  not kept), holds only tokens that were valid, and at most ``MAX_ENTRIES``
  of them: a flood of wrong tokens is checked against the database each
  time, as before, and cannot push valid entries out.
"""
from __future__ import annotations

import threading
import time

DEFAULT_SECONDS = 5.0
MAX_ENTRIES = 1024


class Checked:
    """A token found valid: its user (``actor``, ``zone``) and the
    request sessions (``Crm``) made for that user from it, one per
    language, which live as long as the cache keeps this entry."""

    __slots__ = ("actor", "zone", "sessions")

    def __init__(self, actor, zone):
        self.actor, self.zone, self.sessions = actor, zone, {}


class TokenCache:
    """digest -> (``Checked``, the monotonic moment the entry ends)."""

    def __init__(self, seconds: float = DEFAULT_SECONDS, max_entries: int = MAX_ENTRIES):
        self.seconds = float(seconds)
        self.max_entries = max_entries
        self._entries: dict = {}
        self._lock = threading.Lock()

    def get(self, digest):
        entry = self._entries.get(digest)
        if entry is None:
            return None
        actor, ends = entry
        if time.monotonic() >= ends:
            with self._lock:
                self._entries.pop(digest, None)
            return None
        return actor

    def put(self, digest, actor, expires_at, now):
        """Keep ``actor`` for ``digest`` for the cache's lifetime, never past
        the token's own ``expires_at`` (an aware datetime or None)."""
        if self.seconds <= 0:
            return
        left = self.seconds
        if expires_at is not None:
            left = min(left, (expires_at - now).total_seconds())
        if left <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                moment = time.monotonic()
                for key in [k for k, (_, ends) in self._entries.items() if ends <= moment]:
                    del self._entries[key]
                if len(self._entries) >= self.max_entries:
                    self._entries.pop(next(iter(self._entries)))   # the oldest entry
            self._entries[digest] = (actor, time.monotonic() + left)

    def clear(self):
        with self._lock:
            self._entries.clear()


def checked(host, secret: str):
    """The ``Checked`` user a bearer token acts as, or None for a missing,
    unknown, expired or revoked token or an inactive user (callers answer
    all alike)."""
    from crmkit import AccessDenied, utcnow
    from crmkit.core import tokens
    if not isinstance(secret, str) or not secret.startswith(tokens.PREFIX) or len(secret) > 200:
        return None
    digest = tokens.digest(secret)
    cache = host.token_cache
    found = cache.get(digest)
    if found is not None:
        return found
    login = tokens.authenticate(secret)
    if login is None:
        return None
    try:
        actor = host.load_actor(login)
    except AccessDenied:   # deactivated between the two reads
        return None
    from crmkit.core.models import ApiToken
    expires_at = ApiToken.select(ApiToken.expires_at).where(ApiToken.token_hash == digest).scalar()
    found = Checked(actor, host.zone_of(actor))
    cache.put(digest, found, expires_at, utcnow())
    return found


def session(host, found, request):
    """The request's ``Crm``: the one made for this user and language while
    the token is kept (its per-session reads, such as the additional
    attributes' definitions, are not repeated per request), else a new one."""
    lang = host.language(request)
    crm = found.sessions.get(lang)
    if crm is None:
        crm = found.sessions[lang] = host.session(found.actor, request, zone=found.zone)
    return crm
