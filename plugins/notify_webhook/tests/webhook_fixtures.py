"""The webhook tests' real receiver on 127.0.0.1 (http.server in a thread):
it checks every signature, answers as scripted (status codes, slowness,
redirects), and counts connections and duplicate webhook-ids; and helpers.

A uniquely named module, imported by the tests (``receiver`` is a fixture):
every plugin's tests share one pytest session, where a second conftest.py
would shadow the others' ``from conftest import ...``."""
from __future__ import annotations

import collections
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crmkit_notify_webhook import signing


class Receiver:
    def __init__(self):
        self.secrets: list[str] = []          # signatures made with any of these are valid
        self.requests: list[dict] = []
        self.script: list[dict] = []          # behaviours for the next requests, in order
        self.connections = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"      # keep-alive, as real receivers do

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    act = receiver.script.pop(0) if receiver.script else {}
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "valid": [signing.verify(s, dict(self.headers), body)
                                                        for s in receiver.secrets]})
                if act.get("sleep"):
                    time.sleep(act["sleep"])
                status = act.get("status", 200)
                data = act.get("body", b'{"ok":true}')
                if act.get("drip"):
                    # headers, then the body a byte at a time: slower than any deadline allows
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    for i in range(len(data)):
                        try:
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(act["drip"])
                    return
                self.send_response(status)
                for name, value in act.get("headers", {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def ids(self):
        return [r["headers"]["webhook-id"] for r in self.requests]

    def duplicates(self) -> dict:
        return {k: n for k, n in collections.Counter(self.ids()).items() if n > 1}

    def bodies(self):
        return [json.loads(r["body"]) for r in self.requests]

    def all_valid(self) -> bool:
        return bool(self.requests) and all(any(r["valid"]) for r in self.requests)


def subscribe(crm, receiver, events, path="/hook"):
    """A subscription to the receiver; the receiver learns its secret."""
    from crmkit_notify_webhook.subscriptions import add
    sub, secret = add(crm, f"http://127.0.0.1:{receiver.port}{path}", events)
    receiver.secrets.append(secret)
    return sub


def later(crm, minutes=600):
    """Deliver as if that much time had passed (retries are due)."""
    import datetime as dt
    from crmkit import utcnow
    return crm.outbox.deliver(channel="webhook", now=utcnow() + dt.timedelta(minutes=minutes))


@pytest.fixture
def receiver(monkeypatch):
    """The receiver, with loopback explicitly allowed (it is refused by default)."""
    rc = Receiver()
    rc.thread.start()
    monkeypatch.setenv("CRMKIT_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("CRMKIT_WEBHOOK_TIMEOUT", "2")
    monkeypatch.setenv("CRMKIT_WEBHOOK_CONNECT_TIMEOUT", "1")
    for name in ("DISABLE_AFTER", "MAX_RESPONSE"):
        monkeypatch.delenv(f"CRMKIT_WEBHOOK_{name}", raising=False)
    yield rc
    rc.server.shutdown()
    rc.server.server_close()
