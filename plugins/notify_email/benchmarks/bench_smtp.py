"""Delivering N queued emails through the outbox vs a bare smtplib loop.

    python plugins/notify_email/benchmarks/bench_smtp.py [N] [database URL]

Both send to the same aiosmtpd server on 127.0.0.1, run as a separate
process (in a thread of this one, the GIL would make the timings about
thread switching); the bare loop sends the very messages the outbox
composed, over one connection. Prints both rates and their ratio (target:
the outbox reaches at least 0.5 of the bare loop).
"""
from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

import crmkit


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    tmp = tempfile.mkdtemp()
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tmp}/bench.db"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"])
    for _ in range(100):  # bounded wait for the server to listen
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    os.environ.update({"CRMKIT_SMTP_HOST": "127.0.0.1", "CRMKIT_SMTP_PORT": str(port),
                       "CRMKIT_SMTP_SECURITY": "plain", "CRMKIT_SMTP_FROM": "CRM <crm@shop.example>",
                       "CRMKIT_SMTP_MAX_PER_CONNECTION": "0"})
    from crmkit_notify_email.channel import current_settings
    from crmkit_notify_email.compose import compose, envelope
    from crmkit_notify_email.smtp import close_connections
    try:
        crm = crmkit.open(url, plugins=["notify_email"])
        with crm.transaction():
            for i in range(n):
                crm.outbox.queue("email", f"client{i}@clients.example", recipient_name=f"Клиент {i}",
                                 subject=f"Предложение ноября №{i}", text="Добрый день!\n" + "Текст письма. " * 40,
                                 html="<p>Добрый день!</p>" + "<p>Текст письма.</p>" * 40, key=f"bench:{i}",
                                 source="bench", meta={"list_unsubscribe": f"https://shop.example/u/{i}",
                                                       "list_unsubscribe_post": True})
        messages = crm.outbox.messages(limit=n)
        settings = current_settings()
        mails = [compose(m, settings) for m in messages]

        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for mail in mails:
                sender, rcpts = envelope(mail)
                smtp.send_message(mail, sender, rcpts)
        bare = time.perf_counter() - start

        start = time.perf_counter()
        counts = crm.outbox.deliver(limit=n)
        close_connections()
        outbox = time.perf_counter() - start
        assert counts["sent"] == n, counts
        print(f"messages            {n}")
        print(f"bare smtplib loop   {n / bare:8.0f} msg/s  ({bare:.1f} s)")
        print(f"outbox deliver()    {n / outbox:8.0f} msg/s  ({outbox:.1f} s)  [{url.split(':')[0]}]")
        print(f"ratio               {bare / outbox:8.2f}  (target >= 0.50)")
        crm.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
