"""Hooks the claims plugin offers to other plugins (added through
``crmkit_add_hookspecs``). Broadcast events, called inside the claim
write's transaction: a handler that raises undoes the change."""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec
def crmkit_claim_status_changed(crm, claim, old_status, new_status):
    """A claim's status changed (not at registration: that is a create).

    :param crm: the acting ``Crm``.
    :param claim: the saved ``claims.claim`` record.
    :param old_status: the status left.
    :param new_status: the status entered.
    """
