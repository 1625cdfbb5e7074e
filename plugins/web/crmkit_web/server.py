"""gunicorn running ``create_app`` in prefork worker processes.

Each worker builds the application after the fork, so each has its own
database connection (opened per request) and nothing is shared between
processes but the database. Access log lines never carry a token: the
``Authorization`` header is not logged, and the path of an unsubscribe
link (``/u/<token>``) is logged as ``/u/…``.
"""
from __future__ import annotations

import re

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

THREADS = 4            # threads per worker (gthread; crmkit serve --threads); 1: sync workers
KEEPALIVE_S = 5        # seconds an idle keep-alive connection is kept open
SECRET_PATH = re.compile(r"^(/u/|/ics/)[^/?\s]+")


class RedactingLogger(Logger):
    """gunicorn's logger with unsubscribe tokens and calendar feed secrets cut out of request lines."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("U", "r"):
            if name in atoms:
                atoms[name] = SECRET_PATH.sub(r"\1…", atoms[name]) if name == "U" else \
                    re.sub(r"(\s/u/|\s/ics/)[^/?\s]+", r"\1…", atoms[name])
        if "q" in atoms and "token" in atoms["q"].lower():
            atoms["q"] = "…"
        return atoms


class Server(BaseApplication):
    def __init__(self, db_url, options):
        self.db_url = db_url
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .app import create_app
        from .bodies import bounded_bodies
        return bounded_bodies(create_app(self.db_url, migrate=False))   # a body that does not come is cut off


def run(db_url=None, host="127.0.0.1", port=8000, workers=2, timeout=60, access_log=True, threads=THREADS):
    from .app import create_app
    create_app(db_url, migrate=True)   # migrate once, before the workers start
    from .bodies import settings
    settings()   # a bad CRMKIT_BODY_* fails here, naming it, not in every worker
    options = {
        "bind": f"{host}:{port}", "workers": workers, "timeout": timeout,
        "logger_class": RedactingLogger, "accesslog": "-" if access_log else None,
        "errorlog": "-", "forwarded_allow_ips": "127.0.0.1", "limit_request_line": 8190,
        "limit_request_fields": 100, "limit_request_field_size": 8190,
    }
    options.update(worker_options(threads))
    Server(db_url, options).run()


def worker_options(threads: int) -> dict:
    """gunicorn's worker settings for ``threads`` per worker: ``gthread``
    with HTTP keep-alive (a client's next request on the same connection
    costs no accept and no wake-up of every idle worker), or one thread per
    worker with ``sync`` workers (a connection per request)."""
    if threads <= 1:
        return {"worker_class": "sync"}
    return {"worker_class": "gthread", "threads": threads, "keepalive": KEEPALIVE_S}
