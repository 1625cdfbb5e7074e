"""Test doubles for the crash tests, loaded by the parent test and by the
driver subprocess alike: a recording channel for ``email`` and ``pigeon``,
and a plugin whose one migration is slow enough to be killed half-way."""
from __future__ import annotations

import os
import time
import types
from pathlib import Path

import crmkit


def tick(label="tick"):
    """Tell the parent test one more unit of work is written (and pause)."""
    print(label, flush=True)
    time.sleep(float(os.environ.get("CRASH_PAUSE", "0")))


def _deliver(crm, message):
    with open(os.environ["CRASH_LOG"], "a", encoding="utf-8") as fh:
        fh.write(f"{message.id} {message.idempotency_key}\n")
        fh.flush()
        os.fsync(fh.fileno())
    tick()


def channel_plugin():
    mod = types.ModuleType("crashkit_channels")
    mod.PLUGIN = crmkit.PluginMeta(name="crashkit")

    @crmkit.hookimpl
    def crmkit_register_channels(register):
        register(crmkit.ChannelSpec("pigeon", _deliver))
        register(crmkit.ChannelSpec("email", _deliver, address_kind="email"))

    mod.crmkit_register_channels = crmkit_register_channels
    return mod


MIGRATIONS = Path(__file__).parent / "crashmig_migrations"
MIGRATION_ROWS = 600


def migration_plugin():
    mod = types.ModuleType("crashkit_migrations")
    mod.PLUGIN = crmkit.PluginMeta(name="crashmig", migrations=str(MIGRATIONS))
    return mod
