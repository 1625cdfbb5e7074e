"""Test helpers for the HTTP API: a real server (``crmkit serve`` in a
child process on a free loopback port) and a small real HTTP client over
``http.client``. Used by the plugin's tests and benchmarks; integrators
may use them for their own."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    """A tiny HTTP client over ``http.client``: one connection per request,
    as an outside program would make them."""

    def __init__(self, base, token=None):
        self.base, self.token = base, token
        parts = urlsplit(base)
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")

    def as_token(self, token):
        return Client(self.base, token)

    def request(self, method, path, body=None, headers=None, params=None, raw=None):
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        if path.startswith("http"):
            path = urlsplit(path).path + ("?" + urlsplit(path).query if urlsplit(path).query else "")
        else:
            path = self.prefix + path
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()   # \u escapes: a lone surrogate travels as JSON allows
            headers.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            try:
                conn.request(method, path, body=data, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass   # the server answered (413) before reading the whole body: read that answer
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Server:
    """``crmkit --db URL serve`` in a child process on a free port."""

    def __init__(self, url, workers=2, env=None, log=None, threads=None):
        self.url, self.port = url, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        crmkit = Path(sys.executable).with_name("crmkit")
        self.proc = subprocess.Popen(
            [str(crmkit), "--db", url, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), *(["--threads", str(threads)] if threads else [])],
            stdout=open(log, "wb"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(log).read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start in 60 s")

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def make_token(crm, login, **kw):
    from crmkit.core import tokens
    return tokens.create(crm, login, **kw)[1]


def scratch_database(kind, tmp_path_factory, prefix="crmkit_test"):
    """A fresh database for one test module: ``(url, drop)``. SQLite: a new
    file (``drop`` None); PostgreSQL: a new database on the server of
    ``$CRMKIT_TEST_POSTGRES_URL``, removed by ``drop()``."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(prefix) / 'test.db'}", None
    import uuid
    import psycopg2
    url = os.environ["CRMKIT_TEST_POSTGRES_URL"]
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')

    def drop():
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return f"{url.rpartition('/')[0]}/{name}", drop
