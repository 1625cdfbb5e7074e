"""What a marketer does, declared once: the CLI's ``crmkit marketing ...``
commands, the API (``POST /api/v1/<entity>[/<id>]/actions/<name>``), the
unsubscribe endpoint and the web pages run these through ``crm.act``.
The logic is in the plugin's modules; an action names it and its
parameters."""
from crmkit import ActionSpec

from . import kinds

TEXT = {"type": "string", "nullable": True, "maxlength": 500}
KEY = {"type": ["string", "integer"], "nullable": True}   # an id, a code or a name
CHANNEL = {"type": "string", "allowed": list(kinds.MESSAGE_CHANNELS), "default": "email"}


def _partner(crm, key):
    return None if key in (None, "") else crm.get("core.partner", key).id


def _group(crm, key):
    """A mailing group by name or id."""
    if key in (None, ""):
        return None
    found = crm.find("marketing.mailing_group", name=str(key))
    return found[0].id if found else crm.get("marketing.mailing_group", key).id


def _send(crm, mailing):
    from .mailings import send
    return send(crm, mailing.id)


def _test_send(crm, mailing, address, channel="email", partner=None):
    from .mailings import test_send
    msg = test_send(crm, mailing.id, address, channel, partner)
    return {"outbox_id": msg.id, "recipient": msg.recipient}


def _purge(crm, record):
    from .mailings import purge
    return {"deleted": purge(crm)}


def _unsubscribe(crm, record, token, method=None):
    from .consent import unsubscribe
    return unsubscribe(crm, token, method=method or "unsubscribe link")


def _opt_out(crm, record, channel="email", address=None, partner=None, contact=None, group=None, method=None,
             comment=None):
    from .consent import opt_out
    return opt_out(crm, channel, partner=_partner(crm, partner), contact=contact, address=address or "",
                   group=_group(crm, group), method=method or "manual", comment=comment or "")


def _subscribe(crm, record, group, channel="email", partner=None, contact=None, address=None, kind=None,
               method=None):
    from .consent import subscribe
    kind_id = crm.get("marketing.notification_kind", kind).id if kind not in (None, "") else None
    return subscribe(crm, _group(crm, group), channel, partner=_partner(crm, partner), contact=contact,
                     address=address or "", kind=kind_id, method=method or "manual")


def _fill(crm, event):
    from .events import fill_from_segment
    return {"added": fill_from_segment(crm, event.id)}


def _set_interest(crm, record, subject, channel, source):
    from .interest import set_primary_interest
    return set_primary_interest(crm, subject, channel, source)


CONTACT = {"type": "integer", "coerce": "int", "nullable": True}

ACTIONS = [
    ActionSpec("marketing.send", "marketing.mailing", _send, title="Send the mailing",
               description="Queue the mailing for every recipient (once); the outbox delivers it."),
    ActionSpec("marketing.test_send", "marketing.mailing", _test_send, title="Send a test copy",
               description="Queue one copy to a test address, rendered for a partner or the first recipient.",
               params={"address": {"type": "string", "required": True, "empty": False, "maxlength": 320},
                       "channel": CHANNEL, "partner": KEY}),
    ActionSpec("marketing.purge", "marketing.mailing", _purge, on_record=False, title="Purge old messages",
               description="Delete sent and skipped messages older than their mailing group's retention."),
    ActionSpec("marketing.unsubscribe", "marketing.consent", _unsubscribe, on_record=False, verb="create",
               title="Unsubscribe by token", description="Apply a signed unsubscribe token (link or one-click).",
               params={"token": {"type": "string", "required": True, "empty": False, "maxlength": 2000},
                       "method": TEXT}),
    ActionSpec("marketing.opt_out", "marketing.consent", _opt_out, on_record=False, verb="create",
               title="Record an opt-out",
               description="Honoured even for messages already queued; without a group it covers every group "
                           "and suppresses the address.",
               params={"channel": CHANNEL, "address": TEXT, "partner": KEY, "contact": CONTACT, "group": KEY,
                       "method": TEXT, "comment": TEXT}),
    ActionSpec("marketing.subscribe", "marketing.subscription", _subscribe, on_record=False, verb="create",
               title="Subscribe", description="Subscribe a partner or contact person; the consent goes to the ledger.",
               params={"group": {**KEY, "required": True, "nullable": False}, "channel": CHANNEL, "partner": KEY,
                       "contact": CONTACT, "address": TEXT, "kind": KEY, "method": TEXT}),
    ActionSpec("marketing.fill", "marketing.event", _fill, verb="update", title="Fill from the segment",
               description="Add the client segment's members who are not participants yet."),
    ActionSpec("marketing.set_interest", "marketing.primary_interest", _set_interest, on_record=False,
               verb="create", title="Set the primary interest",
               description="Record (or change) the primary interest of a partner or deal: subject "
                           "\"deals.deal:3\", channel name or id, source \"marketing.event:1\".",
               params={"subject": {"type": "string", "required": True, "empty": False, "maxlength": 200},
                       "channel": {"type": ["string", "integer"], "required": True},
                       "source": {"type": "string", "required": True, "empty": False, "maxlength": 200}}),
]
