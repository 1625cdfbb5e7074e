"""One of the concurrent writers of test_concurrency.py.

    python -m tests.adversarial.concurrency_worker DB_URL WORKER SECONDS OUT_JSON PLUGINS HOT_JSON

Until the time is up it creates interactions (and deals), and updates the
shared "hot" records everyone updates. It writes down every write the
kernel acknowledged, every ``crmkit.Busy`` and every other error.
"""
from __future__ import annotations

import json
import random
import sys
import time

import crmkit


def main(url, worker, seconds, out, plugins, hot_file):
    plugins = [p for p in plugins.split(",") if p]
    crm = crmkit.open(url, plugins=plugins, migrate=False)
    rng = random.Random(int(worker))
    partners = [p.id for p in crm.find("core.partner", limit=None)]
    with open(hot_file, encoding="utf-8") as fh:   # ids, not topics: others rewrite the topics at once
        hot = json.load(fh)
    field = {"core.interaction": "topic", "deals.deal": "comment"}
    created, updated, busy, errors = [], [], 0, []
    deadline = time.monotonic() + float(seconds)
    i = 0
    while time.monotonic() < deadline:
        i += 1
        entity = "deals.deal" if "deals" in plugins and i % 3 == 0 else "core.interaction"
        try:
            if i % 2:
                if entity == "core.interaction":
                    record = crm.create(entity, {"kind": "meeting", "date": "2015-10-21", "partner": rng.choice(partners),
                                                 "topic": f"w{worker}-c{i}"})
                    created.append([entity, record.id, record.number, f"w{worker}-c{i}"])
                else:
                    record = crm.create(entity, {"name": f"w{worker}-c{i}", "client": rng.choice(partners)})
                    created.append([entity, record.id, record.code, f"w{worker}-c{i}"])
            else:
                rid = rng.choice(hot[entity])
                value = f"w{worker}-u{i}"
                crm.update(entity, rid, {field[entity]: value})
                updated.append([entity, rid, field[entity], value])
        except crmkit.Busy:
            busy += 1
        except Exception as exc:  # noqa: BLE001 - every other error is a finding
            errors.append(f"{type(exc).__name__}: {exc}")
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"created": created, "updated": updated, "busy": busy, "errors": errors,
                   "seen": {"partners": len(partners), **{e: len(ids) for e, ids in hot.items()}}}, fh)


if __name__ == "__main__":
    main(*sys.argv[1:])
