"""Shared parts of the benchmarks: the context a phase runs in, scratch
databases, bare connections for the floors, and seeded data generators.

Every benchmark module ``bench_*.py`` declares::

    TITLE = "..."                     # shown when the module is skipped
    REQUIRES = ("analysis",)          # plugins it needs (core always)
    def setup(ctx): ...               # untimed: generate data
    FIGURES = [Figure(...), ...]      # what it measures

and each ``Figure`` names the phase functions that time crmkit and its
floor (or peer). The runner runs ``setup`` and every phase in a fresh
subprocess, so each phase's peak memory (``ru_maxrss``) is its own.
"""
from __future__ import annotations

import datetime as dt
import json
import resource
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

SEED = 20240601


@dataclass
class Figure:
    """One line of the table.

    :param kind: ``"time"`` (ratio = crmkit time / floor time, lower is
        better, holds when ratio <= target), ``"speed"`` (ratio = floor
        time / crmkit time, i.e. crmkit's share of the floor's speed,
        holds when ratio >= target), ``"memory"`` (crmkit's peak MB <=
        target) or ``"check"`` (a yes/no result, ``crmkit`` phase returns
        ``{"ok": bool}``).
    :param phases: phase function names; each returns a dict that may hold
        ``crmkit`` and/or ``floor`` seconds and an ``info`` dict. The peak
        memory shown is that of the phase that gave ``crmkit``.
    """

    id: str
    title: str
    kind: str
    target: float | None
    floor_label: str
    phases: tuple[str, ...]
    crmkit_label: str = "crmkit"
    optional_peer: str | None = None      # module the peer needs; skip cleanly when absent
    memory_of: str | None = None          # for kind="memory": the figure whose crmkit phase it reads
    crmkit_from: str | None = None        # take crmkit's time and memory from that figure (peers)
    timeout: float | None = None          # seconds a phase may take before it is stopped (a known slow path)
    limit_s: float | None = None          # kind="time": crmkit must also answer within this many seconds


@dataclass
class Ctx:
    """Where and how big: passed to every phase as a JSON file."""

    scale: str
    db: str | None              # None = SQLite; else a PostgreSQL server URL
    work: str                   # scratch folder of this run
    prefix: str                 # scratch database prefix of this run (PostgreSQL)
    module: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def small(self) -> bool:
        return self.scale == "small"

    def n(self, full: int, small: int) -> int:
        return small if self.small else full

    def n_import(self, full: int, small: int) -> int:
        """Rows of an import figure: on PostgreSQL a quarter at full scale,
        as psycopg2's executemany (floor and crmkit alike) is one round trip
        a row (~3,000 rows/s) and the full run must stay near 20 minutes.
        The ratio of two linear costs does not depend on the count."""
        return full // 4 if self.db and not self.small else self.n(full, small)

    @property
    def backend(self) -> str:
        return "postgresql" if self.db else "sqlite"

    # -- databases -------------------------------------------------------
    def db_name(self, name: str) -> str:
        return f"{self.prefix}_{self.module}_{name}".lower()

    def url(self, name: str) -> str:
        """A scratch database of this module, created on first use."""
        if not self.db:
            return f"sqlite:///{Path(self.work) / (self.module + '-' + name + '.db')}"
        dbname = self.db_name(name)
        create_pg_database(self.db, dbname)
        return pg_url(self.db, dbname)

    def sqlite_path(self, name: str) -> str:
        return str(Path(self.work) / (self.module + "-" + name + ".db"))

    def connect_bare(self, name: str):
        """A bare DB-API connection (sqlite3 / psycopg2) to a scratch database,
        set up like crmkit's own (WAL, synchronous=normal, foreign keys)."""
        if not self.db:
            con = sqlite3.connect(self.sqlite_path(name), isolation_level=None)
            con.execute("PRAGMA journal_mode=wal")
            con.execute("PRAGMA synchronous=normal")
            con.execute("PRAGMA foreign_keys=1")
            return con
        import psycopg2
        return psycopg2.connect(pg_url(self.db, self.db_name(name)))

    @property
    def param(self) -> str:
        return "%s" if self.db else "?"

    def file(self, name: str) -> Path:
        return Path(self.work) / f"{self.module}-{name}"

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> "Ctx":
        return cls(**json.loads(text))


def pg_url(server: str, dbname: str) -> str:
    parts = urlsplit(server)
    return parts._replace(path="/" + dbname).geturl()


def _admin(server: str):
    import psycopg2
    con = psycopg2.connect(server)
    con.autocommit = True
    return con


def create_pg_database(server: str, dbname: str):
    con = _admin(server)
    try:
        cur = con.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        con.close()


def drop_pg_databases(server: str, prefix: str) -> list[str]:
    """Drop this run's scratch databases (names start with its unique prefix)."""
    con = _admin(server)
    dropped = []
    try:
        cur = con.cursor()
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix.lower() + "\\_%",))
        for (name,) in cur.fetchall():
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            dropped.append(name)
    finally:
        con.close()
    return dropped


def open_crm(ctx: Ctx, name: str, plugins=(), user=None, everything=False):
    """``crmkit.open`` on a scratch database with core plus ``plugins``
    (or every installed plugin when ``everything``)."""
    import crmkit
    return crmkit.open(ctx.url(name), user=user, plugins=None if everything else list(plugins))


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    Linux's ``VmHWM`` is the high-water mark of this program's own memory;
    ``ru_maxrss`` would also count the parent's, as it is kept across exec."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def executemany(con, sql: str, rows, batch: int = 50_000):
    """A bare executemany in one transaction (the floor of every import)."""
    cur = con.cursor()
    if isinstance(con, sqlite3.Connection):
        con.execute("BEGIN")
        cur.executemany(sql, rows)
        con.execute("COMMIT")
    else:
        rows = list(rows)
        for start in range(0, len(rows), batch):
            cur.executemany(sql, rows[start:start + batch])
        con.commit()


# -- seeded, realistically shaped data -------------------------------------

def rng(offset: int = 0):
    import numpy as np
    return np.random.default_rng(SEED + offset)


def pareto_weights(n: int, offset: int = 0, alpha: float = 1.16):
    """Weights with a few big clients and many small ones (80/20 for alpha≈1.16)."""
    r = rng(offset)
    w = r.pareto(alpha, n) + 1.0
    return w / w.sum()


# calendar seasonality of B2B sales: a December peak, a summer dip, a slow January
MONTH_WEIGHTS = [0.70, 0.85, 1.00, 1.00, 0.95, 0.80, 0.70, 0.75, 1.05, 1.15, 1.25, 1.60]


def seasonal_dates(n: int, start: dt.date, months: int, offset: int = 0):
    """``n`` dates over ``months`` months from ``start``, drawn with the monthly
    seasonality above and a slight growth trend; returns a numpy datetime64[D] array."""
    import numpy as np
    r = rng(offset)
    firsts = []
    y, m = start.year, start.month
    for _ in range(months + 1):
        firsts.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    w = np.array([MONTH_WEIGHTS[d.month - 1] * (1 + 0.01 * i) for i, d in enumerate(firsts[:-1])])
    month = r.choice(months, size=n, p=w / w.sum())
    starts = np.array(firsts[:-1], dtype="datetime64[D]")
    lengths = (np.array(firsts[1:], dtype="datetime64[D]") - starts).astype(int)
    day = (r.random(n) * lengths[month]).astype(int)
    return starts[month] + day


def partner_rows(n: int, access_groups: list[int], managers: list[int], offset: int = 0):
    """Rows for core_partner: code, kind, name, public_name, access group, manager ..."""
    r = rng(offset)
    kinds = r.random(n) < 0.85
    groups = r.choice(access_groups, size=n)
    mans = r.choice(managers, size=n)
    reg = seasonal_dates(n, dt.date(2018, 1, 1), 72, offset + 1)
    now = dt.datetime(2024, 6, 1, 12, 0)
    rows = []
    for i in range(n):
        company = bool(kinds[i])
        name = f"ООО Клиент {i + 1:06d}" if company else f"Клиентов Клиент {i + 1:06d}"
        rows.append((f"BP{i + 1:07d}", "company" if company else "individual", str(reg[i]), name, name,
                     True, False, False, False, int(mans[i]), int(groups[i]), "", False, now, now))
    return rows


PARTNER_COLUMNS = ("code", "kind", "registered_on", "public_name", "name", "is_client", "is_supplier",
                   "is_competitor", "is_other", "manager_id", "access_group_id", "comment",
                   "deletion_mark", "created_at", "changed_at")


def insert_rows(con, table: str, columns, rows, param="?"):
    """Data generation (not measured): executemany on SQLite, multi-row
    VALUES pages on PostgreSQL (psycopg2's executemany is one round trip a row)."""
    cols = ", ".join(chr(34) + c + chr(34) for c in columns)
    if isinstance(con, sqlite3.Connection):
        executemany(con, f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join([param] * len(columns))})', rows)
        return
    from psycopg2.extras import execute_values
    execute_values(con.cursor(), f'INSERT INTO "{table}" ({cols}) VALUES %s', rows, page_size=5000)
    con.commit()


def without_indexes(con, table: str):
    """Drop a table's secondary indexes and give back the statements that
    recreate them: bulk generation then builds each index once, sorted."""
    cur = con.cursor()
    if isinstance(con, sqlite3.Connection):
        cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                    "AND sql IS NOT NULL", (table,))
    else:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                    "AND indexname NOT LIKE '%%pkey'", (table,))
    found = cur.fetchall()
    for name, _ in found:
        cur.execute(f'DROP INDEX "{name}"')
    if not isinstance(con, sqlite3.Connection):
        con.commit()
    return [sql for _, sql in found]


def restore_indexes(con, statements):
    cur = con.cursor()
    for sql in statements:
        cur.execute(sql)
    if not isinstance(con, sqlite3.Connection):
        con.commit()


def seed_core(ctx: Ctx, name: str, partners: int, plugins=(), everything=False) -> dict:
    """A migrated scratch database with users, access groups and ``partners``
    partners inserted directly (generation is not what is measured).

    Returns ids: ``{"groups": [...], "managers": [...], "manager_login": ...}``.
    """
    crm = open_crm(ctx, name, plugins=plugins, everything=everything)
    groups = [crm.create("core.access_group", {"name": f"Группа {i}"}).id for i in range(1, 6)]
    managers = []
    for i in range(1, 11):
        user = crm.create("core.user", {"login": f"manager{i}", "name": f"Менеджер {i}",
                                         "roles": "manager", "email": f"manager{i}@example.org"})
        managers.append(user.id)
        for g in groups[: 3 if i == 1 else 1 + i % len(groups)]:
            crm.create("core.user_access", {"user": user.id, "access_group": g})
    crm.close()
    con = ctx.connect_bare(name)
    insert_rows(con, "core_partner", PARTNER_COLUMNS, partner_rows(partners, groups, managers), ctx.param)
    con.close()
    return {"groups": groups, "managers": managers, "manager_login": "manager1"}
