"""10,000 webhook deliveries through the outbox to a local receiver against a
bare ``http.client`` loop posting the same signed bodies.

crmkit: ``crm.outbox.deliver(channel="webhook")`` with the notify_webhook
plugin: claim in batches, suppression check, skip hook (subscription active,
owner still an administrator), the SSRF check (once per host and run),
signing (Standard Webhooks), a POST on the run's keep-alive connection with
a deadline over every read, the answer read bounded, ``sent`` recorded in its
own transaction, ``delivered`` event. The events are real: 10,000 partners
created in the setup (untimed), each queueing its ``core.partner.created``.
The floor is a bare script: one ``http.client`` keep-alive connection, the
same bodies, each signed with ``hmac`` in the loop, the answer read. The
receiver (``webhook_sink.py``) runs in its own process, checks every
signature and counts. Each side runs ``ROUNDS`` times (crmkit's messages
put back in the queue between its rounds, untimed) and counts at its best;
the floor's rounds run before and after crmkit's. Each side's CPU per
delivery (its own process, the receiver's not counted; least of its
rounds) is recorded too: on a shared machine the wall times follow the
receiver's and the sender's waits for a core far more than the code.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import Figure, Stopwatch, open_crm

TITLE = "Webhook delivery to a local receiver"
REQUIRES = ("notify_webhook",)
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def setup(ctx):
    n = ctx.n(10_000, 1_000)
    os.environ["CRMKIT_WEBHOOK_ALLOW_NETWORKS"] = "127.0.0.1/32"
    crm = open_crm(ctx, "main", plugins=("notify_webhook",))
    from crmkit_notify_webhook.subscriptions import add
    add(crm, "http://127.0.0.1:9/hook", "core.partner.created", "benchmark", secret=SECRET)
    with crm.transaction():
        for i in range(n):
            crm.create("core.partner", {"name": f"Клиент {i:05d}", "kind": "company",
                                        "public_name": f"ООО «Клиент {i:05d}»", "is_client": True})
    bodies = [m.body_text for m in reversed(crm.outbox.messages(channel="webhook", limit=n + 1))]
    crm.close()
    if len(bodies) != n:
        raise RuntimeError(f"{len(bodies)} events queued, expected {n}")
    path = ctx.file("bodies.json")
    path.write_text(json.dumps(bodies, ensure_ascii=False))
    return {"deliveries": n, "bodies": str(path)}


class Sink:
    """The receiver process."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("webhook_sink.py")), SECRET],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("the webhook receiver did not start")
        self.port = int(line[1])
        return self

    def count(self) -> tuple[int, int]:
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        received, valid = self.proc.stdout.readline().split()
        return int(received), int(valid)

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


ROUNDS = 3   # each side's best of this many: a shared machine's busy moments flatter neither


def _requeue(crm):
    """Put every delivered message back in the queue, as it was queued (untimed)."""
    from crmkit.kernel.models import OutboxMessage
    from crmkit import utcnow
    with crm.transaction():
        OutboxMessage.update(state="queued", attempts=0, claim_token=None, claimed_at=None, sent_at=None,
                             last_error="", next_attempt_at=utcnow()).execute()


def crmkit_deliver(ctx):
    n = ctx.extra["deliveries"]
    os.environ["CRMKIT_WEBHOOK_ALLOW_NETWORKS"] = "127.0.0.1/32"
    times, cpus = [], []
    for round_ in range(ROUNDS):
        with Sink() as sink:
            crm = open_crm(ctx, "main", plugins=("notify_webhook",))
            sub = crm.find("notify_webhook.subscription")[0]
            crm.update("notify_webhook.subscription", sub.id, {"url": f"http://127.0.0.1:{sink.port}/hook"})
            if round_:
                _requeue(crm)
            cpu = time.process_time()
            with Stopwatch() as sw:
                counts = crm.outbox.deliver(channel="webhook", limit=n)
            cpus.append((time.process_time() - cpu) / n)
            received, valid = sink.count()
            crm.close()
        if counts["sent"] != n or valid != n:
            raise RuntimeError(f"sent {counts}, receiver got {received} ({valid} validly signed), expected {n}")
        times.append(sw.seconds)
    best = min(times)
    return {"crmkit": best, "info": {"deliveries": n, "crmkit_per_s": round(n / best),
                                     "crmkit_rounds_s": [round(t, 3) for t in times],
                                     "crmkit_cpu_per_delivery_ms": round(1000 * min(cpus), 4)}}


def floor_http_client(ctx):
    """A bare loop: one keep-alive http.client connection, each body signed
    with hmac and posted, the answer read (best of ``ROUNDS``)."""
    bodies = [b.encode() for b in json.loads(Path(ctx.extra["bodies"]).read_text())]
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    times, cpus = [], []
    for _ in range(ROUNDS):
        with Sink() as sink:
            cpu = time.process_time()
            with Stopwatch() as sw:
                conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=15)
                for i, body in enumerate(bodies):
                    msg_id, stamp = f"msg_{i:032x}", str(int(time.time()))
                    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
                    conn.request("POST", "/hook", body=body, headers={
                        "Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": stamp,
                        "webhook-signature": "v1," + base64.b64encode(mac).decode()})
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status != 204:
                        raise RuntimeError(f"the receiver answered {resp.status}")
                conn.close()
            cpus.append((time.process_time() - cpu) / len(bodies))
            received, valid = sink.count()
        if valid != len(bodies):
            raise RuntimeError(f"receiver got {received} ({valid} valid) of {len(bodies)}")
        times.append(sw.seconds)
    return {"floor": min(times), "info": {"floor_per_s": round(len(bodies) / min(times)),
                                          "floor_rounds_s": [round(t, 3) for t in times],
                                          "floor_cpu_per_delivery_ms": round(1000 * min(cpus), 4)}}


FIGURES = [
    Figure("webhook_delivery", "Deliver {deliveries} webhooks (local receiver)", "speed", 0.5,
           "bare http.client keep-alive loop, best of 6",
           ("floor_http_client", "crmkit_deliver", "floor_http_client")),
]
