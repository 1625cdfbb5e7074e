"""The outbox's ``webhook`` channel: one signed POST per message.

Outcomes: 2xx sent; 410 Gone disables the subscription; 408 and 429 are
temporary, other 3xx/4xx permanent (redirects are not followed); 5xx,
timeouts and connection errors temporary, retried with the kernel's backoff
up to its cap. Every failed attempt counts against the subscription; after
``CRMKIT_WEBHOOK_DISABLE_AFTER`` in a row it is disabled. A delivery run (the
channel's ``session``) keeps one connection per receiver host open, caches
host resolution and subscriptions, and closes everything at its end.
"""
from __future__ import annotations

import contextlib
import json
import threading
import time

from crmkit import PermanentFailure, TemporaryFailure, utcnow

from . import settings as settings_mod
from . import signing
from .transport import Pool, Refused, TimedOut, resolve

RETRYABLE_4XX = {408, 429}
_local = threading.local()


class Subscriber:
    """What delivery needs of a subscription, read once per run."""

    def __init__(self, row, secrets):
        self.id, self.url, self.active, self.owner = row.id, row.url, row.active and not row.deletion_mark, row.owner
        self.disabled_reason = row.disabled_reason or ("marked for deletion" if row.deletion_mark else "")
        self.failure_count = row.failure_count
        self.secrets = secrets
        self.touched = False          # last_success_at written this run


class Run:
    """One delivery run: connections, resolved hosts, subscriptions, owners."""

    def __init__(self, crm):
        self.crm = crm
        self.pool = Pool()
        self.targets: dict = {}
        self.subscribers: dict = {}
        self.owners: dict = {}

    def subscriber(self, sid):
        from . import subscriptions
        if sid not in self.subscribers:
            self.subscribers[sid] = subscriptions.for_delivery(sid)
        return self.subscribers[sid]

    def owner_is_admin(self, login) -> bool:
        if login not in self.owners:
            from .subscriptions import is_admin_login
            self.owners[login] = is_admin_login(self.crm, login)
        return self.owners[login]

    def target(self, url, allow_networks):
        key = (url, allow_networks)
        found = self.targets.get(key)
        if found is None:
            found = self.targets[key] = resolve(url, allow_networks)
        return found

    def close(self):
        self.pool.close()


@contextlib.contextmanager
def run_session(crm):
    """The channel's session: one delivery run of the kernel's outbox."""
    previous = getattr(_local, "run", None)
    _local.run = run = Run(crm)
    try:
        yield run
    finally:
        run.close()
        _local.run = previous


@contextlib.contextmanager
def _current_run(crm):
    run = getattr(_local, "run", None)
    if run is not None:
        yield run
        return
    with run_session(crm) as run:
        yield run


def meta_of(message) -> dict:
    """The message's webhook meta (parsed once: the skip check and the delivery both need it)."""
    found = getattr(message, "_webhook_meta", None)
    if found is not None:
        return found
    try:
        meta = json.loads(message.meta or "{}")
    except ValueError:
        meta = {}
    if not isinstance(meta, dict) or not isinstance(meta.get("subscription"), int) or not meta.get("webhook_id"):
        raise PermanentFailure("meta: not a webhook message (no subscription or webhook_id)")
    message._webhook_meta = meta
    return meta


def skip_reason(crm, message):
    """Messages of a disabled, deleted or orphaned subscription are skipped."""
    from .subscriptions import disable
    try:
        meta = meta_of(message)
    except PermanentFailure:
        return None                   # deliver() fails it, naming the problem
    with _current_run(crm) as run:
        sub = run.subscriber(meta["subscription"])
        if sub is None:
            return f"subscription {meta['subscription']} no longer exists"
        if not sub.active:
            return f"subscription {sub.id} is disabled: {sub.disabled_reason or 'by an administrator'}"
        if not run.owner_is_admin(sub.owner):
            reason = f"its owner {sub.owner!r} is no longer an active administrator"
            disable(crm, sub.id, reason)
            sub.active, sub.disabled_reason = False, reason
            return f"subscription {sub.id} is disabled: {reason}"
    return None


def deliver(crm, message) -> None:
    meta = meta_of(message)
    settings = settings_mod.current()
    with _current_run(crm) as run:
        sub = run.subscriber(meta["subscription"])
        if sub is None or not sub.active:
            raise PermanentFailure(f"subscription {meta['subscription']} is disabled or gone")
        try:
            outcome = _post(run, sub, meta["webhook_id"], message.body_text.encode(), settings)
        except (TemporaryFailure, PermanentFailure) as exc:
            _failed(crm, sub, exc, settings)
            raise
        if not sub.touched or sub.failure_count:
            from .subscriptions import record_success
            record_success(sub.id)
            sub.touched, sub.failure_count = True, 0
        return outcome


def _post(run, sub, webhook_id, body, settings):
    try:
        target = run.target(sub.url, settings.allow_networks)
    except Refused as exc:
        raise PermanentFailure(f"refused: {exc}") from None
    except OSError as exc:
        raise TemporaryFailure(str(exc)) from None
    headers = {"Content-Type": "application/json", "User-Agent": settings.user_agent,
               **signing.headers(sub.secrets, webhook_id, body)}
    timeout = settings.timeout
    deadline = _message_deadline()
    if deadline is not None:           # the outbox's own deadline for this message, when it sets one
        timeout = max(0.05, min(timeout, deadline - time.monotonic()))
    try:
        resp = run.pool.post(target, body, headers, connect_timeout=min(settings.connect_timeout, timeout),
                             timeout=timeout, max_response=settings.max_response)
    except TimedOut as exc:
        raise TemporaryFailure(f"timeout after {timeout:.2g} s: {exc}") from None
    except (OSError, Exception) as exc:  # connection refused, reset, TLS, a malformed answer
        if isinstance(exc, (TemporaryFailure, PermanentFailure)):
            raise
        raise TemporaryFailure(f"cannot deliver to {target.host}:{target.port}: "
                               f"{type(exc).__name__}: {exc}") from None
    detail = f"receiver answered {resp.status} {resp.reason}".strip()
    snippet = resp.body[:200].decode("utf-8", "replace").strip()
    if snippet:
        detail += f": {snippet}"
    if 200 <= resp.status < 300:
        return None
    if resp.status == 410:
        raise _Gone(detail)
    if 300 <= resp.status < 400:
        raise PermanentFailure(f"{detail} (redirects are not followed; subscribe the final URL)")
    if 400 <= resp.status < 500 and resp.status not in RETRYABLE_4XX:
        raise PermanentFailure(detail)
    raise TemporaryFailure(detail)


def _message_deadline():
    """``crmkit.delivery_deadline()`` where the kernel offers it (a monotonic moment), else None."""
    try:
        from crmkit import delivery_deadline
    except ImportError:
        return None
    return delivery_deadline()


class _Gone(PermanentFailure):
    """410: the receiver says the endpoint is gone for good."""


def _failed(crm, sub, exc, settings):
    from .subscriptions import disable, record_failure
    text = str(exc)
    if isinstance(exc, _Gone):
        record_failure(sub.id, text)
        disable(crm, sub.id, f"the receiver answered 410 Gone")
        sub.active, sub.disabled_reason = False, "the receiver answered 410 Gone"
        return
    count = record_failure(sub.id, text)
    sub.failure_count = count
    if count >= settings.disable_after:
        reason = f"{count} failed deliveries in a row; last: {text}"[:300]
        disable(crm, sub.id, reason)
        sub.active, sub.disabled_reason = False, reason
