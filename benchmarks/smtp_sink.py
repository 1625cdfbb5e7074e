"""A local SMTP server (aiosmtpd) on 127.0.0.1 that accepts and counts mail.

Run as a separate process so the sender under test has the interpreter to
itself: prints ``ready PORT`` when listening; on a line ``count`` on stdin
prints the number of messages received so far; exits at end of stdin.
"""
from __future__ import annotations

import socket
import sys


class Counter:
    def __init__(self):
        self.received = 0
        self.recipients = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        self.recipients += len(envelope.rcpt_tos)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    from aiosmtpd.controller import Controller
    handler = Counter()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=10_000_000)
    controller.start()
    print(f"ready {port}", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "count":
                print(handler.received, flush=True)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
