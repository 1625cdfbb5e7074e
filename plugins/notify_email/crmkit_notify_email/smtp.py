"""SMTP sending with one connection kept open across a delivery run.

A connection per message costs a TCP handshake, the greeting, EHLO (and TLS
and AUTH) for every mail, which more than halves throughput. The open
connection lives in a per-thread cache, opened at the first message of a
run, and is closed when the kernel's delivery run ends (the channel's
``session``, ``run_session``), when it has been idle longer than
``CRMKIT_SMTP_IDLE``, after ``CRMKIT_SMTP_MAX_PER_CONNECTION`` messages, at
interpreter exit, or after any error that leaves its state unknown.

Server answers map to the kernel's outcomes: 4xx are ``TemporaryFailure``
(retried with backoff), a connection that cannot be made or breaks before the
message is handed over is a ``ConnectionFailure`` (retried, and counted by the
kernel's circuit breaker), 5xx ``PermanentFailure``; a 5xx for the recipient
is a *hard bounce*, counted towards suppression.

The reply to the final dot gets its own long timeout (``CRMKIT_SMTP_DATA_TIMEOUT``,
600 s as RFC 5321 4.5.3.2.6 recommends): the server is processing the message
then, and a short timeout taken for an idle disconnect would send it twice.
A connection that breaks, or a deadline that passes, after the whole message
and its final dot were written is an ``UnknownOutcome``: the server may have
queued it, so it is not retried by itself.

Every wait is bounded: the connection phase (greeting, EHLO, TLS, AUTH) by
``CRMKIT_SMTP_TIMEOUT`` in all, the message by the outbox's per-message
deadline. A watchdog thread shuts the socket down when a bound passes, which
also ends a server's endless ``220-`` greeting or a trickle of bytes.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import re
import smtplib
import socket
import ssl
import threading
import time
from email.policy import compat32

from crmkit import ConnectionFailure, PermanentFailure, TemporaryFailure, UnknownOutcome, delivery_deadline

from .compose import envelope

HARD_BOUNCE = "hard bounce"
WIRE = compat32.clone(linesep="\r\n")
_local = threading.local()
_all_open: set = set()          # every cached connection, for atexit
_lock = threading.Lock()


class _Watchdog:
    """Shuts down the socket of an SMTP session whose deadline passed (a
    blocked read then returns at once). One thread for the process, polling:
    deadlines are seconds long, so a fifth of a second late is fine."""

    def __init__(self):
        self.armed: dict = {}       # id(smtp) -> (deadline, smtp)
        self.lock = threading.Lock()
        self.thread = None

    def arm(self, smtp, deadline):
        smtp.deadline_passed = False
        with self.lock:
            self.armed[id(smtp)] = (deadline, smtp)
            if self.thread is None or not self.thread.is_alive() or self.pid != os.getpid():
                self.pid = os.getpid()
                self.thread = threading.Thread(target=self._run, name="smtp-watchdog", daemon=True)
                self.thread.start()

    def disarm(self, smtp):
        with self.lock:
            self.armed.pop(id(smtp), None)

    def _run(self):
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            with self.lock:
                late = [smtp for deadline, smtp in self.armed.values() if deadline <= now]
                for smtp in late:
                    self.armed.pop(id(smtp), None)
            for smtp in late:
                smtp.deadline_passed = True
                sock = getattr(smtp, "sock", None)
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


WATCHDOG = _Watchdog()


class _Session:
    """What crmkit adds to smtplib: the watchdog armed from the first byte,
    and DATA with a long wait for the final-dot reply."""

    connect_deadline = None
    data_timeout = 600.0
    final_dot_sent = False
    deadline_passed = False

    def _get_socket(self, host, port, timeout):
        if self.connect_deadline is not None:
            WATCHDOG.arm(self, self.connect_deadline)   # before the greeting is read
        return super()._get_socket(host, port, timeout)

    def data(self, msg):
        self.final_dot_sent = False
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        data = re.sub(rb"(?m)^\.", b"..", msg)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        self.send(data + b".\r\n")
        self.final_dot_sent = True
        self.sock.settimeout(self.data_timeout)
        try:
            return self.getreply()
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)


class _SMTP(_Session, smtplib.SMTP):
    pass


class _SMTP_SSL(_Session, smtplib.SMTP_SSL):
    pass


class _Cached:
    def __init__(self, smtp, key):
        self.smtp, self.key = smtp, key
        self.sent = 0
        self.last_used = time.monotonic()
        self.pid = os.getpid()


def _message_deadline(settings) -> float:
    """The outbox's per-message deadline, or (outside a delivery run, as in
    ``email test``) enough for a connection and the final-dot wait."""
    return delivery_deadline() or time.monotonic() + settings.data_timeout + 2 * settings.timeout


def _connect(settings):
    deadline = min(_message_deadline(settings), time.monotonic() + settings.timeout)
    if settings.security == "ssl":
        smtp = _SMTP_SSL(timeout=settings.timeout, context=ssl.create_default_context())
    else:
        smtp = _SMTP(timeout=settings.timeout)
    smtp.connect_deadline, smtp.data_timeout = deadline, settings.data_timeout
    try:
        smtp.connect(settings.host, settings.port)
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password)
        return smtp
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        # a settings problem: keep the mail queued until someone fixes them
        raise ConnectionFailure(f"SMTP login refused for user {settings.user!r}: {exc.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        if smtp.deadline_passed:
            exc = f"no complete greeting within {settings.timeout:g} s (CRMKIT_SMTP_TIMEOUT)"
        raise ConnectionFailure(f"cannot connect to {settings.host}:{settings.port}: {exc}") from None
    finally:
        WATCHDOG.disarm(smtp)


def _drop(cached, polite=True):
    """Forget a cached connection: QUIT when it is healthy, else just close
    (a stalled server would make QUIT wait once more)."""
    if cached is None:
        return
    with _lock:
        _all_open.discard(cached)
    if getattr(_local, "conn", None) is cached:
        _local.conn = None
    try:
        if not polite:
            raise OSError
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


def _mail_bytes(mail) -> bytes:
    try:
        return mail.as_bytes(policy=WIRE)
    except Exception as exc:  # a header the generator cannot write: this message fails alone
        raise PermanentFailure(f"cannot write the email: {type(exc).__name__}: {exc}") from None


def send(settings, mail) -> None:
    """Send one composed email; raises Temporary/Connection/PermanentFailure or UnknownOutcome."""
    sender, recipients = envelope(mail)
    data = _mail_bytes(mail)
    for attempt in (1, 2):
        cached = _connection(settings)
        reused = cached.sent > 0
        smtp = cached.smtp
        smtp.final_dot_sent = False
        WATCHDOG.arm(smtp, _message_deadline(settings))
        try:
            smtp.sendmail(sender, recipients, data)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:  # a definite answer
            cached.last_used = time.monotonic()
            _raise_for_answer(cached, exc)
        except (OSError, smtplib.SMTPException) as exc:
            _drop(cached, polite=False)   # disconnect, timeout, deadline: the session state is unknown
            if smtp.final_dot_sent:
                why = "the message deadline passed" if smtp.deadline_passed else f"{type(exc).__name__}: {exc}"
                raise UnknownOutcome(f"no answer to the end of the message ({why}): the server may "
                                     f"have accepted it") from None
            if isinstance(exc, smtplib.SMTPServerDisconnected) and reused and attempt == 1 \
                    and not smtp.deadline_passed:
                continue  # the server closed an idle connection: once more on a new one
            if smtp.deadline_passed:
                raise ConnectionFailure("the message deadline passed before the server took it") from None
            raise ConnectionFailure(f"SMTP error: {type(exc).__name__}: {exc}") from None
        finally:
            WATCHDOG.disarm(smtp)
        cached.sent += 1
        cached.last_used = time.monotonic()
        return


def _raise_for_answer(cached, exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        detail = _code_text(code, text)
        if 500 <= code < 600:
            raise PermanentFailure(f"{HARD_BOUNCE}: {detail}") from None
        raise TemporaryFailure(f"recipient deferred: {detail}") from None
    detail = _code_text(exc.smtp_code, exc.smtp_error)
    what = "sender" if isinstance(exc, smtplib.SMTPSenderRefused) else "message"
    if 500 <= exc.smtp_code < 600:
        raise PermanentFailure(f"{what} refused: {detail}") from None
    if exc.smtp_code == 421:
        _drop(cached)  # the server is closing the connection
    raise TemporaryFailure(f"{what} deferred: {detail}") from None
