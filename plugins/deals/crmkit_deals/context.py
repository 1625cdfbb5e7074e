"""Per-call context the API hands to the hooks of the write it makes.

``moment``: when a move happened (now, or a past moment an administrator
records, e.g. when loading history from another system). ``process``: the
move is made by a process-driven kind's route, not by hand.
"""
from __future__ import annotations

import contextlib
import contextvars

from crmkit import utcnow

_moment = contextvars.ContextVar("deals_moment", default=None)
_process = contextvars.ContextVar("deals_process_move", default=False)


def moment():
    return _moment.get() or utcnow()


def explicit_moment():
    return _moment.get()


def process_move() -> bool:
    return _process.get()


@contextlib.contextmanager
def acting(at=None, process=None):
    tokens = []
    if at is not None:
        tokens.append((_moment, _moment.set(at)))
    if process is not None:
        tokens.append((_process, _process.set(process)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
