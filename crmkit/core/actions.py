"""What a user does with core records beyond create/update/delete,
declared once: the CLI's commands, the HTTP API and the web pages run
these through ``crm.act``. The logic stays in the core modules (segments,
privacy) and the kernel's outbox; an action names it and its parameters."""
from crmkit import ActionSpec

IDS = {"type": "list", "required": True, "minlength": 1, "maxlength": 100_000,
       "schema": {"type": "integer", "coerce": "int"}}


def _task_state(state):
    def run(crm, task, result=None):
        data = {"state": state}
        if result:
            data["result"] = result
        return crm.update("core.task", task.id, data)
    return run


def _compute(crm, segment):
    from .segments import compute
    return compute(crm, segment.id)


def _add_members(crm, segment, ids):
    from .segments import add_members
    return {"added": add_members(crm, segment.id, ids)}


def _remove_members(crm, segment, ids):
    from .segments import remove_members
    return {"removed": remove_members(crm, segment.id, ids)}


def _erase(entity):
    def run(crm, record):
        from .privacy import erase
        return erase(crm, entity, record.id)
    return run


def _merge(entity):
    def run(crm, survivor, merged, take=None):
        return crm.merge(entity, survivor.id, merged, list(take or ()))
    return run


MERGE = {"merged": {"type": ["string", "integer"], "required": True, "empty": False},
         "take": {"type": "list", "nullable": True, "maxlength": 200,
                  "schema": {"type": "string", "maxlength": 64}}}


def _deliver(crm, record, channel=None, limit=1000):
    return crm.outbox.deliver(channel=channel, limit=limit)


def _retry(crm, record, ids=None):
    return {"requeued": crm.outbox.retry(list(ids) if ids else None)}


def _notify_reminders(crm, record):
    from .reminders import notify_due
    return notify_due(crm)


def _calendar_url(crm, record, login):
    from .calendar import rotate_secret
    return {"login": login, "path": f"/ics/{rotate_secret(crm, login)}.ics"}


def _preferences(crm, record, lang=None, time_zone=None):
    from .preferences import set_preferences
    return set_preferences(crm, lang, time_zone)


def _invite(crm, meeting):
    from .invitations import invite
    return invite(crm, meeting)


def _cancel_invitation(crm, meeting):
    from .invitations import invite
    return invite(crm, meeting, cancel=True)


def _load_rates(crm, record, source, date=None, content=None):
    from .rates import load_rates
    return load_rates(crm, source, date, content)


def _add_attribute(crm, record, entity, name, kind, label="", label_ru="", choices=None, target="", currency=""):
    from crmkit.kernel.attributes import describe
    attribute = crm.define_attribute(entity, name, kind, label=label or "", label_ru=label_ru or "",
                                     choices=choices or (), target=target or "", currency=currency or "")
    return describe(attribute, crm.lang)


def _change_attribute(crm, record, entity, name, label=None, label_ru=None, choices=None):
    from crmkit.kernel.attributes import describe
    return describe(crm.change_attribute(entity, name, label=label, label_ru=label_ru, choices=choices), crm.lang)


def _remove_attribute(crm, record, entity, name):
    return {"removed_values": crm.remove_attribute(entity, name)}


TEXT = {"type": "string", "nullable": True, "maxlength": 200}
ATTRIBUTE = {"entity": {"type": "string", "required": True, "maxlength": 100},
             "name": {"type": "string", "required": True, "maxlength": 63}}
ATTRIBUTE_ACTIONS = [
    ActionSpec("core.add_attribute", None, _add_attribute, on_record=False, admin_only=True,
               title="Add an attribute",
               description="Add a typed field to an entity (string, number, money, date, boolean, choice, "
                           "reference): validated, filterable and sortable like a built-in one.",
               params={**ATTRIBUTE, "kind": {"type": "string", "required": True, "maxlength": 16},
                       "label": TEXT, "label_ru": TEXT, "target": {**TEXT, "maxlength": 100},
                       "currency": {**TEXT, "maxlength": 3},
                       "choices": {"type": "list", "nullable": True, "maxlength": 1000,
                                   "schema": {"type": "string", "maxlength": 500}}}),
    ActionSpec("core.change_attribute", None, _change_attribute, on_record=False, admin_only=True,
               title="Change an attribute",
               description="Change an attribute's labels or choice list; its kind stays. A choice still held "
                           "by a record may not be taken out.",
               params={**ATTRIBUTE, "label": TEXT, "label_ru": TEXT,
                       "choices": {"type": "list", "nullable": True, "maxlength": 1000,
                                   "schema": {"type": "string", "maxlength": 500}}}),
    ActionSpec("core.remove_attribute", None, _remove_attribute, on_record=False, admin_only=True,
               title="Remove an attribute", description="Remove an additional attribute and every value of it.",
               params=ATTRIBUTE),
]

RESULT = {"result": {"type": "string", "nullable": True, "maxlength": 4000}}

ACTIONS = [
    ActionSpec("core.complete_task", "core.task", _task_state("done"), params=RESULT, title="Complete",
               description="Mark the task done, with what was done."),
    ActionSpec("core.stop_task", "core.task", _task_state("stopped"), title="Stop",
               description="Stop the task for now."),
    ActionSpec("core.continue_task", "core.task", _task_state("active"), title="Continue",
               description="Continue a stopped task."),
    ActionSpec("core.compute_segment", "core.segment", _compute, title="Compute",
               description="Recompute a rule segment's members; joins and leaves are dated."),
    ActionSpec("core.add_members", "core.segment", _add_members, params={"ids": IDS}, title="Add members",
               description="Add partners or products (by id) to a manual segment."),
    ActionSpec("core.remove_members", "core.segment", _remove_members, params={"ids": IDS},
               title="Remove members", description="Remove members from a segment; their leaving date is kept."),
    ActionSpec("core.erase", "core.partner", _erase("core.partner"), verb="delete", title="Erase personal data",
               description="Anonymise an individual and their contact persons everywhere (cannot be undone)."),
    ActionSpec("core.erase_contact", "core.contact", _erase("core.contact"), verb="delete",
               title="Erase personal data",
               description="Anonymise a contact person everywhere (cannot be undone)."),
    ActionSpec("core.merge_partner", "core.partner", _merge("core.partner"), verb="merge", params=MERGE,
               title="Merge a duplicate into this partner",
               description="Every reference to the merged partner (deals, interactions, claims, sales, "
                           "segments, consents ...) moves to this one; the fields named in take come from "
                           "the merged partner, which stays marked for deletion and resolves to this one."),
    ActionSpec("core.merge_contact", "core.contact", _merge("core.contact"), verb="merge", params=MERGE,
               title="Merge a duplicate into this contact person",
               description="Every reference to the merged contact person moves to this one; the fields "
                           "named in take come from the merged one, which stays marked for deletion."),
    ActionSpec("core.deliver_outbox", None, _deliver, on_record=False, transaction=False, admin_only=True,
               title="Deliver the outbox",
               description="Send due messages now, on every channel or one; each message's lease and result "
                           "is committed as it goes.",
               params={"channel": {"type": "string", "nullable": True, "maxlength": 32},
                       "limit": {"type": "integer", "coerce": "int", "min": 1, "max": 10_000_000, "default": 1000}}),
    ActionSpec("core.retry_outbox", None, _retry, on_record=False, admin_only=True, title="Retry failed messages",
               description="Put failed messages (all, or these ids) back in the queue.",
               params={"ids": {**IDS, "required": False, "nullable": True, "minlength": 0}}),
    ActionSpec("core.notify_reminders", "core.reminder", _notify_reminders, on_record=False,
               title="Notify due reminders",
               description="Queue an email to its user for every due reminder not yet notified (an "
                           "administrator: everyone's; a user: their own); the outbox delivers them. "
                           "Users without an email address are skipped and counted."),
    ActionSpec("core.calendar_url", "core.user", _calendar_url, on_record=False, verb="read",
               title="Calendar feed URL",
               description="Make or rotate a user's secret iCalendar feed URL (administrators: anyone's; a "
                           "user: their own); the old URL stops working. The path is shown only now.",
               params={"login": {"type": "string", "required": True, "empty": False, "maxlength": 64}}),
    ActionSpec("core.preferences", "core.user", _preferences, on_record=False, verb="read",
               title="My preferences",
               description="Set your own language (en, ru; empty: the browser's) and time zone (an IANA "
                           "name such as Europe/Moscow; empty: the operator's).",
               params={"lang": {"type": "string", "nullable": True, "maxlength": 8},
                       "time_zone": {"type": "string", "nullable": True, "maxlength": 64}}),
    ActionSpec("core.invite", "core.interaction", _invite, title="Send an invitation",
               description="Email the meeting's contact person an invitation (iCalendar METHOD:REQUEST) "
                           "through the outbox; after a change of the meeting, an update."),
    ActionSpec("core.cancel_invitation", "core.interaction", _cancel_invitation, title="Cancel the invitation",
               description="Email the meeting's contact person that the meeting is cancelled (iCalendar "
                           "METHOD:CANCEL, the invitation's UID) through the outbox; once, and only after an "
                           "invitation."),
    ActionSpec("core.load_rates", "core.currency_rate", _load_rates, on_record=False, verb="create",
               title="Load exchange rates",
               description="Load a day's exchange rates from a provider (cbr: the Central Bank of Russia); "
                           "rates stored for that day are replaced.",
               params={"source": {"type": "string", "required": True, "empty": False, "maxlength": 32,
                                  "regex": r"[A-Za-z0-9_.-]+"},
                       "date": {"type": "date", "coerce": "date", "nullable": True},
                       # the provider's document already fetched (a stored file), instead of asking it
                       "content": {"type": "string", "nullable": True, "maxlength": 2_000_000}}),
    *ATTRIBUTE_ACTIONS,
]
