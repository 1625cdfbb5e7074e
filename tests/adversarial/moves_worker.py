"""One of the concurrent deal movers of test_concurrent_moves.py.

    python -m tests.adversarial.moves_worker DB_URL WORKER SECONDS OUT_JSON HOT_JSON

Until the time is up it moves the shared deals to random stages (by name,
"next", "previous"), wins, loses and reopens them. A refusal the rules
give (a closed deal cannot move, ...) is an expected answer; ``Busy`` is
counted; any other error is a finding.
"""
from __future__ import annotations

import json
import random
import sys
import time

import crmkit
from crmkit_deals import api


def main(url, worker, seconds, out, hot_file):
    crm = crmkit.open(url, plugins=["deals"], migrate=False)
    rng = random.Random(int(worker))
    with open(hot_file, encoding="utf-8") as fh:
        hot = json.load(fh)
    done, refused, busy, errors = 0, 0, 0, []
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        deal = rng.choice(hot["deals"])
        action = rng.choice(("move", "move", "move", "next", "previous", "win", "lose", "reopen", "reopen"))
        try:
            if action == "move":
                api.move_to_stage(crm, deal, rng.choice(hot["stages"]))
            elif action in ("next", "previous"):
                api.move_to_stage(crm, deal, action)
            elif action == "win":
                api.win(crm, deal)
            elif action == "lose":
                api.lose(crm, deal, hot["reason"])
            else:
                api.reopen(crm, deal)
            done += 1
        except crmkit.ValidationError:
            refused += 1
        except crmkit.Busy:
            busy += 1
        except Exception as exc:  # noqa: BLE001 - every other error is a finding
            errors.append(f"{action}: {type(exc).__name__}: {exc}")
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"done": done, "refused": refused, "busy": busy, "errors": errors}, fh)


if __name__ == "__main__":
    main(*sys.argv[1:])
