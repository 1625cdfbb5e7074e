"""Progress of long work: the work reports how far it is
(``crmkit.report_progress(done, total)``), and whoever started it decides
whether and how to show it. The CLI shows a bar on a terminal
(``crmkit.cli.progress_bar``); the HTTP API and the web listen to nothing,
so reporting costs a context-variable read.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager

_listener = contextvars.ContextVar("crmkit_progress", default=None)


def report_progress(done: int, total: int | None = None, label: str | None = None) -> None:
    """Say that ``done`` of ``total`` units of the current work are done
    (``label``: what is being done now, e.g. "classifying products")."""
    listener = _listener.get()
    if listener is not None:
        listener(done, total, label)


@contextmanager
def progress_to(listener):
    """Within the block, ``report_progress`` calls ``listener(done, total, label)``."""
    token = _listener.set(listener)
    try:
        yield listener
    finally:
        _listener.reset(token)
