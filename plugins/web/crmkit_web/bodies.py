"""A request body that does not come is cut off (``crmkit serve``).

gunicorn reads a request's body from a blocking socket without a timeout:
a client that announces a body and sends it slowly or never (a
"slowloris" upload: ``Content-Length: 100000`` and a few bytes) holds a
worker thread for as long as it likes, and a handful of them holds every
thread of the server (measured: two such connections left a two-thread
server answering nothing). Bodies are bounded here by time as well as size:

- no byte for ``CRMKIT_BODY_IDLE_SECONDS`` (default 30): the read fails;
- the whole body within that time plus its length at
  ``CRMKIT_BODY_MIN_RATE`` bytes a second (default 16 KiB/s: 20 MiB in
  about 21 minutes; a chunked body: what has come so far at that rate),
  else the socket's reading side is shut down by a watchdog thread checking
  every half second.

The view then sees the client as disconnected (werkzeug's
``ClientDisconnected``, a 400 nobody reads) and writes nothing (an upload
is recorded only once its body is read whole); the connection is closed.
"""
from __future__ import annotations

import os
import socket
import threading
import time

IDLE_S = 30.0
MIN_RATE = 16 * 1024


def _setting(name, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        from crmkit import StartupError
        raise StartupError(f"{name}={raw!r} is not a positive number")
    return value


class _Watchdog:
    """One thread per process: shuts the reading side of the sockets whose
    body ran past its deadline (a blocked ``recv`` then returns)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bodies: dict = {}   # id -> _Body
        self.thread = None

    def add(self, body):
        with self.lock:
            self.bodies[id(body)] = body
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="crmkit-body-deadline", daemon=True)
                self.thread.start()

    def remove(self, body):
        with self.lock:
            self.bodies.pop(id(body), None)

    def _run(self):
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            with self.lock:
                late = [b for b in self.bodies.values() if b.deadline() <= now]
                for body in late:
                    self.bodies.pop(id(body), None)
            for body in late:
                body.cut()


WATCHDOG = _Watchdog()


class _Body:
    """``wsgi.input`` read under the idle timeout and the deadline."""

    def __init__(self, stream, sock, length, idle, rate):
        self.stream, self.sock, self.idle, self.rate = stream, sock, idle, rate
        self.start, self.length, self.got, self.late = time.monotonic(), length, 0, False

    def deadline(self) -> float:
        return self.start + self.idle + max(self.length or 0, self.got) / self.rate

    def cut(self):
        self.late = True
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def _failed(self, exc=None):
        from werkzeug.exceptions import ClientDisconnected
        why = "the request's body came too slowly" if self.late else "the request's body stopped coming"
        raise ClientDisconnected(why) from exc

    def read(self, *args):
        if self.late:
            self._failed()
        try:
            data = self.stream.read(*args)
        except Exception as exc:   # a timeout, or gunicorn's NoMoreData after the cut: the client failed
            self._failed(exc)
        if self.late:
            self._failed()
        self.got += len(data)
        return data

    def readline(self, *args):
        if self.late:
            self._failed()
        try:
            data = self.stream.readline(*args)
        except Exception as exc:
            self._failed(exc)
        self.got += len(data)
        return data

    def __iter__(self):
        return iter(self.readline, b"")


def settings() -> tuple:
    """``(idle seconds, minimum bytes a second)``; a bad value fails naming it."""
    return _setting("CRMKIT_BODY_IDLE_SECONDS", IDLE_S), _setting("CRMKIT_BODY_MIN_RATE", MIN_RATE)


def bounded_bodies(app):
    """``app`` with each request body under the idle timeout and the
    deadline (gunicorn's ``gunicorn.socket``; another server: unchanged)."""
    idle, rate = settings()

    def wrapped(environ, start_response):
        sock = environ.get("gunicorn.socket")
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower()
        if sock is None or not (chunked or (length.isdigit() and int(length) > 0)):
            return app(environ, start_response)
        body = _Body(environ["wsgi.input"], sock, int(length) if length.isdigit() else None, idle, rate)
        environ["wsgi.input"] = body
        try:
            sock.settimeout(idle)   # gthread makes it blocking again (no timeout) for the next request
        except OSError:
            pass
        WATCHDOG.add(body)
        try:
            result = app(environ, start_response)
        except BaseException:
            WATCHDOG.remove(body)
            raise
        return _Closing(result, lambda: WATCHDOG.remove(body))

    return wrapped


class _Closing:
    """The response iterable, leaving the watchdog when the server closes it."""

    def __init__(self, result, done):
        self.result, self.done = result, done

    def __iter__(self):
        return iter(self.result)

    def close(self):
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self.done()
