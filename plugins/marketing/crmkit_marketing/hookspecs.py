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
