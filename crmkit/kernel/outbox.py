"""Durable outbound messages, delivered by channel plugins.

A message is written (``queued``) in the caller's transaction before anything
is sent; its idempotency key makes queueing twice a no-op. Delivery claims
messages in batches (``sending``, with a claim token and a lease: 50 first,
then about a second's worth at the rate the run shows, at most 1,000), hands
each to its channel, and records the outcome -- only while the run still owns
the claim (the token is a fencing token: a run whose claim was taken over
records nothing). The outcomes: ``sent``; a retry with backoff (temporary
failure); ``failed`` (permanent failure, the retry cap, or a message the
channel cannot even build); ``unknown`` (the server may or may not have
taken it: never retried blindly, an operator decides); ``skipped``.

A heartbeat renews the lease while the run sends, so a slow server never lets
a second run take over messages still in hand. Another run takes a message
over only once its lease expired, so the owner sends without asking the
database while its own clock says the lease has more than a safety margin
left (half the lease, at most the message deadline); it renews the lease and
re-reads what it still owns, and the suppression list, at each claim, every
``CHECK_EVERY_S`` (1 s) and whenever the lease nears its end. A suppression
this process records during a run counts at once. A process that dies between
the server's acceptance and the ``sent`` record leaves its claim; once the
lease expires the message is delivered again with the same identity
(at-least-once, deduplicable by the Message-ID a channel derives from it).

Outcomes are written in one transaction for the messages sent within
``OUTCOME_WINDOW_S`` (100 ms) of each other, before the next send and at the
end of each claim, not one transaction per message: a fast receiver (a
webhook on the same network) would otherwise wait on the outbox's own
writes. Any outcome but ``sent`` and ``skipped`` is written at once, and a
message that took longer than the window has its outcome written before the
next one is sent, so a run killed mid-way sends again at most the messages
of its last 100 ms (slow channels: at most the one in flight).

Each run has a deadline, each message a deadline (channels read it with
``delivery_deadline()``), and each channel a circuit breaker: after a few
connection failures in a row the run stops using that channel and gives its
claimed messages back untouched.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
import uuid

import peewee as pw

from . import db
from .errors import AccessDenied, Busy, ValidationError
from .models import OutboxMessage, Suppression

log = logging.getLogger("crmkit.outbox")

MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 60          # 1, 2, 4, 8, 16 minutes ...
BACKOFF_CAP_S = 6 * 3600
CLAIM_MAX = 50               # a run's first claim: a takeover or a stop touches few
# Later claims are sized to about CLAIM_TARGET_S of sending at the rate the
# run has shown (a fast receiver: up to CLAIM_BULK_MAX at once; a slow SMTP
# server: CLAIM_MAX), so the claim and its end-of-claim outcome write are
# paid once per second of sending, not once per 50 messages.
CLAIM_BULK_MAX = 1000
CLAIM_TARGET_S = 1.0
# Outcomes of messages sent (or skipped) within this many seconds are written
# together, in one transaction, before the next send (and at the end of each
# claim); a slower message has its outcome written before the next one goes.
# A run killed in between may send again those few (with the same identity).
OUTCOME_WINDOW_S = 0.1
# Defaults of the CRMKIT_OUTBOX_* settings (seconds, or a count for the breaker).
LEASE_S = 300                # a claim not renewed this long is taken over by another run
RUN_DEADLINE_S = 270         # claim nothing new after this: a */5 cron run ends before the next
MESSAGE_DEADLINE_S = 720     # one message, connection included (> the 10 min final-dot wait)
BREAKER_FAILURES = 3         # connection failures in a row that stop a channel for the run
RESULT_RETRY_S = 120         # how long a result write is retried while the database is busy

# Every character str.splitlines() breaks a line at (LF, VT, FF, CR, FS, GS,
# RS, NEL, LS, PS), and the other C0 controls and DEL: the email package
# treats several of them as line ends, so none may reach a header.
HEADER_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


class TemporaryFailure(Exception):
    """Try again later (connection refused, 4xx)."""


class ConnectionFailure(TemporaryFailure):
    """The channel could not reach its server (refused, no greeting, timed
    out before a session began). Counts towards the channel's circuit breaker."""


class PermanentFailure(Exception):
    """Do not try again (5xx bad recipient, invalid address, a message that cannot be built)."""


class UnknownOutcome(Exception):
    """The server may have taken the message: the connection broke, or the
    deadline passed, after the whole message was handed over. Recorded as
    ``unknown``, never retried by itself."""


def check_header(name: str, value) -> str:
    """``value`` as text, or ValidationError naming ``name`` when it holds a
    line break or control character (a header injection, or a message the
    email package cannot write)."""
    text = str(value)
    found = HEADER_UNSAFE.search(text)
    if found:
        raise ValidationError({name: f"must not contain line breaks or control characters "
                                     f"(U+{ord(found.group()):04X} at position {found.start()})"})
    return text


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


def normalize_address(channel: str, address: str) -> str:
    from .validation import normalize_email, normalize_phone
    try:
        if channel == "email":
            return normalize_email(address)
        if channel == "sms":
            return normalize_phone(address)
    except ValueError:
        pass
    return str(address).strip().lower()


_current = threading.local()


def delivery_deadline() -> float | None:
    """The ``time.monotonic()`` moment by which the message a channel is
    delivering must be done (None outside a delivery run). Channels bound
    their connection and network waits by it."""
    return getattr(_current, "deadline", None)


def _setting(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({name: f"{raw!r} is not a number of seconds"}) from None
    if not value > 0:
        raise ValidationError({name: "must be positive"})
    return value


UNFINISHED = ("queued", "sending", "failed", "unknown")   # may still be sent: waiting, in flight, or retried


def unfinished_messages():
    """A query of the ids of the outbox messages that may still be sent
    (queued, sending, failed or unknown: an operator's ``outbox retry``
    sends those again), for a plugin keeping what messages refer to until
    they are sent (the files plugin keeps a mailing's image contents)."""
    return OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.state.in_(UNFINISHED))


def retry_busy(write, budget_s: float = RESULT_RETRY_S):
    """Run ``write()`` (a short transaction), again and again while the
    database is busy, for up to ``budget_s``; then let Busy through."""
    ends, pause = time.monotonic() + budget_s, 0.05
    while True:
        try:
            return write()
        except Busy:
            if time.monotonic() + pause > ends:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _clock() -> float:
    """The run's clock for its leases (``time.monotonic``; a test moves it)."""
    return time.monotonic()


class _Heartbeat:
    """The lease a run holds on its current claim, and the thread that
    renews it while the run sends (a slow server, or the 10-minute wait for
    the final-dot reply, must not let another run take the claimed messages).

    ``until`` is the ``_clock()`` moment the lease runs out as this run
    knows it: the moment its claim (or last renewal) began, plus the lease.
    Another run takes a message over only when its ``claimed_at`` is older
    than the lease (``Outbox._due``), so before ``until`` nothing of the
    claim can have been taken and the run sends without asking the
    database. A renewal by this thread moves ``until`` only when it
    finished before the lease ran out (then it renewed every message of the
    claim; after that, some may already be another run's, and the run asks
    the database before its next send)."""

    def __init__(self, lease_s: float):
        self.lease_s = lease_s
        self.every_s = lease_s / 3
        self.token: str | None = None
        self.until = 0.0
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox-lease", daemon=True)

    def hold(self, token: str, since: float):
        """The claim ``token`` is this run's, renewed at ``since`` (a
        ``_clock()`` moment taken before the claim or renewal began)."""
        with self._lock:
            self.token, self.until = token, since + self.lease_s

    def drop(self):
        with self._lock:
            self.token, self.until = None, 0.0

    def _run(self):
        try:
            while not self.stop.wait(self.every_s):
                with self._lock:
                    token = self.token
                if token is None:
                    continue
                began = _clock()
                try:
                    with db.transaction():
                        OutboxMessage.update(claimed_at=db.utcnow()).where(
                            (OutboxMessage.claim_token == token)
                            & (OutboxMessage.state == "sending")).execute()
                except Exception as exc:  # busy now: the next beat tries again, well within the lease
                    log.warning("could not renew the outbox lease: %s", exc)
                    continue
                finished = _clock()
                with self._lock:
                    if self.token == token and finished < self.until:
                        self.until = max(self.until, began + self.lease_s)
        finally:
            db.database.obj.close()  # this thread's own connection

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


# How often a run re-reads, within a claim, which of its messages it still
# owns (renewing their lease) and which addresses are suppressed: at each
# claim, then at most this many seconds apart (and whenever the lease is
# near its end). A suppression recorded by another process, or a message
# taken from the run, counts from the next check; one recorded by this
# process (a bounce during the run) counts at once.
CHECK_EVERY_S = 1.0

_open_runs: list = []            # the suppression sets of this process's delivery runs
_open_runs_lock = threading.Lock()


class _Suppressed:
    """The suppressed addresses a run knows: read from the database at each
    check, plus those this process suppresses while the run goes on."""

    def __init__(self):
        self.read: set = set()
        self.here: set = set()

    def __contains__(self, key) -> bool:
        return key in self.read or key in self.here

    def __enter__(self):
        with _open_runs_lock:
            _open_runs.append(self)
        return self

    def __exit__(self, *exc):
        with _open_runs_lock:
            _open_runs.remove(self)


def _tell_runs(channel: str, address: str, suppressed: bool):
    with _open_runs_lock:
        runs = list(_open_runs)
    for run in runs:
        if suppressed:
            run.here.add((channel, address))
        else:
            run.here.discard((channel, address))
            run.read.discard((channel, address))




def _relaxed_commit():
    """On PostgreSQL, let this transaction (a claim, or the outcomes of a
    window) commit without waiting for its WAL flush to disk: a crash of the
    database server may lose its last fraction of a second of them, which
    leaves those messages ``sending`` under an expired lease, delivered again
    with the same identity (at-least-once, as after a crash of the sender).
    A flush per 100 ms of sending was most of a fast receiver's time there."""
    if not db.is_sqlite():
        db.database.obj.execute_sql("SET LOCAL synchronous_commit TO OFF")


_AS_STORED = (pw.AutoField, pw.IntegerField, pw.CharField, pw.TextField)   # a driver's value is the field's


def _messages(ids) -> list:
    """The claimed messages, by id, as ``OutboxMessage`` instances built
    from plain rows: peewee's per-field ``setattr`` and a converter call per
    value on every row of a claim of a thousand cost more than the
    database's reading of them. Only the fields whose value the driver does
    not already give as the model holds it (the moments) are converted."""
    fields = OutboxMessage._meta.sorted_fields
    names = [f.name for f in fields]
    convert = [(i, f.python_value) for i, f in enumerate(fields) if type(f) not in _AS_STORED]
    sql, params = OutboxMessage.select(*fields).where(db.among(OutboxMessage.id, ids)) \
        .order_by(OutboxMessage.id).sql()
    out = []
    for row in db.database.obj.execute_sql(sql, params).fetchall():
        values = list(row)
        for i, python_value in convert:
            if values[i] is not None:
                values[i] = python_value(values[i])
        message = OutboxMessage(__no_default__=1)
        message.__data__ = dict(zip(names, values))
        out.append(message)
    return out


def _next_claim(claimed: int, took_s: float) -> int:
    """The size of a run's next claim: about ``CLAIM_TARGET_S`` of sending
    at the rate of the last claim, from ``CLAIM_MAX`` to ``CLAIM_BULK_MAX``."""
    if took_s <= 0:
        return CLAIM_BULK_MAX
    return max(CLAIM_MAX, min(CLAIM_BULK_MAX, int(claimed * CLAIM_TARGET_S / took_s)))


class Outbox:
    """``crm.outbox``: queue, deliver, retry, purge, suppress."""

    def __init__(self, crm):
        self.crm = crm

    # -- queueing --------------------------------------------------------
    def queue(self, channel, recipient, *, subject="", text="", html=None, key=None,
              meta=None, source="", partner_id=None, contact_id=None, recipient_name=""):
        """Write one message for later delivery; returns the OutboxMessage.

        :param key: idempotency key; queueing the same key again returns the
            message already queued instead of a second one (also when two
            transactions queue it at the same moment).
        """
        if channel not in self.crm.registry.channels:
            raise ValidationError({"channel": f"no channel {channel!r}; installed: "
                                              f"{', '.join(sorted(self.crm.registry.channels)) or 'none'}"})
        if not recipient:
            raise ValidationError({"recipient": "required"})
        for name, value in (("subject", subject), ("recipient", recipient), ("recipient_name", recipient_name)):
            check_header(name, value)
        for name, value in (("text", text), ("html", html)):
            if value and "\x00" in value:   # PostgreSQL cannot store it; no channel can send it
                raise ValidationError({name: "must not contain NUL characters"})
        key = key or f"{channel}:{source}:{recipient}:{uuid.uuid4().hex}"
        with db.transaction():
            existing = OutboxMessage.get_or_none(OutboxMessage.idempotency_key == key)
            if existing:
                return existing
            # ON CONFLICT DO NOTHING: a concurrent queue of the same key waits for
            # the other transaction and then finds its row, never a UniqueViolation
            OutboxMessage.insert(
                channel=channel, recipient=recipient, recipient_name=recipient_name,
                subject=subject, body_text=text, body_html=html,
                meta=json.dumps(meta or {}, ensure_ascii=False, default=str),
                source=source, partner_id=partner_id, contact_id=contact_id,
                idempotency_key=key, next_attempt_at=db.utcnow(), created_at=db.utcnow(),
            ).on_conflict_ignore().execute()
            return OutboxMessage.get(OutboxMessage.idempotency_key == key)

    # -- suppression -----------------------------------------------------
    def suppress(self, channel, address, reason=""):
        address = normalize_address(channel, address)
        with db.transaction():
            Suppression.insert(channel=channel, address=address, reason=reason,
                               created_at=db.utcnow()).on_conflict_ignore().execute()
        _tell_runs(channel, address, True)     # this process's running deliveries skip it at once
        return address

    def unsuppress(self, channel, address):
        address = normalize_address(channel, address)
        removed = Suppression.delete().where(
            (Suppression.channel == channel) & (Suppression.address == address)).execute()
        _tell_runs(channel, address, False)
        return removed

    def is_suppressed(self, channel, address) -> bool:
        return Suppression.select().where(
            (Suppression.channel == channel)
            & (Suppression.address == normalize_address(channel, address))).exists()

    # -- delivery --------------------------------------------------------
    @staticmethod
    def _due(channel, now, source, lease_s):
        """The condition of a message due for delivery: queued and due, or
        sending with an expired lease."""
        lease = now - dt.timedelta(seconds=lease_s)
        due = ((OutboxMessage.state == "queued") & (OutboxMessage.next_attempt_at <= now)) | \
              ((OutboxMessage.state == "sending") & (OutboxMessage.claimed_at < lease))
        if channel:
            due &= OutboxMessage.channel == channel
        if source:
            due &= OutboxMessage.source.in_([source] if isinstance(source, str) else list(source))
        return due

    def _claim(self, channel, now, limit, after, source, skip_channels, lease_s):
        """Claim due messages (queued, or sending with an expired lease) under
        a new token; returns (token, messages)."""
        due = self._due(channel, now, source, lease_s)
        if skip_channels:
            due &= OutboxMessage.channel.not_in(sorted(skip_channels))
        if after:  # claims go up by id: a message is attempted once per deliver() run
            due &= OutboxMessage.id > after
        token = uuid.uuid4().hex

        def claim():
            with db.transaction():
                _relaxed_commit()
                query = OutboxMessage.select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
                if not db.is_sqlite():
                    query = query.for_update(skip_locked=True)
                ids = [row[0] for row in query.tuples()]
                if ids:    # the ids as one parameter: a claim of hundreds is not built value by value
                    OutboxMessage.update(state="sending", claimed_at=db.utcnow(), claim_token=token).where(
                        db.among(OutboxMessage.id, ids)).execute()
            return ids

        ids = retry_busy(claim)
        return token, _messages(ids) if ids else []

    def _require_deliver(self):
        if not self.crm.actor.is_admin:
            raise AccessDenied("delivering the outbox sends every user's messages: administrators only")

    def deliver(self, channel=None, limit=1000, now=None, source=None, deadline_s=None) -> dict:
        """Deliver due messages; returns counts by outcome.

        Administrators only: a plugin that lets a user deliver their own
        messages (one mailing) checks that right and passes ``source``.

        :param source: only messages of this exact source (``marketing.mailing:5``),
            or of any of a list of sources.
        :param deadline_s: claim nothing new after this many seconds
            (default ``CRMKIT_OUTBOX_RUN_DEADLINE``, 270).

        The counts always hold ``sent``, ``retry``, ``failed`` and
        ``skipped``; ``unknown`` (outcome not known, see the docs),
        ``released`` (claimed, then given back untouched at the deadline or
        by an open circuit breaker) and ``lost`` (the claim was taken over:
        nothing recorded) appear when not zero.
        A channel with a ``session`` gets it opened once per run (one SMTP
        connection for the whole run) and closed at the end, errors included.
        """
        from contextlib import ExitStack
        from .progress import report_progress
        self._require_deliver()
        lease_s = _setting("CRMKIT_OUTBOX_LEASE", LEASE_S)
        run_ends = time.monotonic() + (deadline_s or _setting("CRMKIT_OUTBOX_RUN_DEADLINE", RUN_DEADLINE_S))
        per_message = _setting("CRMKIT_OUTBOX_MESSAGE_DEADLINE", MESSAGE_DEADLINE_S)
        breaker_at = int(_setting("CRMKIT_OUTBOX_BREAKER", BREAKER_FAILURES))
        now = now or db.utcnow()
        counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
        failures: dict[str, int] = {}     # connection failures in a row, per channel
        broken: set[str] = set()          # channels whose breaker opened in this run
        hook = self.crm.pm.hook
        after = 0
        total = min(limit, OutboxMessage.select().where(self._due(channel, now, source, lease_s)).count())   # what the progress bar counts to
        done = 0
        report_progress(done, total)
        # A send begins only with this much of the lease left (the time a
        # send may take before the heartbeat's next renewal, clock skew
        # between hosts): with less, the run first renews and re-reads what
        # it still owns.
        margin = min(per_message, lease_s / 2)
        with ExitStack() as stack:
            sessions = {}
            beat = stack.enter_context(_Heartbeat(lease_s))
            suppressed = stack.enter_context(_Suppressed())
            size = CLAIM_MAX
            while limit > 0 and time.monotonic() < run_ends:
                since = _clock()
                token, batch = self._claim(channel, now, min(limit, size), after, source, broken, lease_s)
                if not batch:
                    break
                claimed_at = time.monotonic()
                beat.hold(token, since)
                addresses = {m.id: (m.channel, normalize_address(m.channel, m.recipient)) for m in batch}
                owned = set(addresses)
                suppressed.read = self._suppressed(addresses.values())
                checked = since
                after = batch[-1].id
                untouched = {m.id for m in batch}
                pending: list = []        # outcomes not written yet: (message, outcome, fields, after)
                pending_since = 0.0       # when the oldest of them began
                try:
                    try:
                        for message in batch:
                            if time.monotonic() >= run_ends or message.channel in broken:
                                continue
                            untouched.discard(message.id)
                            spec = self.crm.registry.channels.get(message.channel)
                            if spec is not None and spec.session is not None and message.channel not in sessions:
                                sessions[message.channel] = stack.enter_context(spec.session(self.crm))
                            began = time.monotonic()
                            if pending and began - pending_since >= OUTCOME_WINDOW_S:
                                self._flush(token, pending, counts, hook)
                            moment = _clock()
                            if moment - checked >= CHECK_EVERY_S or moment + margin >= beat.until:
                                owned = self._renew(token, beat)
                                suppressed.read = self._suppressed(
                                    addresses[i] for i in owned if i in untouched or i == message.id)
                                checked = moment
                            result = self._deliver_one(message, message.id in owned,
                                                       addresses[message.id] in suppressed,
                                                       hook, per_message, failures)
                            if result is None:
                                counts["lost"] = counts.get("lost", 0) + 1
                            else:
                                if not pending:
                                    pending_since = began
                                pending.append((message, *result))
                                if result[0] not in ("sent", "skipped"):   # anything else is written at once
                                    self._flush(token, pending, counts, hook)
                            limit -= 1
                            done += 1
                            report_progress(min(done, total), total)
                            if failures.get(message.channel, 0) >= breaker_at:
                                broken.add(message.channel)
                                log.warning("outbox: %s stopped for this run after %d connection failures "
                                            "in a row", message.channel, failures[message.channel])
                    finally:
                        self._flush(token, pending, counts, hook)
                finally:
                    beat.drop()
                    if untouched:
                        counts["released"] = counts.get("released", 0) + self._release(token, untouched)
                size = _next_claim(len(batch), time.monotonic() - claimed_at)
        return counts

    def _release(self, token, ids) -> int:
        """Give claimed messages back untouched (state ``queued``, no attempt counted)."""
        def release():
            with db.transaction():
                return OutboxMessage.update(state="queued", claim_token=None, claimed_at=None).where(
                    (OutboxMessage.claim_token == token) & (OutboxMessage.state == "sending")
                    & OutboxMessage.id.in_(sorted(ids))).execute()
        try:
            return retry_busy(release)
        except Busy:  # never sent: once the lease expires another run takes them, no duplicate
            log.warning("outbox: could not give back %d claimed messages (database busy)", len(ids))
            return 0

    def _renew(self, token, beat) -> set:
        """Renew the lease of the claim ``token`` and read which of its
        messages this run still owns (``sending`` under its token): the
        check a run makes once per ``CHECK_EVERY_S`` and whenever its lease
        is near its end."""
        since = _clock()

        def renew():
            with db.transaction():
                _relaxed_commit()
                mine = (OutboxMessage.claim_token == token) & (OutboxMessage.state == "sending")
                OutboxMessage.update(claimed_at=db.utcnow()).where(mine).execute()
                return {row[0] for row in OutboxMessage.select(OutboxMessage.id).where(mine).tuples()}

        owned = retry_busy(renew)
        beat.hold(token, since)
        return owned

    @staticmethod
    def _suppressed(keys) -> set:
        """The ``(channel, address)`` pairs among ``keys`` on the suppression list."""
        by_channel: dict = {}
        for channel, address in keys:
            by_channel.setdefault(channel, set()).add(address)
        found = set()
        for channel, addresses in by_channel.items():
            rows = Suppression.select(Suppression.address).where(
                (Suppression.channel == channel) & db.among(Suppression.address, sorted(addresses))).tuples()
            found.update((channel, row[0]) for row in rows)
        return found

    def get(self, message_id):
        """One message by id, if it is about a partner the user may see."""
        from .errors import NotFound
        found = [m for m in self._visible(OutboxMessage.select().where(OutboxMessage.id == message_id))]
        if not found:
            raise NotFound(f"outbox message {message_id} not found")
        return found[0]

    def _flush(self, token, pending, counts, hook) -> None:
        """Write the outcomes in ``pending`` in one transaction, each only if
        this run still owns its claim (the fencing token), then count them
        and call the hooks that follow an outcome. Messages another run took
        over are counted ``lost`` and nothing of them is written. Messages
        with the same outcome fields are written by one UPDATE (``sent_at``
        is the latest moment among them: within ``OUTCOME_WINDOW_S``)."""
        if not pending:
            return
        items = list(pending)
        pending.clear()
        ids = [message.id for message, *_ in items]

        def write():
            with db.transaction():
                _relaxed_commit()
                query = OutboxMessage.select(OutboxMessage.id).where(
                    db.among(OutboxMessage.id, ids) & (OutboxMessage.claim_token == token)
                    & (OutboxMessage.state == "sending"))
                if not db.is_sqlite():
                    query = query.for_update()
                owned = {row[0] for row in query.tuples()}
                groups: dict = {}
                for message, _, fields, _ in items:
                    if message.id not in owned:
                        continue
                    shared = {k: v for k, v in fields.items() if k != "sent_at"}
                    group = groups.setdefault(tuple(sorted(shared.items())), [shared, [], None])
                    group[1].append(message.id)
                    if fields.get("sent_at") is not None:
                        group[2] = max(group[2] or fields["sent_at"], fields["sent_at"])
                for shared, group_ids, moment in groups.values():
                    values = dict(shared, claim_token=None, **({"sent_at": moment} if moment else {}))
                    OutboxMessage.update(**values).where(
                        db.among(OutboxMessage.id, group_ids) & (OutboxMessage.claim_token == token)
                        & (OutboxMessage.state == "sending")).execute()
                return owned

        owned = retry_busy(write)
        for message, outcome, fields, after in items:
            if message.id not in owned:
                log.warning("outbox: message %s was taken over by another run; its result is not recorded",
                            message.id)
                counts["lost"] = counts.get("lost", 0) + 1
                continue
            for k, v in fields.items():
                setattr(message, k, v)
            message.claim_token = None
            counts[outcome] = counts.get(outcome, 0) + 1
            try:
                if after and after[0] == "delivered":
                    hook.crmkit_outbox_delivered(crm=self.crm, message=message)
                elif after:
                    hook.crmkit_outbox_failed(crm=self.crm, message=message, error=after[1], permanent=after[2])
            except Exception:  # the outcome is recorded; a follower's error must not stop the queue
                log.exception("outbox: a hook after message %s failed", message.id)

    def _attempt(self, message, hook, per_message, failures, suppressed=False):
        """Try one message: (outcome, fields to record, hook to call after)."""
        spec = self.crm.registry.channels.get(message.channel)
        if spec is None:
            return "retry", dict(state="queued", next_attempt_at=db.utcnow() + backoff(1),
                                 last_error=f"channel {message.channel!r} is not installed"), None
        if suppressed:  # read at the run's last check, or suppressed by this process since
            return "skipped", dict(state="skipped", last_error="address is on the suppression list"), None
        reason = hook.crmkit_outbox_skip_reason(crm=self.crm, message=message)
        if reason:
            return "skipped", dict(state="skipped", last_error=str(reason)[:1000]), None
        attempts = message.attempts + 1
        _current.deadline = time.monotonic() + per_message
        try:
            spec.deliver(self.crm, message)
        except PermanentFailure as exc:
            failures[message.channel] = 0
            return "failed", dict(state="failed", attempts=attempts, last_error=str(exc)), \
                ("failed", str(exc), True)
        except UnknownOutcome as exc:
            failures[message.channel] = 0
            return "unknown", dict(state="unknown", attempts=attempts, last_error=str(exc)), None
        except (TemporaryFailure, OSError) as exc:
            failures[message.channel] = failures.get(message.channel, 0) + 1 \
                if isinstance(exc, (ConnectionFailure, ConnectionError)) else 0
            if attempts >= MAX_ATTEMPTS:
                error = f"gave up after {attempts} attempts: {exc}"
                return "failed", dict(state="failed", attempts=attempts, last_error=error), \
                    ("failed", str(exc), True)
            return "retry", dict(state="queued", attempts=attempts, last_error=str(exc),
                                 next_attempt_at=db.utcnow() + backoff(attempts)), ("failed", str(exc), False)
        except Busy as exc:  # the channel's own write failed: it may have sent
            return "unknown", dict(state="unknown", attempts=attempts,
                                   last_error=f"the channel could not record the delivery: {exc}"), None
        finally:
            _current.deadline = None
        failures[message.channel] = 0
        return "sent", dict(state="sent", attempts=attempts, sent_at=db.utcnow(), last_error=""), ("delivered",)

    def _deliver_one(self, message, owned, suppressed, hook, per_message, failures):
        """Try one message: ``(outcome, fields to record, hook to call
        after)``, or None when another run took it over (not sent)."""
        if not owned:
            return None
        try:
            return self._attempt(message, hook, per_message, failures, suppressed)
        except Exception as exc:  # a poison message (or a channel bug) fails alone, never the run
            log.exception("outbox: message %s cannot be delivered", message.id)
            return "failed", dict(state="failed", attempts=message.attempts + 1,
                                  last_error=f"cannot deliver: {type(exc).__name__}: {exc}"[:2000]), None

    def erase_personal(self, partner_id=None, contact_ids=()) -> int:
        """Blank the recipients and bodies of a person's messages (erasure)."""
        cond = OutboxMessage.id < 0
        if partner_id is not None:
            cond |= OutboxMessage.partner_id == partner_id
        if contact_ids:
            cond |= OutboxMessage.contact_id.in_(list(contact_ids))
        return OutboxMessage.update(recipient="erased", recipient_name="", subject="", body_text="",
                                    body_html=None, meta="{}").where(cond).execute()

    # -- operator verbs --------------------------------------------------
    def retry(self, ids=None, unknown=False) -> int:
        """Put failed messages (all, or the given ids) back in the queue.

        Messages whose outcome is ``unknown`` are requeued only when named by
        id or with ``unknown=True``: the receiver may already have them (it
        can drop the copy by its Message-ID, which stays the same).
        """
        states = ["failed", "unknown"] if (ids or unknown) else ["failed"]
        q = OutboxMessage.update(state="queued", next_attempt_at=db.utcnow(), attempts=0,
                                 claim_token=None).where(OutboxMessage.state.in_(states))
        if ids:
            q = q.where(OutboxMessage.id.in_(list(ids)))
        with db.transaction():
            return q.execute()

    def skip(self, ids, reason) -> int:
        """Mark queued messages ``skipped`` with ``reason``: they stay in the
        outbox as a record and are never delivered or retried (a demo's
        history, a message an administrator withdraws). Administrators only."""
        self._require_deliver()
        ids = [ids] if isinstance(ids, int) else list(ids)
        with db.transaction():
            return OutboxMessage.update(state="skipped", last_error=str(reason)[:1000]).where(
                (OutboxMessage.state == "queued") & OutboxMessage.id.in_(ids)).execute()

    def settle(self, ids, state="sent") -> int:
        """Record the outcome an operator found for ``unknown`` messages
        (``sent`` once the receiver's log shows the Message-ID, else ``failed``)."""
        if state not in ("sent", "failed"):
            raise ValidationError({"state": "sent or failed"})
        fields = {"state": state, "last_error": "settled by an operator"}
        if state == "sent":
            fields["sent_at"] = db.utcnow()
        with db.transaction():
            return OutboxMessage.update(**fields).where(
                (OutboxMessage.state == "unknown") & OutboxMessage.id.in_(list(ids))).execute()

    def purge(self, older_than_days, source_prefix=None, source=None) -> int:
        """Delete sent and skipped messages older than N days (of one
        ``source`` exactly, or of every source starting with ``source_prefix``)."""
        cutoff = db.utcnow() - dt.timedelta(days=older_than_days)
        q = OutboxMessage.delete().where(OutboxMessage.state.in_(["sent", "skipped"])
                                         & (OutboxMessage.created_at < cutoff))
        if source_prefix:
            q = q.where(OutboxMessage.source.startswith(source_prefix))
        if source:
            q = q.where(OutboxMessage.source == source)
        with db.transaction():
            return q.execute()

    def messages(self, state=None, channel=None, source=None, limit=100):
        q = OutboxMessage.select().order_by(OutboxMessage.id.desc()).limit(limit)
        if state:
            q = q.where(OutboxMessage.state == state)
        if channel:
            q = q.where(OutboxMessage.channel == channel)
        if source:
            q = q.where(OutboxMessage.source == source)
        return list(self._visible(q))

    def _visible(self, q):
        """Messages about partners the acting user may not see stay hidden."""
        if not self.crm.actor.is_admin:
            from .access import visible_filter
            partner_spec = self.crm.access_root()
            if partner_spec is not None:
                cond = visible_filter(self.crm.actor, partner_spec, self.crm.registry)
                if cond is not None:
                    visible = partner_spec.model.select(partner_spec.model.id).where(cond)
                    q = q.where(OutboxMessage.partner_id.is_null() | OutboxMessage.partner_id.in_(visible))
        return q

    def counts(self, source=None, by=("state",)) -> dict:
        """Message counts grouped by state, or by ``("state", "last_error")``
        to see why messages were skipped or failed."""
        allowed = {"state", "last_error", "channel", "source"}
        if not by or set(by) - allowed:
            raise ValidationError({"by": f"group by any of {', '.join(sorted(allowed))}"})
        fields = [getattr(OutboxMessage, name) for name in by]
        q = OutboxMessage.select(*fields, pw.fn.COUNT(OutboxMessage.id).alias("n")).group_by(*fields)
        if source:
            q = q.where(OutboxMessage.source == source)
        rows = self._visible(q).tuples()   # messages about hidden partners are not counted either
        if len(by) == 1:
            return {row[0]: row[1] for row in rows}
        return {tuple(row[:-1]): row[-1] for row in rows}
