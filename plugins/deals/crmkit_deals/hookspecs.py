"""Hooks the deals plugin offers to other plugins (added through
``crmkit_add_hookspecs``). Both are broadcast events, called inside the
deal write's transaction: a handler that raises undoes the move."""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec
def crmkit_deal_stage_changed(crm, deal, old_stage, new_stage):
    """A deal moved to another stage (by hand or by its process).

    :param crm: the acting ``Crm``.
    :param deal: the saved ``deals.deal`` record.
    :param old_stage: id of the stage left, or None.
    :param new_stage: id of the stage entered, or None.
    """


@hookspec
def crmkit_deal_status_changed(crm, deal, old_status, new_status):
    """A deal was won, lost or reopened.

    :param crm: the acting ``Crm``.
    :param deal: the saved ``deals.deal`` record (``loss_reason`` set when lost).
    :param old_status: ``in_work`` / ``won`` / ``lost``.
    :param new_status: ``in_work`` / ``won`` / ``lost``.
    """
