"""The webhook plugin's contract with the kernel (and with deals, claims and
marketing, whose events it turns into webhooks when they are installed)."""
from crmkit import ChannelSpec, EntitySpec, hookimpl

ENTITY = "notify_webhook.subscription"
OWN = "notify_webhook."


@hookimpl
def crmkit_add_hookspecs(pm):
    from . import hookspecs
    pm.add_hookspecs(hookspecs)


def _nobody_but_administrators(actor, model):
    # Every role but the administrator's reads "*"; subscriptions (URLs that
    # may carry tokens) are for administrators alone, who skip row filters.
    return model.id.is_null()


@hookimpl
def crmkit_register_entities(register):
    from . import models as m
    register(EntitySpec(
        ENTITY, m.Subscription, label="Webhook subscription", display="url",
        read_only=("owner", "failure_count", "disabled_at", "disabled_reason", "last_success_at",
                   "last_failure_at", "last_error"),
        schema={"url": {"empty": False}, "events": {"empty": False, "required": True}},
        row_filter=_nobody_but_administrators,
        list_fields=("id", "url", "events", "active", "failure_count", "disabled_reason", "description")))


@hookimpl
def crmkit_register_actions(register):
    from .actions import ACTIONS
    for spec in ACTIONS:
        register(spec)


@hookimpl
def crmkit_register_channels(register):
    from .channel import deliver, run_session
    register(ChannelSpec("webhook", deliver, address_kind="url", session=run_session,
                         description="Signed HTTP POSTs (Standard Webhooks), keep-alive per host in a run"))


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity == ENTITY:
        from .subscriptions import validate
        return validate(crm, data, record)
    return None


@hookimpl
def crmkit_entity_saved(crm, entity, record, created, changes):
    if entity.startswith(OWN):
        if entity == ENTITY and created:
            from .subscriptions import created as subscription_created
            subscription_created(crm, record)
        return
    from .events import changes_data, emit
    if created:
        emit(crm, f"{entity}.created", record, entity)
    else:
        emit(crm, f"{entity}.updated", record, entity, {"changes": changes_data(changes)})


@hookimpl
def crmkit_entity_deleted(crm, entity, record):
    if not entity.startswith(OWN):
        from .events import emit
        emit(crm, f"{entity}.deleted", record, entity)


@hookimpl(optionalhook=True)
def crmkit_deal_stage_changed(crm, deal, old_stage, new_stage):
    from .events import emit
    emit(crm, "deals.deal.stage_changed", deal, "deals.deal", {"old_stage": old_stage, "new_stage": new_stage})


@hookimpl(optionalhook=True)
def crmkit_deal_status_changed(crm, deal, old_status, new_status):
    from .events import emit
    name = {"won": "deals.deal.won", "lost": "deals.deal.lost"}.get(new_status, "deals.deal.reopened")
    emit(crm, name, deal, "deals.deal", {"old_status": old_status})


@hookimpl(optionalhook=True)
def crmkit_claim_status_changed(crm, claim, old_status, new_status):
    from .events import emit
    emit(crm, "claims.claim.status_changed", claim, "claims.claim",
         {"old_status": old_status, "new_status": new_status})


@hookimpl(optionalhook=True)
def crmkit_mailing_finished(crm, mailing, counts):
    from .events import emit
    emit(crm, "marketing.mailing.finished", mailing, "marketing.mailing", {"counts": counts},
         key=f"marketing.mailing.finished:{mailing.id}")


@hookimpl
def crmkit_outbox_skip_reason(crm, message):
    if message.channel == "webhook":
        from .channel import skip_reason
        return skip_reason(crm, message)
    return None


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "webhook", "crmkit_notify_webhook.commands:webhook",
                   "Webhooks: subscribe URLs to events, disable, enable, rotate secrets, test.")
