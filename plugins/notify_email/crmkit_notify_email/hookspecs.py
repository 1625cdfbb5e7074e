"""Hooks this plugin offers to others (published via crmkit_add_hookspecs).

Implementers that must also work without notify_email installed mark their
implementation ``@hookimpl(optionalhook=True)``.
"""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec
def crmkit_outbox_retention(crm):
    """How long sent messages of a source are kept before ``crmkit outbox purge``.

    :param crm: the acting ``Crm``.
    :return: a list of ``(source, days)`` pairs (exact sources), e.g. the mailing
        groups' "delete created messages after N days"
        (``[("marketing.mailing:5", 30), ...]``), or None.
    """


@hookspec
def crmkit_email_registered(crm, interaction, raw):
    """An incoming email became an interaction (inside its transaction).

    :param crm: the system ``Crm`` that registered it.
    :param interaction: the new ``core.interaction`` record.
    :param raw: the message's bytes as received (RFC 5322), e.g. to keep
        its attachments (the files plugin does).
    """
