"""10,000 queued emails delivered to a local SMTP server against a bare
smtplib loop sending the same messages.

crmkit: ``crm.outbox.deliver(channel="email")`` with the notify_email plugin:
claim in batches, suppression check, skip hook, compose (Message-ID, Date,
text + HTML alternatives, List-Unsubscribe), send on a reused connection,
record ``sent`` in its own transaction, ``delivered`` event. The floor is a
bare script: the same messages (same headers and parts) composed with the
standard email package and sent with smtplib on one connection. The
transport alone (those messages as bytes, composed before the clock) is
reported too: composing MIME with the email package is most of the cost. The server (aiosmtpd) runs in its own process on 127.0.0.1,
and counts what arrives. The floor runs before and after crmkit and counts
at its best, so a busy moment of the machine does not flatter crmkit.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from common import Figure, Stopwatch, open_crm, rng

TITLE = "Email delivery to a local SMTP server"
REQUIRES = ("notify_email",)
SENDER = "Торговый дом <sales@example.org>"
UNSUBSCRIBE = "https://crm.example.org/u/{token}"
TEXT = ("Здравствуйте, {name}!\n\nПриглашаем вас на презентацию новой линейки оборудования, "
        "которая пройдёт {day} в нашем офисе. В программе: обзор новинок, условия поставки "
        "для постоянных клиентов, ответы на вопросы.\n\nС уважением,\nотдел продаж\n") * 2
HTML = "<html><body><p>{text}</p></body></html>"


def setup(ctx):
    n = ctx.n(10_000, 1_000)
    crm = open_crm(ctx, "main", plugins=("notify_email",))
    r = rng(51)
    days = r.integers(1, 28, n)
    messages = []
    with crm.transaction():
        for i in range(n):
            name = f"Клиент {i:05d}"
            text = TEXT.format(name=name, day=f"{days[i]} марта")
            msg = {"recipient": f"client{i:05d}@example.net", "recipient_name": name,
                   "subject": f"Приглашение на презентацию, {name}", "text": text,
                   "html": HTML.format(text=text.replace("\n", "<br>")),
                   "meta": {"list_unsubscribe": UNSUBSCRIBE.format(token=f"t{i:05d}"),
                            "list_unsubscribe_post": True}}
            crm.outbox.queue("email", msg["recipient"], subject=msg["subject"], text=msg["text"],
                             html=msg["html"], key=f"bench:{i}", meta=msg["meta"], source="bench",
                             recipient_name=name)
            messages.append(msg)
    crm.close()
    path = ctx.file("messages.json")
    path.write_text(json.dumps(messages, ensure_ascii=False))
    return {"emails": n, "messages": str(path)}


class Sink:
    """The aiosmtpd server process."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("smtp_sink.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("the SMTP sink did not start")
        self.port = int(line[1])
        return self

    def count(self) -> int:
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def crmkit_deliver(ctx):
    n = ctx.extra["emails"]
    with Sink() as sink:
        os.environ.update({"CRMKIT_SMTP_HOST": "127.0.0.1", "CRMKIT_SMTP_PORT": str(sink.port),
                           "CRMKIT_SMTP_SECURITY": "plain", "CRMKIT_SMTP_FROM": SENDER})
        crm = open_crm(ctx, "main", plugins=("notify_email",))
        from crmkit_notify_email.smtp import close_connections
        with Stopwatch() as sw:
            counts = crm.outbox.deliver(channel="email", limit=n)
            close_connections()
        received = sink.count()
        crm.close()
    if counts["sent"] != n or received != n:
        raise RuntimeError(f"sent {counts}, server received {received}, expected {n}")
    return {"crmkit": sw.seconds, "info": {"emails": n, "crmkit_per_s": round(n / sw.seconds)}}


def compose_bare(i, msg):
    mail = EmailMessage()
    mail["Message-ID"] = make_msgid(f"bench{i}", "example.org")
    mail["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    mail["From"] = SENDER
    mail["To"] = formataddr((msg["recipient_name"], msg["recipient"]))
    mail["Subject"] = msg["subject"]
    mail["List-Unsubscribe"] = f"<{msg['meta']['list_unsubscribe']}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(msg["text"], cte="quoted-printable")
    mail.add_alternative(msg["html"], subtype="html", cte="quoted-printable")
    return mail


def wire_bytes(mail) -> bytes:
    """The message as smtplib's send_message puts it on the wire (CRLF lines)."""
    import io
    from email.generator import BytesGenerator
    with io.BytesIO() as buf:
        BytesGenerator(buf, policy=mail.policy).flatten(mail, linesep="\r\n")
        return buf.getvalue()


def floor_smtplib(ctx):
    """A bare script: compose each message with the standard email package and
    send it with smtplib on one connection. The transport alone (the same
    messages as bytes, composed before the clock) is measured too, as info."""
    messages = json.loads(Path(ctx.extra["messages"]).read_text())
    wire = [(wire_bytes(compose_bare(i, msg)), msg["recipient"]) for i, msg in enumerate(messages)]
    with Sink() as sink:
        with Stopwatch() as transport:
            smtp = smtplib.SMTP("127.0.0.1", sink.port, timeout=30)
            for data, recipient in wire:
                smtp.sendmail("sales@example.org", [recipient], data)
            smtp.quit()
        with Stopwatch() as sw:
            smtp = smtplib.SMTP("127.0.0.1", sink.port, timeout=30)
            for i, msg in enumerate(messages):
                smtp.send_message(compose_bare(i, msg), "sales@example.org", [msg["recipient"]])
            smtp.quit()
        received = sink.count()
    if received != 2 * len(messages):
        raise RuntimeError(f"server received {received} of {2 * len(messages)}")
    return {"floor": sw.seconds, "info": {"floor_per_s": round(len(messages) / sw.seconds),
                                          "transport_only_s": round(transport.seconds, 3)}}


FIGURES = [
    Figure("email_delivery", "Deliver {emails} queued emails (local SMTP)", "speed", 0.5,
           "bare compose + smtplib loop, best of 2", ("floor_smtplib", "crmkit_deliver", "floor_smtplib")),
]
