"""Delivers the outbox and stops right after the server accepted a message,
before the kernel records it as sent, waiting to be killed (test helper)."""
import sys
import time

import attrs

import crmkit

crm = crmkit.open(sys.argv[1], plugins=["notify_email"])
spec = crm.registry.channels["email"]


def deliver_then_hang(crm, message):
    spec.deliver(crm, message)
    print("ACCEPTED", message.id, flush=True)
    time.sleep(60)  # bounded: the test kills us long before this ends


crm.registry.channels["email"] = attrs.evolve(spec, deliver=deliver_then_hang)
crm.outbox.deliver(channel="email")
