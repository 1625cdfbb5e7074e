"""pytest plugin for crmkit and its plugins (installed as ``pytest11``).

Fixtures:

- ``db_url``: a fresh empty database, once on SQLite and once on PostgreSQL
  when ``CRMKIT_TEST_POSTGRES_URL`` is set (tests run on both).
- ``crm``: ``crmkit.open(db_url)`` as the system user, with every installed
  plugin, or those named by ``@pytest.mark.plugins("deals", ...)``.
- ``open_crm``: ``open_crm(user=None, plugins=None)`` for more sessions on
  the same database (other users).
- ``cli``: ``cli("report", "list", user="orlov")`` runs the ``crmkit``
  command against the same database and returns click's Result.
"""
from __future__ import annotations

import os
import uuid

import pytest

PG_ENV = "CRMKIT_TEST_POSTGRES_URL"


def pytest_configure(config):
    config.addinivalue_line("markers", "plugins(*names): load only these plugins (core always)")
    config.addinivalue_line("markers", "sqlite_only: a test that only makes sense on SQLite")


def _backends():
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


@pytest.fixture(scope="session")
def _pg_server():
    """One scratch PostgreSQL database per test session, dropped at the end."""
    url = os.environ.get(PG_ENV)
    if not url:
        yield None
        return
    import psycopg2
    base, _, _ = url.rpartition("/")
    name = f"crmkit_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    from crmkit.kernel.db import database
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=_backends())
def db_url(request, tmp_path, _pg_server):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite only")
    import psycopg2
    from crmkit.kernel.db import database
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()
    conn = psycopg2.connect(_pg_server)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    conn.close()
    yield _pg_server


@pytest.fixture
def open_crm(request, db_url):
    import crmkit
    marker = request.node.get_closest_marker("plugins")
    default = list(marker.args) if marker else None
    opened = []

    def factory(user=None, plugins=None, **kwargs):
        crm = crmkit.open(db_url, user=user, plugins=plugins if plugins is not None else default, **kwargs)
        opened.append(crm)
        return crm

    yield factory
    for crm in opened:
        crm.close()


@pytest.fixture
def crm(open_crm):
    return open_crm()


@pytest.fixture
def cli(request, db_url, crm):
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    marker = request.node.get_closest_marker("plugins")
    root = build_cli(only=list(marker.args) if marker else None)
    runner = CliRunner()

    def run(*args, user=None, input=None, lang=None):
        opts = ["--db", db_url] + (["--user", user] if user else []) + (["--lang", lang] if lang else [])
        return runner.invoke(root, [*opts, *map(str, args)], input=input, catch_exceptions=False)

    return run
