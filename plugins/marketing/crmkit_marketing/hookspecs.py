"""Hooks the marketing plugin offers to other plugins."""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec(firstresult=True)
def crmkit_marketing_build_message(crm, processing, template, context):
    """Build a message for a template whose method is ``processing``
    (1C's "внешней обработкой"). Stops at the first non-None result.

    :param processing: the name stored on the template; answer only your own.
    :param template: the ``marketing.template`` record.
    :param context: the template context (``partner``, ``contact``,
        ``record`` as read-only views, plus the caller's values).
    :return: ``{"subject", "text", "html", "sms"}`` or None.
    """


@hookspec
def crmkit_mailing_finished(crm, mailing, counts):
    """Every message of a mailing has its outcome: none is queued, being
    sent, or of unknown outcome any more (sent, failed or skipped each).

    Called once per mailing, right after its last outcome is recorded (or at
    the send, when nothing was queued at all).

    :param crm: a ``Crm`` acting as the system user.
    :param mailing: the ``marketing.mailing`` record.
    :param counts: ``{"recipients", "sent", "failed", "skipped"}``.
    """
