"""What an administrator does with webhook subscriptions, declared once:
the ``crmkit webhook`` commands, the API's ``POST /api/v1/
notify_webhook.subscription/[<id>/]actions/<name>`` and the web card run
these through ``crm.act``. The logic is in ``subscriptions``."""
from crmkit import ActionSpec

from . import subscriptions

ENTITY = subscriptions.ENTITY
SECRET = {"type": "string", "nullable": True, "minlength": 10, "maxlength": 200}


def _subscribe(crm, record, url, events, description="", secret=None):
    sub, shown = subscriptions.add(crm, url, events, description or "", secret)
    return {"id": sub.id, "url": sub.url, "events": sub.events, "secret": shown}


def _disable(crm, sub, reason=""):
    return subscriptions.set_active(crm, sub.id, False, reason or "")


def _enable(crm, sub):
    return subscriptions.set_active(crm, sub.id, True)


def _rotate(crm, sub, grace=24.0, secret=None):
    sub, new = subscriptions.rotate_secret(crm, sub.id, grace, secret)
    return {"id": sub.id, "secret": new, "old_secret_signs_for_hours": grace}


def _remove(crm, sub):
    subscriptions.require_admin(crm, "webhook remove")
    crm.mark_deleted(ENTITY, sub.id)
    crm.delete(ENTITY, sub.id)
    return {"removed": sub.id}


def _test(crm, sub):
    from .testsend import ping
    subscriptions.require_admin(crm, "webhook test")
    ok, text = ping(crm, sub)
    return {"ok": ok, "answer": text}


ACTIONS = [
    ActionSpec("notify_webhook.subscribe", ENTITY, _subscribe, verb="create", on_record=False, admin_only=True,
               title="Subscribe a URL",
               description="Subscribe a URL to events (names or patterns, comma-separated); the answer holds "
                           "the signing secret, shown this once.",
               params={"url": {"type": "string", "required": True, "empty": False, "maxlength": 2000},
                       "events": {"type": "string", "required": True, "empty": False, "maxlength": 2000},
                       "description": {"type": "string", "nullable": True, "maxlength": 500},
                       "secret": SECRET}),
    ActionSpec("notify_webhook.disable", ENTITY, _disable, admin_only=True, title="Disable",
               description="Stop delivering to the subscription (its waiting messages are skipped).",
               params={"reason": {"type": "string", "nullable": True, "maxlength": 500}}),
    ActionSpec("notify_webhook.enable", ENTITY, _enable, admin_only=True, title="Enable",
               description="Deliver to the subscription again; its failure count starts afresh."),
    ActionSpec("notify_webhook.rotate_secret", ENTITY, _rotate, admin_only=True, title="Rotate the secret",
               description="A new signing secret, shown this once; the old one keeps signing too for "
                           "grace hours (0 drops it now).",
               params={"grace": {"type": "float", "coerce": "float", "min": 0, "max": 720, "default": 24.0},
                       "secret": SECRET}),
    ActionSpec("notify_webhook.remove", ENTITY, _remove, verb="delete", admin_only=True, title="Remove",
               description="Delete the subscription and its secrets (its waiting messages are skipped)."),
    ActionSpec("notify_webhook.test", ENTITY, _test, admin_only=True, transaction=False, title="Send a test",
               description="Send a signed notify_webhook.ping to the subscription now and give its answer."),
]
