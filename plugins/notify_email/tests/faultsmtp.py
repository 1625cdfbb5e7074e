"""An SMTP server on loopback that misbehaves on purpose (test helper).

aiosmtpd (``conftest.SmtpServer``) plays a well-behaved server; this one is a
raw socket server so that it can do what no library lets a server do: greet
forever, never greet, drop the connection in the middle of DATA, answer the
final dot late. Every message whose final dot it read is counted as taken
(a real server would have queued it), by Message-ID, so tests can count
duplicates exactly.

Modes (``FaultSmtp.mode``, read per connection):
  ok                accept everything
  refuse_rcpt       550 to RCPT (a hard bounce)
  defer_rcpt        451 to RCPT
  defer_data        451 after the final dot (nothing taken)
  drop_mid_data     close the connection after the first line of DATA
  slow_dot          take the message, answer 250 after ``delay`` seconds
  endless_greeting  send ``220-`` lines until the client goes away
  no_greeting       accept the connection and say nothing
"""
from __future__ import annotations

import re
import socket
import socketserver
import threading
import time
from collections import Counter

MODES = ("ok", "refuse_rcpt", "defer_rcpt", "defer_data", "drop_mid_data", "slow_dot",
         "endless_greeting", "no_greeting")
MESSAGE_ID = re.compile(rb"(?im)^Message-ID:\s*(<[^>]+>)")


class FaultSmtp:
    def __init__(self, mode="ok", delay=0.0):
        assert mode in MODES
        self.mode, self.delay = mode, delay
        self.taken: list[bytes] = []      # messages whose final dot was read
        self.connections = 0
        self.lock = threading.Lock()
        fault = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self):
                with fault.lock:
                    fault.connections += 1
                try:
                    fault.session(self)
                except (OSError, ValueError):
                    pass  # the client went away: that is the point of most modes

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- the protocol, as far as a client needs it --------------------------
    def session(self, h):
        mode = self.mode

        def say(line):
            h.wfile.write(line.encode() + b"\r\n")
            h.wfile.flush()

        if mode == "no_greeting":
            h.rfile.read(1)            # until the client closes (or the handler timeout)
            return
        if mode == "endless_greeting":
            while True:
                say("220-still greeting you")
                time.sleep(0.01)
        say("220 fault.example ESMTP")
        while True:
            line = h.rfile.readline(4096)
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                say("250 fault.example")
            elif verb == b"MAIL":
                say("250 OK")
            elif verb == b"RCPT":
                say({"refuse_rcpt": "550 5.1.1 no such user",
                     "defer_rcpt": "451 4.3.0 try later"}.get(mode, "250 OK"))
            elif verb == b"DATA":
                say("354 go ahead")
                if mode == "drop_mid_data":
                    h.rfile.readline(65536)
                    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    h.connection.close()  # a reset, with the rest of the message unread
                    return
                data = self._read_data(h.rfile)
                if data is None:
                    return
                if mode == "defer_data":
                    say("451 4.3.0 try later")
                    continue
                with self.lock:
                    self.taken.append(data)
                if mode == "slow_dot":
                    time.sleep(self.delay)
                say("250 2.0.0 queued")
            elif verb == b"RSET" or verb == b"NOOP":
                say("250 OK")
            elif verb == b"QUIT":
                say("221 bye")
                return
            else:
                say("500 what?")

    @staticmethod
    def _read_data(rfile):
        lines = []
        while True:
            line = rfile.readline(1 << 20)
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b"..") else line)

    # -- what the tests look at ----------------------------------------------
    def message_ids(self) -> Counter:
        with self.lock:
            found = [MESSAGE_ID.search(raw) for raw in self.taken]
        return Counter(m.group(1).decode() for m in found if m)

    def duplicates(self) -> int:
        """Deliveries beyond the first of each message."""
        return sum(n - 1 for n in self.message_ids().values())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
