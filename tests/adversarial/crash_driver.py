"""Runs one unit of work in a process of its own, printing ``tick`` as it
writes, so that tests/adversarial/test_crashes.py can SIGKILL it half-way.

    python -m tests.adversarial.crash_driver ACTION DB_URL [ARG]

ACTION: import (ARG = CSV path), deliver (ARG = ISO time "now"), send
(ARG = mailing id), classify (ARG = as-of date), migrate.
"""
from __future__ import annotations

import datetime as dt
import sys

import crmkit

from tests.adversarial import crashkit


def after(module, name):
    """Make ``module.name`` tick after each call (the write is done, the
    transaction not yet committed)."""
    original = getattr(module, name)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        crashkit.tick()
        return result

    setattr(module, name, wrapped)


def main(action, url, arg=None):
    if action == "import":
        from crmkit.kernel import importer
        after(importer, "_write_rows")
        crm = crmkit.open(url, plugins=[])
        print(crm.import_file("core.partner", arg, chunk=2000)["written"], flush=True)
    elif action == "deliver":
        crm = crmkit.open(url, plugins=[], extra=[crashkit.channel_plugin()])
        now = dt.datetime.fromisoformat(arg) if arg else None
        print(crm.outbox.deliver(now=now), flush=True)
    elif action == "send":
        from crmkit_marketing import mailings
        after(mailings, "queue_message")
        crm = crmkit.open(url, plugins=["marketing"], extra=[crashkit.channel_plugin()])
        print(mailings.send(crm, int(arg)), flush=True)
    elif action == "classify":
        from crmkit_analysis import classify
        after(classify, "_store")
        crm = crmkit.open(url, plugins=["analysis"])
        print(classify.run(crm, "partner", as_of=arg)["items"], flush=True)
    elif action == "migrate":
        crm = crmkit.open(url, plugins=[], extra=[crashkit.migration_plugin()])
        print(crm.count("core.partner"), flush=True)
    else:
        raise SystemExit(f"unknown action {action!r}")
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
