"""What a user does to a deal, declared once: the CLI's ``crmkit deals
move/complete/win/lose/reopen``, the API's ``POST /api/v1/deals.deal/<id>/
actions/<name>`` and the web pages all run these through ``crm.act``.
The logic is in ``api``; an action only names it and its parameters."""
from crmkit import ActionSpec

from . import api

# when it happened: administrators only, for loading history
AT = {"at": {"type": "datetime", "coerce": "datetime", "nullable": True}}


def _move(crm, deal, stage, at=None):
    return api.move_to_stage(crm, deal.id, stage, at=at)


def _complete(crm, deal, result="", at=None):
    return api.complete_stage(crm, deal.id, result=result or "", at=at)


def _win(crm, deal, agreement=None, at=None):
    return api.win(crm, deal.id, at=at, agreement=agreement)


def _lose(crm, deal, reason, at=None):
    return api.lose(crm, deal.id, reason, at=at)


def _reopen(crm, deal):
    return api.reopen(crm, deal.id)


def _refresh_probability(crm, deal):
    return api.refresh_probability(crm, deal.id)


def _recompute_probabilities(crm, record, keep_manual=False):
    from .recompute import recompute
    return recompute(crm, keep_manual=keep_manual)


def _fill_potential(crm, deal):
    return api.fill_potential(crm, deal.id)


REF = {"type": ["string", "integer"], "required": True, "empty": False}

ACTIONS = [
    ActionSpec("deals.move", "deals.deal", _move, title="Move to a stage",
               description="Move a deal of a manual kind to a stage (name, id, next or previous).",
               params={"stage": REF, **AT}),
    ActionSpec("deals.complete", "deals.deal", _complete, title="Complete the stage",
               description="Complete the current stage's tasks of a process-driven deal; the process moves it on.",
               params={"result": {"type": "string", "nullable": True, "maxlength": 2000}, **AT}),
    ActionSpec("deals.win", "deals.deal", _win, title="Win",
               description="Mark the deal won, with the agreement it ended in (name or id, optional).",
               params={"agreement": {"type": ["string", "integer"], "nullable": True}, **AT}),
    ActionSpec("deals.lose", "deals.deal", _lose, title="Lose",
               description="Mark the deal lost, with its loss reason (name or id).",
               params={"reason": REF, **AT}),
    ActionSpec("deals.reopen", "deals.deal", _reopen, title="Reopen",
               description="Put a won or lost deal back in work."),
    ActionSpec("deals.refresh_probability", "deals.deal", _refresh_probability, title="Refresh the probability",
               description="Store the win probability computed from closed-deal statistics."),
    ActionSpec("deals.recompute_probabilities", "deals.deal", _recompute_probabilities, on_record=False,
               title="Recompute probabilities",
               description="Store the win probability from closed-deal statistics on every open deal at once "
                           "(keep_manual: leave deals whose probability is set by hand).",
               params={"keep_manual": {"type": "boolean", "coerce": "bool", "default": False}}),
    ActionSpec("deals.fill_potential", "deals.deal", _fill_potential, title="Potential from demand",
               description="Set the potential to the primary demand's total."),
]
