"""What a user does with a lead, declared once: the CLI's ``crmkit leads
capture/disqualify/convert/from-inbox``, the API's ``POST /api/v1/
leads.lead/<code>/actions/<name>`` and the web card run these through
``crm.act``. The logic is in ``api``; an action names it and its parameters."""
from crmkit import ActionSpec

from . import api

KEY = {"type": ["string", "integer"], "nullable": True, "empty": False}


def _capture(crm, record, lead, channel=None, source=None):
    return api.capture(crm, lead, channel, source)


def _matches(crm, lead):
    return {"matches": api.matches(crm, lead.id)}


def _disqualify(crm, lead, reason):
    return api.disqualify(crm, lead.id, reason)


def _convert(crm, lead, partner=None, contact=None, deal=False, deal_kind=None, deal_name=None,
             responsible=None, allow_duplicate=False):
    result = api.convert(crm, lead.id, partner=partner, contact=contact, deal=deal, deal_kind=deal_kind,
                         deal_name=deal_name, responsible=responsible, allow_duplicate=allow_duplicate)
    return {"lead": result["lead"].code, "partner": result["partner"].code,
            "contact": result["contact"].id if result["contact"] else None,
            "deal": result["deal"].code if result["deal"] else None, "moved": result["moved"]}


def _from_inbox(crm, record, limit=100):
    created, messages = api.from_inbox(crm, limit)
    return {"messages": messages, "leads": [lead.code for lead in created]}


ACTIONS = [
    ActionSpec("leads.capture", "leads.lead", _capture, verb="create", on_record=False, title="Capture a lead",
               description="Create a lead with its primary interest (channel, and source such as "
                           "marketing.event:1), in one transaction.",
               params={"lead": {"type": "dict", "required": True},
                       "channel": KEY, "source": {"type": "string", "nullable": True, "maxlength": 200}}),
    ActionSpec("leads.matches", "leads.lead", _matches, verb="read", title="Possible partners",
               description="Partners you may see that the lead may already be, best first (link one when "
                           "converting)."),
    ActionSpec("leads.disqualify", "leads.lead", _disqualify, title="Disqualify",
               description="Close the lead as disqualified, with its reason (a disqualification reason's "
                           "name or id; a new name is added to the list).",
               params={"reason": {"type": ["string", "integer"], "required": True, "empty": False,
                                  "maxlength": 200}}),
    ActionSpec("leads.convert", "leads.lead", _convert, title="Convert",
               description="Turn the lead into a partner and contact person (new, or existing ones linked) "
                           "and, when asked, a deal of a chosen kind; its interactions and tasks move to "
                           "them. All or nothing; refused while the lead looks like existing partners "
                           "unless one is linked or allow_duplicate is given.",
               params={"partner": KEY, "contact": {"type": "integer", "coerce": "int", "nullable": True},
                       "deal": {"type": "boolean", "coerce": "bool", "default": False},
                       "deal_kind": KEY, "deal_name": {"type": "string", "nullable": True, "maxlength": 300},
                       "responsible": KEY,
                       "allow_duplicate": {"type": "boolean", "coerce": "bool", "default": False}}),
    ActionSpec("leads.from_inbox", "leads.lead", _from_inbox, on_record=False, admin_only=True,
               verb="create", title="Leads from the inbox",
               description="Make a lead of each unknown sender of incoming mail, the message filed as an "
                           "incoming email about it (the mailbox holds every user's mail: administrators).",
               params={"limit": {"type": "integer", "coerce": "int", "min": 1, "max": 100_000, "default": 100}}),
]
