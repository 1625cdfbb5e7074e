"""Backup and restore under kills, tampering, a concurrent writer, read-only
media and a full disk (issue 16 items 6-9 and 14), on SQLite and PostgreSQL.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

import crmkit
from crmkit.kernel import backup as bk

ROOT = Path(__file__).resolve().parents[2]
KILLS = 12

BACKUP = """
import sys, crmkit
from crmkit.kernel.backup import backup
crm = crmkit.open(sys.argv[1], plugins=[], migrate=False)
print("start", flush=True)
backup(crm, sys.argv[2])
print("done", flush=True)
"""


def _fill(crm, n, label):
    crm.import_frame("core.partner", __import__("pandas").DataFrame({"name": [f"{label} {i}" for i in range(n)]}))


def _pg_dumps_of(path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pg_dump" in line and str(path.parent) in line]


@pytest.mark.plugins()
def test_a_killed_backup_leaves_the_previous_one_whole_and_no_child_behind(crm, db_url, tmp_path):
    _fill(crm, 4000, "Клиент")
    target = tmp_path / "nightly.backup"
    first = bk.backup(crm, target)
    good = target.read_bytes()
    _fill(crm, 2000, "Новый")
    crm.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    crm = crmkit.open(db_url, plugins=[])
    start = time.monotonic()
    bk.backup(crm, tmp_path / "timing.backup")
    whole = time.monotonic() - start
    crm.close()
    rng = random.Random(16)
    kept, replaced, together = 0, 0, 0
    for k in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", BACKUP, db_url, str(target)], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        assert proc.stdout.readline().strip() == b"start"
        time.sleep(rng.uniform(0, whole * 1.3))   # anywhere in the backup, or just after it
        if k % 2:   # crmkit and its pg_dump killed together, as a terminal's ^C or a stopped unit does
            os.killpg(proc.pid, signal.SIGKILL)
            together += 1
        else:       # crmkit alone: its child must die with it
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while _pg_dumps_of(target) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _pg_dumps_of(target) == [], "pg_dump outlived the crmkit that started it"
        result = bk.verify(db_url, target)          # always a whole, checked backup
        if target.read_bytes() == good:
            kept += 1
        else:
            replaced += 1
            assert result["rows"] > sum(first["tables"].values())
            good = target.read_bytes()
    print(f"{KILLS} kills ({together} with the child): previous backup kept {kept}, new one whole {replaced}")
    assert kept >= 2, "no kill landed inside a backup: the test did not test anything"
    leftovers = [p.name for p in tmp_path.iterdir() if ".part" in p.name]
    crm2 = crmkit.open(db_url, plugins=[])
    bk.backup(crm2, target)   # the next backup clears what killed ones left
    crm2.close()
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == [], leftovers


def _members(path):
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def _pack(path, manifest, data_name, data, fix_hash=True):
    if fix_hash:
        manifest = {**manifest, "sha256": hashlib.sha256(data).hexdigest()}
    with tarfile.open(path, "w") as tar:
        for name, body in (("manifest.json", json.dumps(manifest).encode()), (data_name, data)):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))


def _tamper_sqlite(data: bytes, tmp_path, *statements) -> bytes:
    path = tmp_path / "tamper.sqlite"
    path.write_bytes(data)
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return path.read_bytes()


def _tamper_pg(data: bytes, db_url, tmp_path, *statements) -> bytes:
    """Load the archive into a scratch database, change it, dump it again."""
    import psycopg2
    base, _, _ = db_url.rpartition("/")
    name = f"crmkit_tamper_{os.getpid()}"
    admin = psycopg2.connect(db_url)
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        (tmp_path / "in.pgdump").write_bytes(data)
        # (it complains that schema public exists: that is all)
        subprocess.run(["pg_restore", "--no-owner", "-d", f"{base}/{name}", str(tmp_path / "in.pgdump")],
                       capture_output=True)
        conn = psycopg2.connect(f"{base}/{name}")
        for sql in statements:
            conn.cursor().execute(sql)
        conn.commit()
        conn.close()
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", "-f", str(tmp_path / "out.pgdump"),
                        f"{base}/{name}"], check=True, capture_output=True)
        return (tmp_path / "out.pgdump").read_bytes()
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _live(crm):
    return sorted(p.name for p in crm.find("core.partner", limit=None, include_marked=True))


@pytest.mark.plugins()
def test_restore_refuses_what_is_not_the_backup_it_claims_and_keeps_the_live_data(crm, db_url, tmp_path):
    crm.create("core.partner", {"name": "в первой копии"})
    crm.create("core.user", {"login": "ann", "name": "Анна", "roles": "manager"})
    one = tmp_path / "one.backup"
    bk.backup(crm, one)
    crm.create("core.partner", {"name": "во второй копии"})
    two = tmp_path / "two.backup"
    bk.backup(crm, two)
    crm.create("core.partner", {"name": "живые данные"})
    live = _live(crm)
    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    data_name = bk.DATA[kind]
    a, b = _members(one), _members(two)
    manifest = json.loads(a["manifest.json"])
    pg = kind == "postgresql"
    tamper = (lambda *sql: _tamper_pg(b[data_name], db_url, tmp_path, *sql)) if pg else \
        (lambda *sql: _tamper_sqlite(b[data_name], tmp_path, *sql))
    marker = Path(f"/tmp/crmkit-pwned-{os.getpid()}")   # written by the server, as its own user
    evil_fn = ("CREATE FUNCTION public.evil() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
               "UPDATE core_user SET roles = 'admin'; COPY (SELECT 1) TO PROGRAM 'touch {marker}'; "
               "RETURN true; END $$").format(marker=marker)
    cases = {
        "a foreign manifest": (manifest, b[data_name], False),
        "a changed file, its hash left": (json.loads(b["manifest.json"]),
                                          b[data_name][:-4096] + b"\0" * 4096, False),
        "a deleted row, the hash made good": (json.loads(b["manifest.json"]),
                                              tamper("DELETE FROM core_partner WHERE name = 'в первой копии'"), True),
        "a role made administrator": (json.loads(b["manifest.json"]),
                                      tamper("UPDATE core_user SET roles = 'admin' WHERE login = 'ann'"), True),
        "a trigger": (json.loads(b["manifest.json"]), tamper(
            "CREATE TRIGGER t BEFORE UPDATE ON core_partner FOR EACH ROW EXECUTE FUNCTION "
            "suppress_redundant_updates_trigger()" if pg else
            "CREATE TRIGGER t AFTER INSERT ON core_partner BEGIN UPDATE core_user SET roles = 'admin'; END"), True),
    }
    if pg:
        cases["a CHECK constraint calling plpgsql"] = (json.loads(b["manifest.json"]), tamper(
            evil_fn, "ALTER TABLE core_partner ADD CONSTRAINT c CHECK (public.evil())"), True)
        cases["a table that is not crmkit's"] = (json.loads(b["manifest.json"]), tamper(
            "CREATE TABLE public.core_partner_x (name text)", "INSERT INTO core_partner_x VALUES ('x')"), True)
    marker.unlink(missing_ok=True)      # (tampering ran the function once, in its scratch database)
    for label, (man, data, fix) in cases.items():
        crafted = tmp_path / "crafted.backup"
        _pack(crafted, man, data_name, data, fix_hash=fix)
        with pytest.raises(bk.BackupError, match="the database is unchanged") as err:
            bk.restore(db_url, crafted)
        assert len(str(err.value)) < 600 and "\n" not in str(err.value), label
        crm = crmkit.open(db_url, plugins=[])
        assert _live(crm) == live, f"{label}: the live data changed"
        assert crm.get("core.user", "ann").roles == "manager"
        crm.close()
    assert not marker.exists(), "restore ran the archive's code"
    # no manifest at all: a bare database file, a tar without one
    bare = tmp_path / "bare.backup"
    bare.write_bytes(b[data_name])
    with pytest.raises(bk.BackupError, match="not a crmkit backup|no manifest"):
        bk.restore(db_url, bare)
    with tarfile.open(tmp_path / "nomanifest.backup", "w") as tar:
        tar.add(str(bare), arcname=data_name)
    with pytest.raises(bk.BackupError, match="no manifest"):
        bk.restore(db_url, tmp_path / "nomanifest.backup")
    # and the good one restores
    bk.restore(db_url, two)
    crm = crmkit.open(db_url, plugins=[])
    assert "живые данные" not in _live(crm) and "во второй копии" in _live(crm)
    crm.close()


WRITER = """
import sys, time, json, crmkit
crm = crmkit.open(sys.argv[1], plugins=[], migrate=False)
import os
stop = time.monotonic() + 120
with open(sys.argv[2], "a") as log:
    i = 0
    while time.monotonic() < stop and not os.path.exists(sys.argv[3]):
        i += 1
        try:
            p = crm.create("core.partner", {"name": f"writer {i}"})
            log.write(json.dumps([time.time(), p.id, p.name]) + "\\n"); log.flush()
        except crmkit.Busy:
            pass
        except Exception as exc:
            log.write(json.dumps(["error", repr(exc)]) + "\\n"); log.flush()
        time.sleep(0.01)
"""


@pytest.mark.plugins()
def test_restore_under_a_concurrent_writer_acknowledges_no_lost_write(crm, db_url, tmp_path):
    crm.create("core.partner", {"name": "в копии"})
    target = tmp_path / "b.backup"
    bk.backup(crm, target)
    crm.close()
    log = tmp_path / "writer.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(log), str(stop)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)   # the writer has the database open and is writing
    bk.restore(db_url, target)
    restored_at = time.time()
    time.sleep(1.5)     # the writer goes on with the connection it had
    stop.touch()
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err[-2000:]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e for e in entries if e[0] == "error"] == []
    after = [e for e in entries if e[0] > restored_at]
    assert len(after) > 10, "the writer did not write after the restore"
    crm = crmkit.open(db_url, plugins=[])
    names = set(_live(crm))
    crm.close()
    lost = [e for e in after if e[2] not in names]
    assert lost == [], f"{len(lost)} writes acknowledged after the restore are not in the database: {lost[:3]}"
    assert "в копии" in names


def _mount(folder, size="4m", *options):
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs",
                           str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here ({done.stderr.decode().strip()})")


def _umount(folder):
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.plugins()
def test_a_good_backup_on_read_only_media_verifies_and_restores(crm, db_url, tmp_path):
    crm.create("core.partner", {"name": "на диске только для чтения"})
    media = tmp_path / "media"
    _mount(media, "16m")
    try:
        bk.backup(crm, media / "b.backup")
        subprocess.run(["mount", "-o", "remount,ro", str(media)], check=True)
        with pytest.raises(OSError):
            (media / "probe").write_text("x")
        assert bk.verify(db_url, media / "b.backup")["rows"] > 0
        crm.create("core.partner", {"name": "после копии"})
        bk.restore(db_url, media / "b.backup")
        crm2 = crmkit.open(db_url, plugins=[])
        assert "после копии" not in _live(crm2)
        crm2.close()
    finally:
        _umount(media)


@pytest.mark.plugins()
def test_a_backup_onto_a_full_disk_is_one_line_and_leaves_nothing(crm, db_url, tmp_path, cli):
    _fill(crm, 20000, "Клиент с длинным именем для объёма")
    disk = tmp_path / "full"
    _mount(disk, "64k")
    try:
        out = cli("db", "backup", str(disk / "full.backup"))
        assert out.exit_code == 1
        assert out.output.strip().count("\n") == 0 and "disk is full" in out.output, out.output
        assert os.listdir(disk) == [], "a partial backup was left behind"
    finally:
        _umount(disk)


@pytest.mark.sqlite_only
@pytest.mark.plugins()
def test_writes_to_a_full_or_read_only_sqlite_database_say_so_in_one_line(tmp_path):
    disk = tmp_path / "disk"
    _mount(disk, "3m")
    try:
        crm = crmkit.open(f"sqlite:///{disk / 'crm.db'}", plugins=[])
        with pytest.raises(crmkit.StorageError, match="the disk is full: nothing was written"):
            for _ in range(200):
                crm.import_frame("core.partner", __import__("pandas").DataFrame({"name": ["x" * 150] * 500}))
        crm.close()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        crm = crmkit.open(f"sqlite:///{disk / 'crm.db'}", plugins=[], migrate=False)
        with pytest.raises(crmkit.StorageError, match="read-only"):
            crm.create("core.partner", {"name": "y"})
        crm.close()
    finally:
        _umount(disk)
