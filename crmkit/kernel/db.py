"""Storage: one DatabaseProxy, the base model, fields, open by URL, migrations.

SQLite files get WAL, foreign keys and a busy timeout; PostgreSQL is opened
from a ``postgresql://`` URL. Every plugin's migrations run through
``playhouse.migrations.Runner`` with a history table of its own.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import os
from contextlib import contextmanager
from pathlib import Path

import peewee as pw

from .errors import Busy, DatabaseUnavailable, StorageError

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
# PostgreSQL's SQLSTATEs that mean "another transaction was in the way":
# lock_timeout, statement cancelled, serialization failure, deadlock, and a
# unique key taken by a concurrent transaction between our check and insert
BUSY_SQLSTATES = {"55P03": "busy", "57014": "busy", "40001": "busy", "40P01": "busy", "23505": "race"}
BUSY = "the database is busy: try again"
RACE = "a concurrent write stored the same key first: try again"


def busy_timeout() -> float:
    """Seconds a write waits for a lock before Busy (``CRMKIT_BUSY_TIMEOUT``, default 15)."""
    try:
        return max(0.1, float(os.environ.get("CRMKIT_BUSY_TIMEOUT", BUSY_TIMEOUT_S)))
    except ValueError:
        return BUSY_TIMEOUT_S


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


def connect(url: str | None = None, create: bool = True) -> pw.Database:
    """Open a database from a URL; default ``sqlite:///crmkit.db``.

    ``create=False``: a SQLite file that does not exist is an error (a
    mistyped path would otherwise become a new empty database, folders and
    all). Every failure to open is a one-line ``DatabaseUnavailable``."""
    url = url or os.environ.get("CRMKIT_DATABASE_URL") or DEFAULT_URL
    if url.startswith("sqlite:"):
        path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
        if path not in ("", ":memory:"):
            where = Path(path).expanduser()
            if not create and not where.exists():
                from .i18n import Message
                raise DatabaseUnavailable(Message(
                    "no database at {path}: check the path, or create it with `crmkit init` "
                    "(or --create; crmkit.open(..., create=True))", domain="kernel", path=path))
            where.parent.mkdir(parents=True, exist_ok=True)
        timeout = busy_timeout()
        db = pw.SqliteDatabase(path or ":memory:", pragmas={**SQLITE_PRAGMAS, "busy_timeout": int(timeout * 1000)},
                               timeout=timeout)
    elif url.startswith(("postgres://", "postgresql://")):
        from playhouse import db_url
        # a statement waits at most the busy timeout for a lock (then Busy), as SQLite does.
        # No JIT: a restricted user's row filter (partners, then every subject type) makes a
        # statement of hundreds of expressions whose estimated cost passes jit_above_cost, and
        # compiling them cost more than running them: a manager's interactions report at 300,000
        # interactions ran 1.79 s, 4.0 s of it compiling (summed over the parallel workers),
        # against 0.34 s without (PostgreSQL 15, 2026-12-01); crmkit's statements are short.
        db = db_url.connect(url.replace("postgres://", "postgresql://", 1),
                            options=f"-c lock_timeout={int(busy_timeout() * 1000)} -c jit=off")
    else:
        hint = f"sqlite:///{url}" if "://" not in url else "sqlite:///file.db"
        from .i18n import Message
        raise DatabaseUnavailable(Message("database URL {url} is neither sqlite:/// nor postgresql://: "
                                          "did you mean {hint}?", domain="kernel", url=repr(url), hint=hint))
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
    except pw.OperationalError as exc:
        from .i18n import Message
        raise DatabaseUnavailable(Message("cannot open the database {url}: {error}", domain="kernel",
                                          url=_safe_url(url), error=_first_line(exc))) from None
    return db


def _first_line(exc) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _safe_url(url: str) -> str:
    """The URL without its password (it goes into an error message)."""
    import re
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


def is_sqlite(db=None) -> bool:
    db = db or database.obj
    return isinstance(db, pw.SqliteDatabase)


def busy_reason(exc) -> str | None:
    """Why ``exc`` is a concurrency error (the message of its Busy), or None.

    SQLite says "database is locked" / "busy" after its busy timeout;
    PostgreSQL gives a SQLSTATE (on the driver's exception, which peewee
    wraps as its first argument)."""
    if isinstance(exc, Busy):
        return str(exc)
    text = str(exc)
    if isinstance(exc, pw.OperationalError) and ("database is locked" in text or "database is busy" in text
                                                 or "database table is locked" in text):
        return BUSY
    for candidate in (exc, *getattr(exc, "args", ())[:1], exc.__cause__, exc.__context__):
        code = getattr(candidate, "pgcode", None)
        if code in BUSY_SQLSTATES:
            return BUSY if BUSY_SQLSTATES[code] == "busy" else RACE
    return None


STORAGE = {"database or disk is full": "the disk is full", "readonly database": "the database is read-only",
           "read-only file system": "the database's file system is read-only",
           "no space left on device": "the disk is full", "disk i/o error": "the disk failed (I/O error)",
           "could not extend file": "the database server's disk is full"}


def storage_reason(exc) -> str | None:
    """A full disk or a read-only database behind ``exc`` (or behind the
    "cannot rollback - no transaction is active" that SQLite's own rollback
    of a full-disk write makes peewee raise), or None."""
    seen = 0
    while exc is not None and seen < 5:
        text = str(exc).lower()
        for needle, reason in STORAGE.items():
            if needle in text:
                return reason
        if getattr(exc, "pgcode", None) in ("53100", "25006"):
            return "the database server's disk is full" if exc.pgcode == "53100" else "the database is read-only"
        exc, seen = exc.__context__ or (exc.args[0] if exc.args and isinstance(exc.args[0], BaseException)
                                        else None), seen + 1
    return None


_STATEMENTS: dict = {}   # (key, param style, database class) -> (sql, parameter count)


def statement_sql(key, build) -> tuple[str, int]:
    """``(sql, parameter count)`` of a statement whose shape never changes,
    only its parameter values. ``build()`` returns the peewee query (made
    with placeholder values of the right types); it is compiled once per
    process and dialect, where peewee builds a node tree and writes its SQL
    anew for every query (a few hundred microseconds each; the kernel's
    INSERT is written once the same way). The caller passes its own values,
    in the query's order and as the fields' ``db_value`` gives them, to
    ``execute_sql`` or ``Model.raw``. Only for statements that apply no
    user's access filter: those differ by user and go through ``crm.query``."""
    db = database.obj
    k = (key, db.param, type(db))
    found = _STATEMENTS.get(k)
    if found is None:
        sql, params = build().sql()
        found = _STATEMENTS[k] = (sql, len(params))
    return found


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
    literal = _pg_array(field, values)
    if literal is not None:     # one text value the server's array input reads
        return pw.NodeList((field, pw.SQL(f"= ANY(%s::{literal[0]})", [literal[1]])))
    return pw.NodeList((field, pw.SQL("= ANY(%s)", [values])))


_PG_WHOLE = frozenset(("INT", "BIGINT", "SMALLINT", "AUTO", "BIGAUTO"))
_PG_TEXT = frozenset(("VARCHAR", "TEXT", "CHAR"))


def _pg_array(field, values):
    """``(type, literal)`` of whole numbers or texts for a column of that
    kind, as PostgreSQL's array input reads them (``{1,2,3}``), or None:
    psycopg2 sends a list as ``ARRAY[1, 2, ...]``, an expression of one
    constant per value that the server took twice as long to read as the
    query ran (100,000 ids: 1.3-1.6 s against 0.55-0.75 s)."""
    kind = getattr(field, "field_type", None)
    if not values or kind not in _PG_WHOLE and kind not in _PG_TEXT:
        return None
    types = set(map(type, values))      # checked in C: 1,000,000 ids are a list here
    if kind in _PG_WHOLE and types == {int} and -2 ** 63 <= min(values) and max(values) < 2 ** 63:
        return "bigint[]", "{" + ",".join(map(str, values)) + "}"
    if kind in _PG_TEXT and types == {str}:
        text = '","'.join(values)
        if "\\" in text or '"' in text:   # the few that need it escaped
            text = '","'.join(v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
        return "text[]", '{"' + text + '"}'
    return None


@contextmanager
def transaction():
    """A write transaction (yields peewee's transaction object).

    On SQLite it takes the write lock at BEGIN (IMMEDIATE), so concurrent
    writers wait instead of deadlocking. Whatever concurrency makes of it
    (a lock not had within the busy timeout, a deadlock, a serialization
    failure, a unique key a concurrent transaction stored first) comes out
    as ``Busy``: the one error concurrency may raise."""
    db = database.obj
    outer = not db.in_transaction()
    token = _at_end.set([]) if outer else None
    committed = False
    try:
        with concurrency_errors():
            with (db.atomic("IMMEDIATE") if is_sqlite(db) and outer else db.atomic()) as txn:
                yield txn
        committed = True
    finally:
        if outer:
            callbacks = _at_end.get()
            _at_end.reset(token)
            for callback in callbacks:   # each runs, whatever another raised: the data is already settled
                try:
                    callback(committed)
                except Exception:   # noqa: BLE001
                    import logging
                    logging.getLogger("crmkit").exception("a transaction-end callback failed")


_at_end = contextvars.ContextVar("crmkit_transaction_end", default=None)


def at_transaction_end(callback):
    """Call ``callback(committed)`` once the outermost ``transaction()`` now
    open has committed (True) or rolled back (False); at once (True) when
    none is open. What lives outside the database (a file on disk) is
    tidied with it: removed only once the rows that named it are gone for
    good, or left when they come back."""
    pending = _at_end.get()
    if pending is None:
        callback(True)
    else:
        pending.append(callback)


@contextmanager
def concurrency_errors():
    """What concurrency or a full disk makes of any statement inside, as
    ``Busy`` or ``StorageError``: also for the reads a write makes before
    its transaction (a create validates first), which a restore or a long
    lock can time out."""
    try:
        yield
    except (Busy, StorageError):
        raise
    except Exception as exc:
        reason = busy_reason(exc)
        if reason is not None:
            raise Busy(reason) from exc
        reason = storage_reason(exc)
        if reason is not None:
            raise StorageError(f"{reason}: nothing was written") from exc
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
        db.execute_sql("SET lock_timeout = 0")   # a migration waits for the one before it, however long
        try:
            db.execute_sql("SELECT pg_advisory_lock(7283001)")
        finally:
            db.execute_sql("RESET lock_timeout")
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
