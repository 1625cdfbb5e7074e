"""``crmkit webhook test``: one signed ping, now, outside the outbox."""
from __future__ import annotations

import json
import uuid

from crmkit import PermanentFailure, TemporaryFailure, utcnow

from . import settings as settings_mod
from .channel import Run, _post
from .subscriptions import for_delivery


def ping(crm, sub) -> tuple[bool, str]:
    """(delivered?, what happened). No bookkeeping: a test is not a delivery."""
    body = json.dumps({"type": "notify_webhook.ping", "timestamp": utcnow().isoformat(),
                       "actor": crm.actor.login, "data": {"subscription": sub.id}},
                      separators=(",", ":")).encode()
    run = Run(crm)
    try:
        _post(run, for_delivery(sub.id), f"msg_{uuid.uuid4().hex}", body, settings_mod.current())
    except (PermanentFailure, TemporaryFailure) as exc:
        kind = "permanent" if isinstance(exc, PermanentFailure) else "temporary"
        return False, f"not delivered ({kind}): {exc}"
    finally:
        run.close()
    return True, f"delivered to {sub.url}"
