"""A body that does not come is cut off (``crmkit_web.bodies``), through a
real server (``crmkit serve``, gthread workers) on SQLite and PostgreSQL:
before, gunicorn read an announced body without any timeout, and two
uploads that sent a few bytes and then nothing left a two-thread server
answering no one, for as long as they liked. Now a silent body is cut
after ``CRMKIT_BODY_IDLE_SECONDS``, a trickling one at its deadline (its
length at ``CRMKIT_BODY_MIN_RATE``), the server answers others again, and
nothing is written."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest

import crmkit

pytest.importorskip("crmkit_web")
from crmkit_web.testing import Client, Server, make_token, scratch_database  # noqa: E402

pytestmark = pytest.mark.plugins("files")

PG_ENV = "CRMKIT_TEST_POSTGRES_URL"
PDF = b"%PDF-1.4\n"


def _database(kind, tmp_path_factory):
    return scratch_database(kind, tmp_path_factory, "crmkit_slow")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"])
def site(request, tmp_path_factory):
    url, drop = _database(request.param, tmp_path_factory)
    server = None
    try:
        crm = crmkit.open(url, plugins=None)
        crm.create("core.user", {"login": "volkov", "name": "Волков", "roles": "manager"})
        own = crm.create("core.partner", {"name": "Протон"})
        token = make_token(crm, "volkov")
        crm.close()
        from crmkit.kernel.db import database
        database.obj.close()
        server = Server(url, workers=1, threads=2, log=tmp_path_factory.mktemp("log") / "server.log",
                        env={"CRMKIT_BODY_IDLE_SECONDS": "2", "CRMKIT_BODY_MIN_RATE": "1000",
                             "CRMKIT_FILES_DIR": ""})
        yield {"server": server, "url": url, "own": own.id, "token": token,
               "api": Client(f"{server.base}/api/v1", token)}
    finally:
        if server is not None:
            server.stop()
        from crmkit.kernel.db import database
        if database.obj is not None and not database.obj.is_closed():
            database.obj.close()
        if drop:
            drop()


def _files(site):
    crm = crmkit.open(site["url"], migrate=False)
    try:
        from crmkit_files import models as m
        return m.File.select().count(), m.Blob.select().count()
    finally:
        crm.close()
        from crmkit.kernel.db import database
        database.obj.close()


def _announce(site, length, first=PDF):
    """An upload that says ``length`` bytes and sends ``first``."""
    sock = socket.create_connection(("127.0.0.1", site["server"].port), timeout=60)
    sock.sendall((f"POST /api/v1/files/core.partner/{site['own']}?name=slow.pdf HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {site['token']}\r\nContent-Type: application/pdf\r\n"
                  f"Content-Length: {length}\r\n\r\n").encode() + first)
    return sock


def _answered(site, wait):
    """Whether another user's GET is answered within ``wait`` seconds."""
    got = {}

    def go():
        try:
            got["status"] = site["api"].get("/core.partner").status
        except Exception as exc:   # noqa: BLE001  (reported below)
            got["status"] = repr(exc)
    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(wait)
    return got.get("status")


def test_silent_bodies_are_cut_and_the_server_answers_again(site):
    before = _files(site)
    held = [_announce(site, 100_000) for _ in range(2)]   # both threads of the one worker
    try:
        assert _answered(site, 40) == 200   # before: no answer, ever (the threads waited on the bodies)
        for sock in held:   # the server let go of them: an answer or the connection closed
            assert sock.recv(65536) is not None
    finally:
        for sock in held:
            sock.close()
    assert _files(site) == before


def test_a_trickling_body_is_cut_at_its_deadline_and_nothing_is_written(site):
    """4,000 bytes at 1,000 bytes/s minimum: cut ~6 s in, though a byte
    comes every 0.3 s (never idle for 2 s)."""
    before = _files(site)
    sock = _announce(site, 4000)
    sent, started = len(PDF), time.monotonic()
    try:
        while time.monotonic() - started < 20:   # a byte every 0.3 s for 20 s: ~70 bytes of 4,000
            try:
                sock.sendall(b"\x00")
            except OSError:   # the server closed the connection
                break
            sent += 1
            time.sleep(0.3)
        sock.settimeout(5)
        try:   # the server let go: its answer, or the connection closed (before: it still waited)
            answer = sock.recv(65536)
        except ConnectionResetError:
            answer = b""
    finally:
        sock.close()
    assert sent < 4000 and (answer == b"" or answer.startswith(b"HTTP/1.1 4")), answer
    assert _answered(site, 30) == 200
    assert _files(site) == before


def test_a_body_that_comes_in_time_is_attached(site):
    data = PDF + os.urandom(512 * 1024)
    got = site["api"].post(f"/files/core.partner/{site['own']}", raw=data, params={"name": "fast.pdf"},
                           headers={"Content-Type": "application/pdf"})
    assert got.status == 201 and got.json["result"]["size"] == len(data)


@pytest.mark.parametrize("name", ["CRMKIT_BODY_IDLE_SECONDS", "CRMKIT_BODY_MIN_RATE"])
def test_a_bad_setting_is_refused_naming_it(monkeypatch, name):
    from crmkit import StartupError
    from crmkit_web.bodies import settings
    for raw in ("x", "0", "-5"):
        monkeypatch.setenv(name, raw)
        with pytest.raises(StartupError, match=name):
            settings()
