"""Storage: one DatabaseProxy, the base model, fields, open by URL, migrations.

SQLite files get WAL, foreign keys and a busy timeout; PostgreSQL is opened
from a ``postgresql://`` URL. Every plugin's migrations run through
``playhouse.migrations.Runner`` with a history table of its own.
"""
from __future__ import annotations

import datetime as dt
import decimal
import os
from contextlib import contextmanager
from pathlib import Path

import peewee as pw

from .errors import Busy

database = pw.DatabaseProxy()
UTC = dt.timezone.utc
DEFAULT_URL = "sqlite:///crmkit.db"
BUSY_TIMEOUT_S = 15

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_S * 1000,
    "synchronous": "normal",
}


class BaseModel(pw.Model):
    """Base of every crmkit model: bound to the shared DatabaseProxy."""

    class Meta:
        database = database
        legacy_table_names = False


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def choices(values):
    """peewee ``choices`` from a tuple of allowed values (the schema's ``allowed``)."""
    return [(v, v) for v in values]


class UtcDateTimeField(pw.DateTimeField):
    """A timezone-aware datetime, stored as UTC without an offset.

    Naive input is taken as UTC; values come back aware (UTC).
    """

    def db_value(self, value):
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC)
            value = value.replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class RecordModel(BaseModel):
    """Base of a business record: the deletion mark (1C's пометка удаления)
    and the creation and change moments the kernel stamps on every write."""

    deletion_mark = pw.BooleanField(default=False)
    created_at = UtcDateTimeField(default=utcnow)
    changed_at = UtcDateTimeField(default=utcnow)


class MoneyField(pw.DecimalField):
    """A Decimal amount (15 digits, 2 decimals); its currency is a sibling field.

    Values come back with exactly two decimals on every database (SQLite
    stores numbers without scale).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 15)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("auto_round", True)
        super().__init__(*args, **kwargs)

    def python_value(self, value):
        value = super().python_value(value)
        if value is None:
            return None
        return decimal.Decimal(str(value)).quantize(decimal.Decimal(1).scaleb(-self.decimal_places))


def connect(url: str | None = None) -> pw.Database:
    """Open a database from a URL; default ``sqlite:///crmkit.db``."""
    url = url or os.environ.get("CRMKIT_DATABASE_URL") or DEFAULT_URL
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
        if path not in ("", ":memory:"):
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        db = pw.SqliteDatabase(path or ":memory:", pragmas=SQLITE_PRAGMAS,
                               timeout=BUSY_TIMEOUT_S)
    elif url.startswith(("postgres://", "postgresql://")):
        from playhouse import db_url
        db = db_url.connect(url.replace("postgres://", "postgresql://", 1))
    else:
        raise ValueError(f"database URL {url!r}: only sqlite:/// and postgresql:// are supported")
    database.initialize(db)
    db.connect(reuse_if_open=True)
    return db


def is_sqlite(db=None) -> bool:
    db = db or database.obj
    return isinstance(db, pw.SqliteDatabase)


def among(field, values):
    """``field IN (values)`` with the values sent as one parameter (a JSON
    array read by ``json_each`` on SQLite, an array on PostgreSQL): a list
    of tens of thousands of ids is not written into the SQL value by value
    (peewee builds a node per value), nor does it meet SQLite's limit on
    parameters."""
    values = [v for v in dict.fromkeys(values) if v is not None]
    if is_sqlite():
        import json
        return field.in_(pw.SQL("(SELECT value FROM json_each(?))", [json.dumps(values, default=str)]))
    return pw.NodeList((field, pw.SQL("= ANY(%s)", [values])))


@contextmanager
def transaction():
    """A write transaction; on SQLite it takes the write lock at BEGIN
    (IMMEDIATE), so concurrent writers wait instead of deadlocking."""
    db = database.obj
    try:
        with (db.atomic("IMMEDIATE") if is_sqlite(db) and not db.in_transaction()
              else db.atomic()):
            yield
    except pw.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise Busy("the database is busy: try again") from exc
        raise


# -- migrations ----------------------------------------------------------

def runner_for(plugin):
    """The plugin's ``playhouse.migrations.Runner``, or None without migrations."""
    from playhouse.migrations import Runner
    folder = plugin.migrations_dir
    if folder is None:
        return None
    return Runner(database.obj, directory=str(folder),
                  table_name=f"{plugin.name}_schema_migration")


@contextmanager
def migration_lock():
    """Serialise migrations across processes (advisory lock on PostgreSQL,
    the write lock on SQLite)."""
    db = database.obj
    if is_sqlite(db):
        with db.atomic("IMMEDIATE"):
            yield
    else:
        db.execute_sql("SELECT pg_advisory_lock(7283001)")
        try:
            yield
        finally:
            db.execute_sql("SELECT pg_advisory_unlock(7283001)")


def pending_migrations(plugins) -> list[tuple[str, str]]:
    out = []
    for plugin in plugins:
        runner = runner_for(plugin)
        if runner:
            out += [(plugin.name, m.name) for m in runner.status() if not m.applied and m.path]
    return out


def migrate(plugins) -> list[tuple[str, str]]:
    """Apply pending migrations of every plugin in requirement order."""
    if not pending_migrations(plugins):
        return []
    applied = []
    with migration_lock():
        for plugin in plugins:
            runner = runner_for(plugin)
            if runner:
                applied += [(plugin.name, name) for name in runner.up()]
    return applied


def migration_status(plugins):
    rows = []
    for plugin in plugins:
        runner = runner_for(plugin)
        if runner:
            rows += [{"plugin": plugin.name, "migration": m.name,
                      "applied": m.applied.isoformat(sep=" ", timespec="seconds") if m.applied else ""}
                     for m in runner.status()]
    return rows


def to_decimal(value) -> decimal.Decimal:
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
