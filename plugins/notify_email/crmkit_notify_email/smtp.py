"""SMTP sending with one connection kept open across a delivery run.

A connection per message costs a TCP handshake, the greeting, EHLO (and TLS
and AUTH) for every mail, which more than halves throughput. The open
connection lives in a per-thread cache, opened at the first message of a
run, and is closed when the kernel's delivery run ends (the channel's
``session``, ``run_session``), when it has been idle longer than
``CRMKIT_SMTP_IDLE``, after ``CRMKIT_SMTP_MAX_PER_CONNECTION`` messages, at
interpreter exit, or after any error that leaves its state unknown.

Server answers map to the kernel's outcomes: 4xx and connection problems are
``TemporaryFailure`` (retried with backoff), 5xx ``PermanentFailure``; a 5xx
for the recipient is a *hard bounce*, counted towards suppression.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import smtplib
import ssl
import threading
import time
from email.policy import compat32

from crmkit import PermanentFailure, TemporaryFailure

from .compose import envelope

HARD_BOUNCE = "hard bounce"
WIRE = compat32.clone(linesep="\r\n")
_local = threading.local()
_all_open: set = set()          # every cached connection, for atexit
_lock = threading.Lock()


class _Cached:
    def __init__(self, smtp, key):
        self.smtp, self.key = smtp, key
        self.sent = 0
        self.last_used = time.monotonic()
        self.pid = os.getpid()


def _connect(settings):
    try:
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password)
        return smtp
    except smtplib.SMTPAuthenticationError as exc:
        # a settings problem: keep the mail queued until someone fixes them
        raise TemporaryFailure(f"SMTP login refused for user {settings.user!r}: {exc.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryFailure(f"cannot connect to {settings.host}:{settings.port}: {exc}") from None


def _drop(cached):
    if cached is None:
        return
    with _lock:
        _all_open.discard(cached)
    if getattr(_local, "conn", None) is cached:
        _local.conn = None
    try:
        cached.smtp.quit()
    except (OSError, smtplib.SMTPException):
        try:
            cached.smtp.close()
        except OSError:
            pass


def _connection(settings) -> _Cached:
    cached = getattr(_local, "conn", None)
    key = settings.connection_key()
    if cached is not None and (cached.key != key or cached.pid != os.getpid()
                               or time.monotonic() - cached.last_used > settings.idle_s
                               or (settings.max_per_connection and cached.sent >= settings.max_per_connection)):
        if cached.pid == os.getpid():
            _drop(cached)
        _local.conn = cached = None
    if cached is None:
        cached = _Cached(_connect(settings), key)
        _local.conn = cached
        with _lock:
            _all_open.add(cached)
    return cached


def close_connections():
    """Close this thread's cached connection (end of a delivery run)."""
    _drop(getattr(_local, "conn", None))


@contextlib.contextmanager
def run_session(crm):
    """The channel's session: one delivery run of the kernel's outbox."""
    try:
        yield
    finally:
        close_connections()


@atexit.register
def _close_all():
    with _lock:
        items = [c for c in _all_open if c.pid == os.getpid()]
    for cached in items:
        try:
            cached.smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass


def _code_text(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def send(settings, mail) -> None:
    """Send one composed email; raises Temporary/PermanentFailure."""
    sender, recipients = envelope(mail)
    data = mail.as_bytes(policy=WIRE)
    for attempt in (1, 2):
        cached = _connection(settings)
        reused = cached.sent > 0
        try:
            cached.smtp.sendmail(sender, recipients, data)
        except smtplib.SMTPServerDisconnected as exc:
            _drop(cached)
            if reused and attempt == 1:
                continue  # the server closed an idle connection: once more on a new one
            raise TemporaryFailure(f"server disconnected: {exc}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            cached.last_used = time.monotonic()
            code, text = next(iter(exc.recipients.values()))
            detail = _code_text(code, text)
            if 500 <= code < 600:
                raise PermanentFailure(f"{HARD_BOUNCE}: {detail}") from None
            raise TemporaryFailure(f"recipient deferred: {detail}") from None
        except smtplib.SMTPSenderRefused as exc:
            cached.last_used = time.monotonic()
            detail = _code_text(exc.smtp_code, exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"sender refused: {detail}") from None
            raise TemporaryFailure(f"sender deferred: {detail}") from None
        except smtplib.SMTPResponseException as exc:  # DATA refused, and others
            cached.last_used = time.monotonic()
            detail = _code_text(exc.smtp_code, exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"message refused: {detail}") from None
            if exc.smtp_code in (421,):
                _drop(cached)  # the server is closing the connection
            raise TemporaryFailure(f"message deferred: {detail}") from None
        except (OSError, smtplib.SMTPException) as exc:
            _drop(cached)  # timeout or broken pipe: the session state is unknown
            raise TemporaryFailure(f"SMTP error: {exc}") from None
        cached.sent += 1
        cached.last_used = time.monotonic()
        return
