"""The HTTP API (plugins/web under gunicorn) against floors of the same run.

- A page of 50 deals, filtered by status and ordered by start date, out of
  200,000, requested by 8 concurrent clients as a manager with access
  groups: crmkit's ``GET /api/v1/deals.deal`` (token check, the acting
  user's access filter, keyset page, JSON) against a bare Flask app under
  the same gunicorn settings running the exact SQL crmkit runs (captured
  from crmkit in the setup), one connection per request like crmkit.
  p50, p99 and requests/s; the target is on p50.
- One interaction created through ``POST /api/v1/core.interaction`` by one
  client against ``crm.create`` in process (the same payload), median.

Both servers run as ``crmkit serve`` does by default: 2 gthread workers of
4 threads, HTTP keep-alive. Each client keeps its ``http.client``
connection open between requests, as client libraries do (a
``requests.Session``, urllib3's pool, curl reusing a handle), and opens a
new one only when the server closes it; with ``TCP_NODELAY`` set as those
libraries set it: without it, http.client's two writes of a POST (the head,
then the body) wait for the server's ACK of the first, a round trip per
request that is the client's, not the server's.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import bench_deals
from common import Figure, open_crm

TITLE = "HTTP API"
REQUIRES = ("deals", "web")
PLUGINS = ("deals", "web")
WORKERS = 2
THREADS = 4       # crmkit serve's defaults: gthread workers with keep-alive
CLIENTS = 8
STATUSES = ("in_work", "won", "lost")


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def setup(ctx):
    result = bench_deals.setup(ctx)
    crm = open_crm(ctx, "main", plugins=PLUGINS)
    from crmkit.core import tokens
    _, secret = tokens.create(crm, "manager1", name="benchmark")
    manager = crm.as_user("manager1")
    sql = {}
    for status in STATUSES:    # exactly what the API runs for ?status=...&order_by=-start_date&limit=50
        from crmkit_web.api import paging
        spec = manager.registry.entity("deals.deal")
        keys = paging.sort_keys(manager, spec, "-start_date")
        q = manager.where("deals.deal", manager.query("deals.deal"), manager.parse_filters(
            "deals.deal", {"status": status})).order_by(*paging.order_terms(keys)).limit(51)
        text, params = q.sql()
        sql[status] = [text, [p.isoformat() if hasattr(p, "isoformat") else p for p in params]]
    crm.close()
    return {**result, "token": secret, "bare_sql": sql, "requests": ctx.n(2_000, 400),
            "posts": ctx.n(500, 150)}


def connection(port):
    """A connected ``http.client`` connection with ``TCP_NODELAY``, as
    HTTP client libraries open theirs."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


class Gunicorn:
    """A server process on a free port: crmkit serve, or the bare app."""

    def __init__(self, ctx, bare: bool):
        from crmkit_web.testing import free_port
        self.port = free_port()
        env = dict(os.environ)
        url = ctx.url("main")
        if bare:
            env["BARE_SQL"] = json.dumps(ctx.extra["bare_sql"])
            env["BARE_DB"] = url.removeprefix("sqlite:///") if url.startswith("sqlite") else url
            from crmkit_web.server import KEEPALIVE_S
            cmd = [str(Path(sys.executable).with_name("gunicorn")), "-w", str(WORKERS), "-k", "gthread",
                   "--threads", str(THREADS), "--keep-alive", str(KEEPALIVE_S), "-b",
                   f"127.0.0.1:{self.port}", "--chdir", str(Path(__file__).parent), "api_bare_app:app"]
        else:
            cmd = [str(Path(sys.executable).with_name("crmkit")), "--db", url, "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(WORKERS), "--threads", str(THREADS),
                   "--no-access-log"]
        self.log = open(ctx.file(f"server-{'bare' if bare else 'crmkit'}.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                self.get("/health-check-nothing", {})
                break
            except OSError:
                time.sleep(0.2)

    def get(self, path, headers):
        conn = connection(self.port)
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, body
        finally:
            conn.close()

    def client(self):
        return Client(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


class Client:
    """One client's keep-alive connection, opened again when the server closed it."""

    def __init__(self, port):
        self.port, self.conn, self.opened = port, None, 0

    def request(self, method, path, headers, body=None):
        if self.conn is None:
            self.conn = connection(self.port)
            self.opened += 1
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.conn.close()
            self.conn = None
        return resp.status, data

    def close(self):
        if self.conn is not None:
            self.conn.close()


def _load(server, path_of, headers, n):
    """``n`` requests from CLIENTS threads; latencies and wall time."""
    latencies, errors = [], []
    lock = threading.Lock()
    counter = iter(range(n))

    def client():
        own = server.client()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                own.close()
                return
            t0 = time.perf_counter()
            status, body = own.request("GET", path_of(i), headers)
            took = time.perf_counter() - t0
            with lock:
                latencies.append(took)
                if status != 200 or len(json.loads(body)["data"]) != 50:
                    errors.append(status)
    for i in range(CLIENTS * 5):     # warm every worker
        server.get(path_of(i), headers)
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} bad answers, e.g. {errors[:3]}")
    return latencies, wall


def _list(ctx, bare):
    server = Gunicorn(ctx, bare)
    try:
        if bare:
            latencies, wall = _load(server, lambda i: f"/deals?status={STATUSES[i % 3]}", {}, ctx.extra["requests"])
        else:
            latencies, wall = _load(
                server, lambda i: f"/api/v1/deals.deal?status={STATUSES[i % 3]}&order_by=-start_date&limit=50",
                {"Authorization": f"Bearer {ctx.extra['token']}"}, ctx.extra["requests"])
    finally:
        server.stop()
    return latencies, wall


def crmkit_list(ctx):
    latencies, wall = _list(ctx, bare=False)
    return {"crmkit": statistics.median(latencies),
            "info": {"crmkit_p99_s": percentile(latencies, 99), "crmkit_req_per_s": round(len(latencies) / wall),
                     "requests": len(latencies), "clients": CLIENTS, "workers": WORKERS, "threads": THREADS,
                     "keep_alive": True}}


def floor_list(ctx):
    latencies, wall = _list(ctx, bare=True)
    return {"floor": statistics.median(latencies),
            "info": {"floor_p99_s": percentile(latencies, 99), "floor_req_per_s": round(len(latencies) / wall)}}


def _payload(partner, i):
    return {"kind": "call", "direction": "outgoing", "date": f"2024-03-01T09:{i % 60:02d}:00+00:00",
            "duration": 5, "topic": f"Звонок {i}", "text": "Обсудили поставку", "how": "by phone",
            "partner": partner}


def _cpu_of_tree(pid) -> float:
    """CPU seconds (user + system) of process ``pid`` and its children so far
    (the gunicorn master and its workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:     # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def crmkit_post(ctx):
    """POST /api/v1/core.interaction, one client, sequentially. Besides the
    latency, the server's CPU per request (its processes' CPU over the timed
    requests), which a busy machine stretches far less than a wall time that
    waits for two process wake-ups per request."""
    crm = open_crm(ctx, "main", plugins=PLUGINS, user="manager1")
    partners = [p.id for p in crm.query("core.partner").limit(100)]
    crm.close()
    server = Gunicorn(ctx, bare=False)
    headers = {"Authorization": f"Bearer {ctx.extra['token']}", "Content-Type": "application/json"}
    times = []
    cpu_start = None
    client = server.client()
    try:
        for i in range(ctx.extra["posts"] + 20):
            if i == 20:
                cpu_start = _cpu_of_tree(server.proc.pid)
            body = json.dumps(_payload(partners[i % len(partners)], i)).encode()
            t0 = time.perf_counter()
            status, _ = client.request("POST", "/api/v1/core.interaction", headers, body)
            took = time.perf_counter() - t0
            if status != 201:
                raise RuntimeError(f"POST answered {status}")
            if i >= 20:
                times.append(took)
        server_cpu = (_cpu_of_tree(server.proc.pid) - cpu_start) / len(times)
    finally:
        client.close()
        server.stop()
    return {"crmkit": statistics.median(times), "info": {"posts": len(times), "crmkit_p99_s": percentile(times, 99),
                                                         "crmkit_server_cpu_per_post_s": server_cpu,
                                                         "connections_opened": client.opened}}


def floor_create(ctx):
    """crm.create of the same payload, in process, as the same user."""
    crm = open_crm(ctx, "main", plugins=PLUGINS, user="manager1")
    partners = [p.id for p in crm.query("core.partner").limit(100)]
    times, cpu = [], 0.0
    for i in range(ctx.extra["posts"] + 20):
        c0, t0 = time.process_time(), time.perf_counter()
        crm.create("core.interaction", _payload(partners[i % len(partners)], 10_000 + i))
        took, used = time.perf_counter() - t0, time.process_time() - c0
        if i >= 20:
            times.append(took)
            cpu += used
    crm.close()
    return {"floor": statistics.median(times), "info": {"floor_p99_s": percentile(times, 99),
                                                        "floor_cpu_per_create_s": cpu / len(times)}}


FIGURES = [
    Figure("api_list", "GET a page of 50 of {deals} deals, 8 clients (p50)", "time", 2.0,
           "bare Flask app, same SQL, same gunicorn", ("floor_list", "crmkit_list", "floor_list")),
    Figure("api_post", "POST one interaction over HTTP (median)", "time", 3.0, "crm.create in process",
           ("floor_create", "crmkit_post", "floor_create")),
]
