"""What the claims desk does, declared once: the CLI's ``crmkit claims
resolve / plan add / plan complete / plan task / remind``, the API and the
web pages run these through ``crm.act``; the logic is in ``api``.
Registering a claim is a create (``POST /api/v1/claims.claim``)."""
from crmkit import ActionSpec

from . import api, kinds

TEXT = {"type": "string", "nullable": True, "maxlength": 4000}
MOMENT = {"type": "datetime", "coerce": "datetime", "nullable": True}
POSITION = {"type": "integer", "coerce": "int", "required": True, "min": 1, "max": 10_000}


def _resolve(crm, claim, status, decision=None, compensation=None, currency=None, result_comment=None,
             actual_end=None):
    return api.set_status(crm, claim.id, status, decision, compensation, currency, result_comment, actual_end)


def _add_stage(crm, claim, title, responsible=None, due=None, position=None, with_task=False):
    responsible_id = crm.get("core.user", responsible).id if responsible not in (None, "") else None
    return api.add_stage(crm, claim.id, title, responsible_id, due, position, with_task)


def _complete_stage(crm, claim, position, result=None, done=True):
    return api.complete_stage(crm, claim.id, position, result or "", done=done)


def _stage_task(crm, claim, position):
    return api.create_task(crm, api._stage(crm, claim, position))


def _remind(crm, record, at=None, remind_at=None):
    return [{"code": c.code, "name": c.name, "responsible": c.responsible.name if c.responsible_id else "",
             "reminder": r.id if r else None, "result": note}
            for c, r, note in api.remind(crm, at, remind_at)]


ACTIONS = [
    ActionSpec("claims.resolve", "claims.claim", _resolve, title="Set the status",
               description="Change the claim's status with the review's results; a final status needs the "
                           "whole plan done.",
               params={"status": {"type": "string", "required": True, "allowed": list(kinds.STATUSES)},
                       "decision": TEXT, "compensation": {"type": "decimal", "coerce": "decimal", "nullable": True},
                       "currency": {"type": "string", "nullable": True, "minlength": 3, "maxlength": 3},
                       "result_comment": TEXT, "actual_end": MOMENT}),
    ActionSpec("claims.add_stage", "claims.claim", _add_stage, title="Add a plan stage",
               description="Add a stage to the claim's work plan; with_task also gives its responsible a task.",
               params={"title": {"type": "string", "required": True, "empty": False, "maxlength": 300},
                       "responsible": {"type": ["string", "integer"], "nullable": True}, "due": MOMENT,
                       "position": {**POSITION, "required": False, "nullable": True},
                       "with_task": {"type": "boolean", "coerce": "bool", "default": False}}),
    ActionSpec("claims.complete_stage", "claims.claim", _complete_stage, title="Complete a plan stage",
               description="Mark a plan stage done (or open again with done=false).",
               params={"position": POSITION, "result": TEXT,
                       "done": {"type": "boolean", "coerce": "bool", "default": True}}),
    ActionSpec("claims.stage_task", "claims.claim", _stage_task, title="Task for a plan stage",
               description="Give a plan stage's responsible a task about the claim.", params={"position": POSITION}),
    ActionSpec("claims.remind", "claims.claim", _remind, on_record=False, verb="read", title="Remind of overdue",
               description="A reminder for the responsible of every overdue claim.",
               params={"at": MOMENT, "remind_at": MOMENT}),
]
