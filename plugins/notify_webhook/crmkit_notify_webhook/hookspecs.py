"""Hooks notify_webhook offers to other plugins (implement them with
``@hookimpl(optionalhook=True)``: crmkit starts without this plugin too)."""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec
def crmkit_register_webhook_events(register):
    """Declare webhook events the plugin emits, so administrators can
    subscribe to them and ``crmkit webhook events`` lists them.

    :param register: ``register(name, description="", entity=None,
        payload=None)`` or ``register(WebhookEvent(...))``; ``name`` is
        ``<plugin>.<thing>.<what happened>``, ``entity`` the entity whose
        record the payload carries, ``payload`` ``{key: description}`` of
        further values. Emit the event inside the write's transaction with
        ``crmkit_notify_webhook.emit(crm, name, record=..., entity=..., data=...)``.
    """
