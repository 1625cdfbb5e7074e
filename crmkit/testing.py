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
- ``browser`` (session) and ``page``: a headless Chromium driven by
  Playwright, skipped with the reason where none is installed;
  ``screenshot(page, name)`` saves a PNG into ``screenshots/``.
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
    # a test database need not outlive a server crash: commits do not wait for the WAL flush
    admin.cursor().execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    yield f"{base}/{name}"
    from crmkit.kernel.db import database
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def _sqlite_templates(tmp_path_factory):
    """Migrated empty SQLite files, one per plugin set: a test starts from a
    copy instead of running every migration again."""
    return {"dir": tmp_path_factory.mktemp("templates"), "files": {}}


def _plugin_key(request):
    marker = request.node.get_closest_marker("plugins")
    return tuple(sorted(marker.args)) if marker else None


def _close_current():
    from crmkit.kernel.db import database
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()


@pytest.fixture(params=_backends())
def db_url(request, tmp_path, _pg_server, _sqlite_templates):
    """An empty, migrated database: a copy of a template file on SQLite; the
    session's scratch database with every table emptied (and every
    partition dropped) on PostgreSQL."""
    import shutil
    key = _plugin_key(request)
    if request.param == "sqlite":
        files = _sqlite_templates["files"]
        if key not in files:
            import crmkit
            path = _sqlite_templates["dir"] / f"template-{len(files)}.db"
            crmkit.open(f"sqlite:///{path}", plugins=list(key) if key is not None else None).close()
            files[key] = path
        shutil.copyfile(files[key], tmp_path / "crm.db")
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite only")
    import psycopg2
    _close_current()
    conn = psycopg2.connect(_pg_server)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r'")
    partitions = [row[0] for row in cur.fetchall()]
    if partitions:  # loaded by crm.load_partition: a table per key, gone with its rows
        cur.execute("DROP TABLE " + ", ".join(f'"{t}"' for t in partitions))
    _empty_tables(cur)
    conn.close()
    yield _pg_server


def _empty_tables(cur):
    """Empty every table that has rows and restart their used sequences (the
    migration records keep theirs).
    TRUNCATE of all ~80 tables cost a second per test (a new file per
    table); deleting from the few that have rows, with foreign-key
    triggers off for the moment (replica role), costs milliseconds."""
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT LIKE '%%schema_migration'")
    tables = [row[0] for row in cur.fetchall()]   # tables of the plugins migrated so far stay; their rows go
    if tables:
        cur.execute("SELECT " + " || ".join(
            f"(CASE WHEN EXISTS (SELECT 1 FROM \"{t}\") THEN '{t},' ELSE '' END)" for t in tables))
        full = [t for t in cur.fetchone()[0].split(",") if t]
        if full:
            cur.execute("SET session_replication_role = replica; "
                        + "".join(f'DELETE FROM "{t}"; ' for t in full)
                        + "SET session_replication_role = DEFAULT")
    cur.execute("SELECT q.seq FROM (SELECT format('%I.%I', schemaname, sequencename) AS seq FROM pg_sequences "
                "WHERE last_value IS NOT NULL) q WHERE NOT EXISTS (SELECT 1 FROM pg_depend d "
                "JOIN pg_class t ON t.oid = d.refobjid WHERE d.objid = q.seq::regclass "
                "AND d.deptype IN ('a', 'i') AND t.relname LIKE '%schema_migration')")
    used = [row[0] for row in cur.fetchall()]
    if used:
        cur.execute("".join(f"ALTER SEQUENCE {seq} RESTART; " for seq in used))


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


# -- browser tests -------------------------------------------------------
CHROMIUM = os.environ.get("CRMKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = os.environ.get("CRMKIT_SCREENSHOTS", "screenshots")   # git-ignored


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the system's, driven by Playwright) for the
    whole session; skipped, saying why, where none is installed."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests: the playwright package is not installed (make install)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser tests: no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (own cookies) and page per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(30_000)   # a loaded CI machine answers slowly; a failure still fails
    yield tab
    context.close()


def screenshot(tab, name):
    """Save a PNG of the page under ``$CRMKIT_SCREENSHOTS`` (default
    ``screenshots/``, git-ignored) and return its path."""
    from pathlib import Path
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


# -- the CLI on a terminal ------------------------------------------------
def run_cli(args, env=None, terminal=False, timeout=120):
    """Run the installed ``crmkit`` command in a subprocess: ``(exit code,
    stdout, stderr)``. ``terminal``: its standard error is a pseudo-terminal
    (as in an operator's shell), so what is shown only on a terminal
    (progress bars) is there to read."""
    import pty
    import subprocess
    import sys
    from pathlib import Path
    command = [str(Path(sys.executable).parent / "crmkit"), *map(str, args)]
    full_env = {**os.environ, **(env or {})}
    if not terminal:
        done = subprocess.run(command, capture_output=True, env=full_env, timeout=timeout, text=True)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL,
                                env=full_env)
        os.close(follower)
        follower = None
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:        # the terminal's other side closed: the command ended
                break
            if not chunk:
                break
            shown += chunk
        out = proc.stdout.read().decode()
        proc.wait(timeout)
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    return proc.returncode, out, shown.decode(errors="replace")
