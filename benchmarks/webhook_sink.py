"""A local webhook receiver (http.server, HTTP/1.1 keep-alive) on 127.0.0.1
that checks every Standard Webhooks signature and counts what arrives.

Run as a separate process so the sender under test has the interpreter to
itself: ``webhook_sink.py SECRET`` prints ``ready PORT``; a line ``count``
on stdin prints ``received valid``; it exits at the end of stdin.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    key = base64.b64decode(sys.argv[1].removeprefix("whsec_"))
    counts = {"received": 0, "valid": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            h = self.headers
            mac = hmac.new(key, f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + body,
                           hashlib.sha256).digest()
            ok = ("v1," + base64.b64encode(mac).decode()) in (h.get("webhook-signature") or "").split()
            with lock:
                counts["received"] += 1
                counts["valid"] += ok
            self.send_response(204 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"ready {server.server_address[1]}", flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            with lock:
                print(counts["received"], counts["valid"], flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
