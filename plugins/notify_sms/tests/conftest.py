"""A real HTTP server on 127.0.0.1 playing an SMS gateway."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Gateway:
    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, str]] = []     # answers to give first, in order
        self.default = (200, json.dumps({"status": "ok", "id": "gw-1"}))
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gateway.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, text = gateway.script.pop(0) if gateway.script else gateway.default
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def json_bodies(self):
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def gateway(monkeypatch):
    gw = Gateway()
    gw.thread.start()
    monkeypatch.setenv("CRMKIT_SMS_URL", f"http://127.0.0.1:{gw.port}/send")
    monkeypatch.setenv("CRMKIT_SMS_AUTH_HEADER", "Authorization: Bearer top-secret-token")
    monkeypatch.setenv("CRMKIT_SMS_SENDER", "SHOP")
    monkeypatch.setenv("CRMKIT_SMS_SUCCESS", "status=ok")
    monkeypatch.setenv("CRMKIT_SMS_TIMEOUT", "5")
    for name in ("FORMAT", "TO_FIELD", "TEXT_FIELD", "FROM_FIELD", "EXTRA", "ID_FIELD", "PROVIDER"):
        monkeypatch.delenv(f"CRMKIT_SMS_{name}", raising=False)
    yield gw
    gw.server.shutdown()
    gw.server.server_close()
