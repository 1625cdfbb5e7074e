"""Backup and restore: one file, whole or absent; verified before it replaces anything.

A backup is one tar file holding ``manifest.json`` and the data (``database.sqlite``,
an SQLite file in rollback-journal mode, or ``database.pgdump``, a ``pg_dump``
custom archive). The manifest records the data's SHA-256, the exact row count of
every table and a digest of the users and their roles, all taken from the same
snapshot as the data. The file is written under a temporary name in the target's
folder, fsynced and renamed over the old backup only when whole: a killed backup
leaves the previous one as it was, and ``pg_dump`` dies with crmkit
(``PR_SET_PDEATHSIG``). The PostgreSQL password goes to the client tools in
their environment, never on a command line.

Restore checks everything on a scratch copy before the live database is
touched: the manifest is the file's own (hash), the counts and users agree, the
schema holds nothing but crmkit's tables and indexes (no trigger, view,
function, foreign object). SQLite: the checked copy is written into the live
database through SQLite's backup API, one write transaction, so a process that
has it open keeps working on the restored data instead of writing into an
unlinked file. PostgreSQL: no statement of the archive is ever executed. Its
table of contents must list only tables, sequences, keys and indexes; the data
is loaded by crmkit's own ``COPY`` statements into crmkit's own schema (the
live one, made by its migrations), in one transaction that is verified before
it commits: anything wrong rolls it back and the live data stays.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path

from . import db
from .errors import CrmError


class BackupError(CrmError):
    pass


FORMAT = "crmkit-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATA = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
UNCHANGED = "; the database is unchanged"


# -- what a backup records ------------------------------------------------

def _sqlite_tables(conn) -> list[str]:
    return [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _users_digest(rows) -> str:
    """One hash of every user's login, roles, active flag and access groups:
    restore refuses a backup whose users differ from what its manifest says."""
    text = json.dumps(sorted([list(map(str, r)) for r in rows]), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


USERS_SQL = ('SELECT u."login", u."roles", u."is_active", u."deletion_mark", '
             '(SELECT COUNT(*) FROM "core_user_access" a WHERE a."user_id" = u."id") FROM "core_user" u')
ACCESS_SQL = 'SELECT u."login", a."access_group_id" FROM "core_user_access" a JOIN "core_user" u ON u."id" = a."user_id"'


def _facts(execute, tables) -> dict:
    """Row counts and the users' digest, through ``execute(sql) -> rows``."""
    counts = {t: execute(f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in tables}
    users = _users_digest(execute(USERS_SQL) + [("access",) + tuple(r) for r in execute(ACCESS_SQL)]) \
        if "core_user" in counts else None
    return {"tables": counts, "users": users}


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- writing a file whole or not at all ----------------------------------

def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clear_stale(target: Path):
    """Remove what killed backups to the same target left behind."""
    for stale in target.parent.glob(f".{target.name}.*.part*"):
        pid = stale.name[len(target.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            stale.unlink(missing_ok=True)


def _disk_error(exc: OSError, where) -> BackupError:
    import errno
    reason = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
              errno.EROFS: "the file system is read-only", errno.EFBIG: "the file is too large for this system",
              errno.EACCES: "permission denied"}.get(exc.errno, exc.strerror or str(exc))
    return BackupError(f"cannot write {where}: {reason}")


def backup(crm, target) -> dict:
    """Write a backup of the whole database to ``target``; returns the manifest."""
    crm.require("read", "*")
    if not crm.actor.is_admin:
        raise BackupError("only administrators take backups")
    target = Path(target).absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(exc, target.parent) from None
    _clear_stale(target)
    base = target.parent / f".{target.name}.{os.getpid()}.part"
    data, tmp = Path(f"{base}.data"), Path(f"{base}.tar")
    kind = "sqlite" if db.is_sqlite(crm.db) else "postgresql"
    extra = {}

    def files_of(execute):   # called while the snapshot is open
        for named in crm.pm.hook.crmkit_backup_files(crm=crm, execute=execute):
            for name, path in named or ():
                extra[_extra_name(name)] = Path(path)
    try:
        facts = _snapshot_sqlite(crm.db, data, files_of) if kind == "sqlite" else \
            _snapshot_postgresql(crm.db, data, files_of)
        manifest = {"format": FORMAT, "version": VERSION, "kind": kind, **facts,
                    "data": DATA[kind], "sha256": _sha256(data), "bytes": data.stat().st_size,
                    "plugins": [p.name for p in crm.plugins], "taken_at": db.utcnow().isoformat()}
        if extra:
            manifest["files"] = {name: _file_facts(path, name) for name, path in sorted(extra.items())}
        _write_tar(tmp, manifest, data, extra)
        os.replace(tmp, target)    # the old backup stays whole until this moment
        _fsync_dir(target.parent)
    except OSError as exc:
        raise _disk_error(exc, target) from None
    except sqlite3.OperationalError as exc:
        if "full" in str(exc) or "disk" in str(exc) or "readonly" in str(exc):
            raise BackupError(f"cannot write {target}: {exc}") from None
        raise
    finally:
        for part in target.parent.glob(f"{base.name}*"):   # the data, its journal, the tar
            part.unlink(missing_ok=True)
    return manifest


EXTRA = "files/"   # a plugin's files in the tar: files/<name>
EXTRA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


def _extra_name(name) -> str:
    """A plugin's name for one of its files: relative, plain words only
    (no ``..``, no leading ``/``, nothing a tar could write outside)."""
    name = str(name)
    if not EXTRA_NAME.fullmatch(name) or ".." in name.split("/") or len(name) > 255:
        raise BackupError(f"a plugin named a backup file {name!r}: not a plain relative name")
    return name


def _file_facts(path, name) -> dict:
    try:
        return {"sha256": _sha256(path), "bytes": os.stat(path).st_size}
    except FileNotFoundError:
        raise BackupError(f"the file {name} went while the backup ran (a file removed meanwhile): "
                          f"take the backup again") from None


def _write_tar(path, manifest, data, extra=None):
    body = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
    with open(path, "wb") as fh:
        with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mtime = int(db.utcnow().timestamp())
            tar.addfile(info, io.BytesIO(body))
            tar.add(str(data), arcname=manifest["data"], recursive=False)
            for name, source in sorted((extra or {}).items()):
                info = tarfile.TarInfo(EXTRA + name)
                info.size, info.mtime = manifest["files"][name]["bytes"], int(db.utcnow().timestamp())
                try:
                    with open(source, "rb") as content:
                        tar.addfile(info, content)
                except FileNotFoundError:
                    raise BackupError(f"the file {name} went while the backup ran: take the backup again") \
                        from None
        fh.flush()
        os.fsync(fh.fileno())


def _snapshot_sqlite(database, data: Path, files_of=None) -> dict:
    src = sqlite3.connect(database.database, timeout=db.busy_timeout())
    dst = sqlite3.connect(data)
    try:
        with dst:
            src.backup(dst)   # a consistent snapshot, page by page, while others write
        # rollback-journal mode: the file opens read-only anywhere (WAL needs a writable folder)
        dst.execute("PRAGMA journal_mode = DELETE")
        facts = _facts(lambda sql: dst.execute(sql).fetchall(), _sqlite_tables(dst))
        if files_of is not None:
            files_of(lambda sql: dst.execute(sql).fetchall())
    finally:
        src.close()
        dst.close()
    with open(data, "rb+") as fh:
        os.fsync(fh.fileno())
    return facts


def _pg_env(database) -> dict:
    """The connection for the client tools, in their environment: the
    password is never on a command line (where every user can read it)."""
    params = database.connect_params
    env = {**os.environ, "PGHOST": str(params.get("host", "127.0.0.1")), "PGPORT": str(params.get("port", 5432)),
           "PGUSER": str(params.get("user", "postgres")), "PGDATABASE": database.database}
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])
    return env


def _pg_connect(database):
    import psycopg2
    params = {k: v for k, v in database.connect_params.items() if k != "options"}
    return psycopg2.connect(dbname=database.database, **params)


def _snapshot_postgresql(database, data: Path, files_of=None) -> dict:
    """Counts and users read in one REPEATABLE READ snapshot, exported to
    ``pg_dump`` so that the archive holds exactly what the manifest says."""
    conn = _pg_connect(database)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cur = conn.cursor()
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1")
        tables = [t for (t,) in cur.fetchall()]

        def execute(sql):
            cur.execute(sql)
            return cur.fetchall()
        facts = _facts(execute, tables)
        if files_of is not None:
            files_of(execute)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-acl", f"--snapshot={snapshot}",
              "--schema=public", "--file", str(data)], env=_pg_env(database))
    finally:
        conn.rollback()
        conn.close()
    with open(data, "rb+") as fh:
        os.fsync(fh.fileno())
    return facts


# -- reading a backup ------------------------------------------------------

@contextmanager
def _opened(source, scratch_dir):
    """The manifest and the data file of a backup, extracted into ``scratch_dir``."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    try:
        tar = tarfile.open(source, mode="r:")
    except (tarfile.TarError, OSError):
        raise BackupError(f"{source} is not a crmkit backup (no manifest inside: a file of another "
                          f"kind, a damaged one, or a bare database file){UNCHANGED}") from None
    with tar:
        members = {m.name: m for m in tar.getmembers()}
        if MANIFEST not in members:
            raise BackupError(f"{source} has no manifest: not a crmkit backup{UNCHANGED}")
        try:
            manifest = json.loads(tar.extractfile(members[MANIFEST]).read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BackupError(f"{source}: the manifest is not valid JSON ({exc}){UNCHANGED}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
                or manifest.get("kind") not in DATA or not isinstance(manifest.get("tables"), dict):
            raise BackupError(f"{source}: the manifest is not a crmkit backup manifest{UNCHANGED}")
        if manifest.get("version") != VERSION:
            raise BackupError(f"{source}: backup format version {manifest.get('version')!r} is not "
                              f"{VERSION}{UNCHANGED}")
        name = DATA[manifest["kind"]]
        files = manifest.get("files") or {}
        if not isinstance(files, dict) or not all(isinstance(f, dict) for f in files.values()):
            raise BackupError(f"{source}: the manifest's files are not a list of files{UNCHANGED}")
        for file_name in files:
            try:
                _extra_name(file_name)
            except BackupError:
                raise BackupError(f"{source}: the manifest names a file {file_name!r}, not a plain relative "
                                  f"name{UNCHANGED}") from None
        expected = {MANIFEST, name} | {EXTRA + f for f in files}
        if name not in members or set(members) != expected or not all(members[n].isfile() for n in expected):
            raise BackupError(f"{source}: expected {MANIFEST}, {name}"
                              f"{f' and {len(files)} files' if files else ''}, found "
                              f"{', '.join(sorted(members)[:10])}{UNCHANGED}")
        data = Path(scratch_dir) / name
        copies = {}
        try:
            with tar.extractfile(members[name]) as fin, open(data, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
            for i, file_name in enumerate(sorted(files)):   # scratch names of our own, never the tar's
                copies[file_name] = Path(scratch_dir) / f"file-{i}"
                with tar.extractfile(members[EXTRA + file_name]) as fin, open(copies[file_name], "wb") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
        except OSError as exc:
            raise _disk_error(exc, f"a scratch copy in {scratch_dir}") from None
        except tarfile.TarError as exc:
            raise BackupError(f"{source} is damaged: {exc}{UNCHANGED}") from None
    if _sha256(data) != manifest.get("sha256"):
        raise BackupError(f"{source}: the data is not the one its manifest describes "
                          f"(a foreign manifest, or a changed or damaged file){UNCHANGED}")
    for file_name, copy in copies.items():
        if _sha256(copy) != files[file_name].get("sha256"):
            raise BackupError(f"{source}: the file {file_name} is not the one its manifest describes "
                              f"(a changed or damaged file){UNCHANGED}")
    manifest["_copies"] = copies
    yield manifest, data


def _compare(manifest, facts, source):
    expected, got = manifest["tables"], facts["tables"]
    for table in sorted(set(expected) | set(got)):
        if expected.get(table) != got.get(table):
            raise BackupError(f"{source}: table {table} has {got.get(table, 'no')} rows, the manifest says "
                              f"{expected.get(table, 'none')}{UNCHANGED}")
    if manifest.get("users") != facts["users"]:
        raise BackupError(f"{source}: the users or their roles differ from what the manifest records{UNCHANGED}")


def verify(url, source) -> dict:
    """Check a backup without restoring it (works on read-only media)."""
    with tempfile.TemporaryDirectory(prefix="crmkit-verify-") as scratch:
        with _opened(source, scratch) as (manifest, data):
            if manifest["kind"] == "sqlite":
                _verify_sqlite_copy(data, manifest, source, live=_live_sqlite_schema(url))
            else:
                _verify_pg_toc(_toc(data), _live_pg_tables(url), source)
    return {"tables": len(manifest["tables"]), "rows": sum(manifest["tables"].values()), "checked": True,
            "kind": manifest["kind"], "taken_at": manifest.get("taken_at")}


def restore(url, source, pm=None) -> dict:
    """Restore ``source`` into the database at ``url``, verified first.
    The files it carries are given to the plugins that keep them
    (``crmkit_restore_files``, ``pm`` or every installed plugin) before
    the data is replaced; then they drop what the restored rows do not name
    (``crmkit_database_restored``)."""
    kind = "sqlite" if url.startswith("sqlite") else "postgresql"
    live_path = Path(url.split(":///", 1)[1]) if kind == "sqlite" else None
    folder = live_path.parent if live_path is not None else None   # the scratch copy beside the database
    if pm is None:
        from .plugins import make_plugin_manager
        pm = make_plugin_manager()[0]
    with tempfile.TemporaryDirectory(prefix=".crmkit-restore-", dir=folder) as scratch:
        with _opened(source, scratch) as (manifest, data):
            if manifest["kind"] != kind:
                raise BackupError(f"{source} is a {manifest['kind']} backup; the database is {kind}{UNCHANGED}")
            try:
                if kind == "sqlite":
                    live = _live_sqlite_schema(url)
                    _verify_sqlite_copy(data, manifest, source, live)
                _restore_files(pm, manifest, source)
                if kind == "sqlite":
                    _restore_sqlite(live_path, data, manifest, source, verified=True)
                else:
                    _restore_postgresql(url, data, manifest, source)
            finally:   # restored or not: what the database's rows do not name goes
                _restored(pm, url)
    return {"tables": len(manifest["tables"]), "rows": sum(manifest["tables"].values()), "checked": True,
            "files": len(manifest.get("files") or {})}


def _restore_files(pm, manifest, source):
    copies = manifest.get("_copies") or {}
    try:
        taken = set()
        for names in pm.hook.crmkit_restore_files(files=dict(copies)):
            taken |= set(names or ())
    except CrmError as exc:
        raise BackupError(f"{source}: {exc}{UNCHANGED}") from None
    left = sorted(set(copies) - taken)
    if left:
        raise BackupError(f"{source} holds files no installed plugin takes ({', '.join(left[:5])}): "
                          f"install the plugin that wrote them{UNCHANGED}")


def _restored(pm, url):
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split(":///", 1)[1], timeout=db.busy_timeout())
        try:
            pm.hook.crmkit_database_restored(execute=lambda sql: conn.execute(sql).fetchall())
        finally:
            conn.close()
        return
    import psycopg2
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        pm.hook.crmkit_database_restored(execute=lambda sql: (cur.execute(sql), cur.fetchall())[1])
    finally:
        conn.rollback()
        conn.close()


# -- SQLite ----------------------------------------------------------------

def _live_sqlite_schema(url):
    """The live database's schema objects and migration history, or None
    when there is no live database to compare with."""
    if not url or not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1]
    if not os.path.exists(path):
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=db.busy_timeout())
    try:
        return _sqlite_schema(conn)
    finally:
        conn.close()


def _sqlite_schema(conn):
    objects = {(t, n): (tbl, sql) for t, n, tbl, sql in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}
    history = set()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND name LIKE '%schema_migration'"):
        history |= {(table, name) for (name,) in conn.execute(f'SELECT "name" FROM "{table}"')}
    return {"objects": objects, "history": history}


def _verify_sqlite_copy(data, manifest, source, live):
    try:
        conn = sqlite3.connect(f"file:{data}?mode=ro&immutable=1", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise BackupError(f"{source} is damaged: {ok}{UNCHANGED}")
            problems = conn.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise BackupError(f"{source}: rows refer to rows that do not exist: {problems[:5]}{UNCHANGED}")
            schema = _sqlite_schema(conn)
            foreign = sorted(f"{t} {n}" for (t, n) in schema["objects"] if t not in ("table", "index"))
            if foreign:
                raise BackupError(f"{source} holds objects that are not crmkit's: {', '.join(foreign)}{UNCHANGED}")
            if live is not None:
                _same_schema(schema, live, source)
            facts = _facts(lambda sql: conn.execute(sql).fetchall(), _sqlite_tables(conn))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is damaged: {exc}{UNCHANGED}") from None
    _compare(manifest, facts, source)


def _same_schema(schema, live, source):
    """Every table and index of the backup is crmkit's: the live database's
    (made by crmkit's migrations). Made by the same migrations, the
    definitions must match word for word; an older backup (a subset of the
    live migrations) is migrated forward after the restore."""
    if not schema["history"] <= live["history"]:
        newer = sorted(f"{t}: {n}" for t, n in schema["history"] - live["history"])[:5]
        raise BackupError(f"{source} was made by migrations this database does not have "
                          f"({', '.join(newer)}): upgrade crmkit first{UNCHANGED}")
    tables = {n for (t, n) in live["objects"] if t == "table"}
    unknown = sorted(n for (t, n) in schema["objects"] if t == "table" and n not in tables)
    if unknown:
        raise BackupError(f"{source} holds tables that are not crmkit's: {', '.join(unknown)}{UNCHANGED}")
    if schema["history"] == live["history"]:
        for key, (tbl, sql) in schema["objects"].items():
            if live["objects"].get(key, (None, None))[1] != sql:
                raise BackupError(f"{source}: {key[0]} {key[1]} is not defined as crmkit defines it{UNCHANGED}")


def _restore_sqlite(live_path, data, manifest, source, verified=False):
    if not verified:
        _verify_sqlite_copy(data, manifest, source, _live_sqlite_schema(f"sqlite:///{live_path}"))
    if db.database.obj is not None and not db.database.obj.is_closed() and db.is_sqlite(db.database.obj):
        db.database.obj.close()
    # written into the live file in one write transaction (SQLite's backup API):
    # other processes that have it open see the restored data, none writes into
    # an unlinked old file
    src = sqlite3.connect(f"file:{data}?mode=ro&immutable=1", uri=True)
    dst = sqlite3.connect(live_path, timeout=db.busy_timeout())
    try:
        dst.execute(f"PRAGMA busy_timeout = {int(db.busy_timeout() * 1000)}")
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = wal")
        facts = _facts(lambda sql: dst.execute(sql).fetchall(), _sqlite_tables(dst))
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(f"the database stayed busy (another process is writing): try again{UNCHANGED}") \
                from None
        raise BackupError(f"cannot write the database: {exc}{UNCHANGED}") from None
    finally:
        src.close()
        dst.close()
    _compare(manifest, facts, source)


# -- PostgreSQL --------------------------------------------------------------

# what a pg_dump of crmkit's schema lists: anything else (a function, a
# trigger, a view, an extension, a foreign table, a rule, a policy ...) is not
# crmkit's and refuses the whole archive
ALLOWED_TOC = {"TABLE", "TABLE DATA", "SEQUENCE", "SEQUENCE SET", "SEQUENCE OWNED BY", "DEFAULT",
               "CONSTRAINT", "FK CONSTRAINT", "INDEX", "TABLE ATTACH", "INDEX ATTACH", "ENCODING",
               "STDSTRINGS", "SEARCHPATH", "SCHEMA", "COMMENT"}
TOC_TYPES = sorted(ALLOWED_TOC | {"FUNCTION", "PROCEDURE", "AGGREGATE", "TRIGGER", "EVENT TRIGGER", "VIEW",
                                   "MATERIALIZED VIEW", "FOREIGN TABLE", "SERVER", "USER MAPPING", "EXTENSION",
                                   "RULE", "POLICY", "ROW SECURITY", "PUBLICATION", "SUBSCRIPTION", "TYPE",
                                   "DOMAIN", "OPERATOR", "CAST", "LARGE OBJECT", "BLOBS", "ACL", "DEFAULT ACL",
                                   "FOREIGN DATA WRAPPER", "COLLATION", "CONVERSION", "STATISTICS"},
                   key=len, reverse=True)
TOC_HEAD = re.compile(r"^\d+; \d+ \d+ ")


def _toc(archive) -> list[dict]:
    """The archive's table of contents: ``{"type", "schema", "name"}`` per entry
    (a line reads ``3306; 2604 54121 DEFAULT public core_access_group id postgres``)."""
    entries = []
    for line in _run(["pg_restore", "--list", str(archive)]).splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        head = TOC_HEAD.match(line)
        rest = line[head.end():] if head else line
        kind = next((t for t in TOC_TYPES if rest.startswith(t + " ")), rest.split(" ", 1)[0])
        words = rest[len(kind):].split()
        if kind in ("ENCODING", "STDSTRINGS", "SEARCHPATH"):
            entries.append({"type": kind, "schema": "-", "name": kind})
        elif len(words) >= 3:
            entries.append({"type": kind, "schema": words[0], "name": " ".join(words[1:-1])})
        else:
            entries.append({"type": "?" if head else kind, "schema": "-", "name": line.strip()})
    return entries


def _verify_pg_toc(entries, live_tables, source):
    """Only crmkit's kinds of object, all in ``public``; every table one
    of the live schema's (or a partition of one)."""
    foreign = [e for e in entries if e["type"] not in ALLOWED_TOC
               or e["schema"] not in ("public", "-")
               or (e["type"] == "SCHEMA" and e["name"] != "public")
               or (e["type"] == "COMMENT" and e["name"] != "SCHEMA public")]
    if foreign:
        shown = ", ".join(f"{e['type']} {e['schema']}.{e['name']}" for e in foreign[:5])
        raise BackupError(f"{source} holds objects that are not crmkit's: {shown}{UNCHANGED}")
    if live_tables is not None:
        unknown = [e["name"] for e in entries if e["type"] in ("TABLE", "TABLE DATA", "TABLE ATTACH")
                   and _pg_target(e["name"], live_tables) is None]
        if unknown:
            raise BackupError(f"{source} holds tables that are not crmkit's: {', '.join(unknown[:5])}{UNCHANGED}")


def _pg_target(name, live_tables):
    """(table, partition key or None) for an archive's table, or None when it is not crmkit's."""
    if name in live_tables:
        return name, None
    parent, _, key = name.rpartition("_p")
    if key.isdigit() and live_tables.get(parent) == "p":   # a partition crm.load_partition made
        return parent, int(key)
    return None


def _live_pg_tables(url):
    if not url or url.startswith("sqlite"):
        return None
    import psycopg2
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition")
        return dict(cur.fetchall())
    finally:
        conn.close()


COPY_LINE = re.compile(r'^COPY public\.("?)(?P<table>[a-z_][a-z0-9_]*)\1 \((?P<columns>[^)]*)\) FROM stdin;$')
SETVAL_LINE = re.compile(r"^SELECT pg_catalog\.setval\('public\.(?P<seq>[a-z_][a-z0-9_]*)', (?P<value>\d+), "
                         r"(?P<called>true|false)\);$")
# session settings and psql's \restrict guard lines: read, never executed
HARMLESS = re.compile(r"^(SET [a-z_]+ = [^;]*;|SELECT pg_catalog\.set_config\('search_path', '', false\);|--.*|"
                      r"\\(un)?restrict [A-Za-z0-9]+|)$")


class _CopyData:
    """The data lines of one COPY block of a pg_restore script, as a file."""

    def __init__(self, lines):
        self.lines, self.ended, self.rows = lines, False, 0

    def read(self, size=-1):
        if self.ended:
            return b""
        line = next(self.lines, None)
        if line is None:
            raise BackupError("the archive's data ends in the middle of a table")
        if line == b"\\.\n":
            self.ended = True
            return b""
        self.rows += 1
        return line

    def readline(self, size=-1):
        return self.read(size)


def _restore_postgresql(url, archive, manifest, source, attempts=8):
    """One transaction; a deadlock with a writer (it held a row, we wanted
    its table) rolls it back and tries again."""
    import time

    import psycopg2.errors
    for attempt in range(attempts):
        try:
            return _restore_postgresql_once(url, archive, manifest, source)
        except (psycopg2.errors.DeadlockDetected, psycopg2.errors.LockNotAvailable):
            if attempt == attempts - 1:
                raise BackupError(f"the database stayed busy (writers hold its tables): try again{UNCHANGED}") \
                    from None
            time.sleep(0.2 * (attempt + 1))


def _restore_postgresql_once(url, archive, manifest, source):
    import psycopg2
    import psycopg2.errors
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition")
        live = dict(cur.fetchall())
        entries = _toc(archive)
        _verify_pg_toc(entries, live, source)
        _as_owner(cur)
        cur.execute(f"SET LOCAL lock_timeout = {int(db.busy_timeout() * 1000)}")
        # crmkit's own migration history stays: the schema is the live one
        data_tables = sorted(t for t in live if not t.endswith("schema_migration"))
        cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relispartition AND c.relkind = 'r'")
        partitions = [p for (p,) in cur.fetchall()]
        if partitions:
            cur.execute("DROP TABLE " + ", ".join(_quote(p) for p in partitions))
        cur.execute("LOCK TABLE " + ", ".join(_quote(t) for t in data_tables) + " IN ACCESS EXCLUSIVE MODE")
        cur.execute("TRUNCATE " + ", ".join(_quote(t) for t in data_tables) + " RESTART IDENTITY CASCADE")
        _load_pg_data(cur, archive, entries, live, source)
        facts = _facts(lambda sql: (cur.execute(sql), cur.fetchall())[1],
                       sorted(set(live) | set(_pg_partitions(cur))))
        migration = {t for t in facts["tables"] if t.endswith("schema_migration")}
        expected = {t: n for t, n in manifest["tables"].items() if t not in migration}
        _compare({**manifest, "tables": expected},
                 {**facts, "tables": {t: n for t, n in facts["tables"].items() if t not in migration}}, source)
        conn.commit()
    except (psycopg2.errors.DeadlockDetected, psycopg2.errors.LockNotAvailable):
        conn.rollback()
        raise
    except psycopg2.Error as exc:
        conn.rollback()
        raise BackupError(f"restore failed: {_pg_message(exc)}{UNCHANGED}") from None
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def _pg_partitions(cur):
    cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relispartition AND c.relkind = 'r'")
    return [p for (p,) in cur.fetchall()]


def _as_owner(cur):
    """Restore as the database's owner when we are a superuser and it is
    not one: whatever runs, runs without a superuser's rights."""
    cur.execute("SELECT r.rolname, r.rolsuper FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
                "WHERE d.datname = current_database()")
    owner, owner_super = cur.fetchone()
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if cur.fetchone()[0] and not owner_super:
        cur.execute(f"SET LOCAL ROLE {_quote(owner)}")


def _load_order(cur, names, live):
    """The archive's tables in an order where every table comes after the
    tables its foreign keys refer to (by the live schema's keys)."""
    cur.execute("SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = 'public'")
    needs = {}
    for child, parent in cur.fetchall():
        needs.setdefault(child.strip('"'), set()).add(parent.strip('"'))
    by_table = {}
    for name in names:
        by_table.setdefault(_pg_target(name, live)[0], []).append(name)
    order, done = [], set()

    def visit(table, path=()):
        if table in done or table in path:
            return
        for parent in sorted(needs.get(table, ())):
            if parent != table:
                visit(parent, path + (table,))
        done.add(table)
        order.extend(sorted(by_table.get(table, [])))
    for table in sorted(by_table):
        visit(table)
    return order


def _load_pg_data(cur, archive, entries, live, source):
    """Read the archive's data as a script and run only what crmkit writes
    itself: a COPY into a crmkit table (its statement rebuilt here from
    checked names) and a sequence value. Any other line refuses the archive.
    Tables are loaded one at a time, referred-to tables first."""
    tables = [e["name"] for e in entries if e["type"] == "TABLE DATA"
              and not _pg_target(e["name"], live)[0].endswith("schema_migration")]
    sequences = [e["name"] for e in entries if e["type"] == "SEQUENCE SET"]
    columns_of = {}
    for name in _load_order(cur, tables, live):
        _run_data_script(cur, archive, [name], live, source, columns_of)
    if sequences:
        _run_data_script(cur, archive, sequences, live, source, columns_of)


def _run_data_script(cur, archive, names, live, source, columns_of):
    cmd = ["pg_restore", "--data-only", "--no-owner", "--no-acl", "--file", "-"]
    for name in names:
        cmd += ["--table", name]
    proc = _spawn(cmd + [str(archive)], stdout=subprocess.PIPE)
    lines = iter(proc.stdout.readline, b"")
    try:
        for raw in lines:
            line = raw.decode("utf-8").rstrip("\n")
            copy, setval = COPY_LINE.match(line), SETVAL_LINE.match(line)
            if copy:
                name = copy["table"]
                target = _pg_target(name, live) if name in names else None
                if target is None:
                    raise BackupError(f"{source}: data for {name}, not a crmkit table{UNCHANGED}")
                table, key = target
                if table not in columns_of:
                    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                                "AND NOT attisdropped", (f'public."{table}"',))
                    columns_of[table] = {c for (c,) in cur.fetchall()}
                cols = [c.strip().strip('"') for c in copy["columns"].split(",")]
                bad = [c for c in cols if c not in columns_of[table]]
                if bad:
                    raise BackupError(f"{source}: table {name} has columns crmkit's does not: "
                                      f"{', '.join(bad)}{UNCHANGED}")
                into = table
                if key is not None:
                    into = f"{table}_p{key}"
                    cur.execute(f"CREATE TABLE {_quote(into)} (LIKE {_quote(table)} INCLUDING DEFAULTS)")
                cur.copy_expert(f"COPY public.{_quote(into)} ({', '.join(_quote(c) for c in cols)}) FROM STDIN",
                                _CopyData(lines))
                if key is not None:
                    cur.execute(f"ALTER TABLE {_quote(table)} ATTACH PARTITION {_quote(into)} FOR VALUES IN ({key})")
            elif setval and setval["seq"] in names:
                cur.execute("SELECT pg_catalog.setval(%s, %s, %s)",
                            (f'public."{setval["seq"]}"', int(setval["value"]), setval["called"] == "true"))
            elif not HARMLESS.match(line):
                raise BackupError(f"{source}: the archive's data holds a statement crmkit does not write: "
                                  f"{line[:200]!r}{UNCHANGED}")
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode("utf-8", "replace")
        if proc.wait() != 0:
            raise BackupError(f"pg_restore failed: {_first_error(err)}{UNCHANGED}")


def _pg_message(exc) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag else None
    return primary or _first_error(str(exc))


def _first_error(text: str) -> str:
    """The line that says what failed (pg tools print NOTICE/WARNING lines first)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower() or "fatal" in line.lower():
            return line
    return lines[-1] if lines else "no message"


def _quote(name) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- child processes -----------------------------------------------------------

def _die_with_parent():
    """In the child, before exec: die when crmkit dies (Linux), so a killed
    backup leaves no pg_dump writing behind it."""
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        if os.getppid() == 1:           # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _spawn(cmd, env=None, stdout=subprocess.PIPE):
    try:
        return subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=env, preexec_fn=_die_with_parent)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed (PostgreSQL client tools are needed)") from None


def _run(cmd, env=None):
    proc = _spawn(cmd, env=env)
    try:
        out, err = proc.communicate(timeout=24 * 3600)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        message = _first_error(err.decode("utf-8", "replace"))
        if "No space left on device" in message:
            raise BackupError(f"cannot write the backup: the disk is full ({cmd[0]}: no space left on device)")
        raise BackupError(f"{cmd[0]} failed: {message}")
    return out.decode("utf-8", "replace")
