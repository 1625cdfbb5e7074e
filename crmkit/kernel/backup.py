"""Backup and restore, with an integrity check after restore.

SQLite: the online backup API copies a consistent snapshot while others
write. PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot), and for
restore the archive's tables dropped and the archive replayed in one psql
transaction. A JSON manifest beside the file records the row
count of every table; after a restore the counts and the database's own
integrity checks must agree, or the restore is reported as failed.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from . import db
from .errors import CrmError


class BackupError(CrmError):
    pass


def _tables(database) -> list[str]:
    return sorted(database.get_tables())


def _counts(database) -> dict:
    return {t: database.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in _tables(database)}


def _sqlite_path(database) -> str:
    return database.database


def backup(crm, target) -> dict:
    """Write a backup of the whole database to ``target``; returns the manifest."""
    crm.require("read", "*")
    if not crm.actor.is_admin:
        raise BackupError("only administrators take backups")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    database = crm.db
    if db.is_sqlite(database):
        tmp = target.with_suffix(target.suffix + ".part")
        src = sqlite3.connect(_sqlite_path(database))
        dst = sqlite3.connect(tmp)
        with dst:
            src.backup(dst)   # a consistent snapshot, page by page, while others write
        src.close()
        check = sqlite3.connect(tmp)
        counts = {t: check.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                  for (t,) in check.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")}
        check.close()
        os.replace(tmp, target)
        kind = "sqlite"
    else:
        url = _pg_url(database)
        # row counts first; pg_dump's snapshot is taken right after, so a writer
        # in between can only add rows: restore checks counts as a lower bound
        counts = _counts(database)
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), url])
        kind = "postgresql"
    manifest = {"kind": kind, "tables": counts,
                "plugins": [p.name for p in crm.plugins], "taken_at": db.utcnow().isoformat()}
    Path(str(target) + ".json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def restore(url, source) -> dict:
    """Restore ``source`` into the database at ``url`` and check it."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    manifest_path = Path(str(source) + ".json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        try:
            check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            ok = check.execute("PRAGMA integrity_check").fetchone()[0]
            check.close()
        except sqlite3.DatabaseError as exc:
            ok = str(exc)
        if ok != "ok":
            raise BackupError(f"the backup file is damaged: {ok}")
        if db.database.obj is not None and not db.database.obj.is_closed():
            db.database.obj.close()
        tmp = path + ".restoring"
        shutil.copyfile(source, tmp)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        os.replace(tmp, path)
        conn = sqlite3.connect(path)
        problems = conn.execute("PRAGMA foreign_key_check").fetchall()
        counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                  for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                           "AND name NOT LIKE 'sqlite_%'")}
        conn.close()
        if problems:
            raise BackupError(f"foreign key problems after restore: {problems[:5]}")
        exact = True
    else:
        _restore_postgresql(url, source)
        database = db.connect(url)
        counts = _counts(database)
        exact = False
    if manifest:
        for table, expected in manifest["tables"].items():
            got = counts.get(table)
            if got is None or (got != expected if exact else got < expected):
                raise BackupError(f"table {table}: {got} rows after restore, {expected} in the backup")
    return {"tables": len(counts), "rows": sum(counts.values()), "checked": bool(manifest)}


def _restore_postgresql(url, source):
    """Replace the archive's objects in the database, in one transaction.

    ``pg_restore --clean`` cannot drop a partition's own primary key (it
    belongs to the partitioned table's), so the archive's tables are dropped
    whole first, in one statement (partitions, keys and indexes go with
    them; a table outside the archive that refers to one stops it), then its
    sequences, and the archive is replayed after, by psql in one
    transaction: a failure leaves the database as it was.
    """
    import tempfile
    names = {"TABLE": [], "SEQUENCE": []}
    for line in _run(["pg_restore", "--list", str(source)]).splitlines():
        parts = line.split()   # "287; 1259 326618 TABLE public analysis_run postgres"
        if len(parts) == 7 and parts[3] in names:
            names[parts[3]].append(f"{_quote(parts[4])}.{_quote(parts[5])}")
    drops = "".join(f"DROP {kind} IF EXISTS {', '.join(found)};\n" for kind, found in names.items() if found)
    with tempfile.TemporaryDirectory() as folder:
        clean, script = Path(folder, "clean.sql"), Path(folder, "restore.sql")
        clean.write_text(drops, encoding="utf-8")
        _run(["pg_restore", "--no-owner", "--file", str(script), str(source)])
        _run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
              "-f", str(clean), "-f", str(script), "-d", url])


def _quote(name) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_url(database) -> str:
    params = database.connect_params
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", 5432)
    password = params.get("password")
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgresql://{auth}{host}:{port}/{database.database}"


def _run(cmd):
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed (PostgreSQL client tools are needed)") from None
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {result.stderr.strip()[:500]}")
    return result.stdout
