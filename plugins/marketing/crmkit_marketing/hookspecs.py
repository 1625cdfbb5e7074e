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
    """A mailing's send run finished: every recipient was queued in the
    outbox or skipped (with its reason), and the mailing's state became
    ``sent``. Called inside the send's transaction: a handler that raises
    undoes the whole send. Deliveries happen later, through the outbox.

    :param crm: the acting ``Crm``.
    :param mailing: the ``marketing.mailing`` record, state ``sent``.
    :param counts: the mailing's status: ``recipients``, ``queued``,
        ``sent``, ``failed``, ``skipped`` and skip ``reasons``.
    """
