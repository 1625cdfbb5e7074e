"""Hooks notify_sms offers to other plugins."""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec
def crmkit_register_sms_providers(register):
    """Add SMS providers (gateways with their own APIs).

    :param register: ``register(provider)``; a provider has ``name`` and
        ``send(sms, settings) -> provider message id`` raising
        ``crmkit.TemporaryFailure`` / ``crmkit.PermanentFailure``
        (see ``crmkit_notify_sms.providers``). ``CRMKIT_SMS_PROVIDER`` picks it.
    """
