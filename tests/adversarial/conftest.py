"""Shared pieces of the adversarial suite.

- ``INSTALLED``: every crmkit plugin installed in this environment; the
  sweeping tests (access, mass assignment) run over all of them, so a
  plugin that lands later is swept without editing the suite.
- ``adv_url``: a database of the module's own (SQLite file, or a scratch
  PostgreSQL database) for module-scoped worlds that are expensive to build.
- ``ADVERSARY``: an in-memory plugin giving the role ``everything``
  (every verb on every entity, yet not an administrator), so that access
  tests reach the row-level filter instead of stopping at the role check.
- ``run_cli``: runs the ``crmkit`` command in-process against a world and
  puts the world's connection back afterwards.
"""
from __future__ import annotations

import os
import types
import uuid
from importlib.metadata import entry_points

import pytest

import crmkit

PG_ENV = "CRMKIT_TEST_POSTGRES_URL"
ALL_PLUGINS = ("deals", "marketing", "claims", "analysis", "notify_email", "notify_sms", "leads", "files")
INSTALLED = tuple(sorted({ep.name for ep in entry_points(group="crmkit")} & set(ALL_PLUGINS)))
SPY_ROLES = "everything,manager,marketer,claims_officer,analyst"


def installed(*names) -> bool:
    return all(n in INSTALLED for n in names)


def needs(*names):
    """Skip a test (or a module) unless the named plugins are installed."""
    return pytest.mark.skipif(not installed(*names), reason=f"needs plugin(s) {', '.join(names)}")


def _adversary():
    mod = types.ModuleType("crmkit_adversary")
    mod.PLUGIN = crmkit.PluginMeta(name="adversary")

    @crmkit.hookimpl
    def crmkit_register_roles(register):
        register(crmkit.RoleSpec("everything", {"*": "rcud"}))

    mod.crmkit_register_roles = crmkit_register_roles
    return mod


ADVERSARY = _adversary()


def backends():
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


def _close_proxy():
    from crmkit.kernel.db import database
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()


@pytest.fixture(scope="module", params=backends())
def adv_url(request, tmp_path_factory):
    """A fresh database owned by one test module (and one backend)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('adv') / 'world.db'}"
        _close_proxy()
        return
    import psycopg2
    url = os.environ[PG_ENV]
    base = url.rpartition("/")[0]
    name = f"crmkit_adv_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    _close_proxy()
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def use(crm):
    """Point the shared connection proxy back at ``crm``'s database."""
    from crmkit.kernel.db import database
    if crm.db.is_closed():
        crm.db.connect()
    database.initialize(crm.db)
    return crm


_roots: dict = {}


def run_cli(crm, url, *args, user=None, plugins=INSTALLED):
    """``crmkit --db URL [--user U] ARGS`` in-process; returns click's Result."""
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    from crmkit.kernel.db import database
    key = tuple(plugins)
    if key not in _roots:  # build_cli fills one global group: keep our plugin manager
        root = build_cli(only=list(plugins))
        _roots[key] = (root, root.plugin_manager)
    root, pm = _roots[key]
    root.plugin_manager = pm
    opts = ["--db", url] + (["--user", user] if user else [])
    try:
        return CliRunner().invoke(root, [*opts, *map(str, args)], catch_exceptions=True)
    finally:
        if database.obj is not crm.db and database.obj is not None:
            database.obj.close()
        use(crm)
