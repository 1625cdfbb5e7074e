"""The marketing plugin's contract with the kernel."""
from crmkit import EntitySpec, ReportSpec, RoleSpec, hookimpl


PERIOD = {"date_from": {"type": "date", "coerce": "date", "nullable": True},
          "date_to": {"type": "date", "coerce": "date", "nullable": True}}

def entities():
    from . import models as m  # here, not at import: the CLI starts without peewee
    from .access import address_rule
    return [
        EntitySpec("marketing.channel", m.Channel, label="Advertising channel", subject=True, order_by=("name",),
                   schema={"name": {"empty": False}}, list_fields=("id", "name", "impact_type", "comment")),
        EntitySpec("marketing.event", m.Event, label="Marketing event", subject=True, lookup="code",
                   code_prefix="00-", order_by=("-planned_start", "name"), schema={"name": {"empty": False}},
                   list_fields=("id", "code", "name", "planned_start", "planned_end", "actual_start", "actual_end",
                                "responsible", "completed", "budget_planned", "budget_actual", "currency")),
        EntitySpec("marketing.participant", m.Participant, label="Event participant", partner_path="partner",
                   display=lambda r: f"{r.event.name}: {r.partner.name}",
                   list_fields=("id", "event", "partner", "role", "contact", "comment")),
        EntitySpec("marketing.primary_interest", m.PrimaryInterest, label="Primary interest", partner_path="partner",
                   read_only=("partner",), schema={"source": {"type": "string", "nullable": True}},
                   display=lambda r: f"{r.channel.name}: {r.source_type}:{r.source_id}",
                   list_fields=("id", "subject_type", "subject_id", "partner", "channel", "source_type", "source_id",
                                "date")),
        EntitySpec("marketing.mailing_group", m.MailingGroup, label="Mailing group", order_by=("name",),
                   schema={"name": {"empty": False}},
                   list_fields=("id", "name", "mode", "send_email", "send_sms", "responsible", "purge_after_days")),
        EntitySpec("marketing.notification_kind", m.NotificationKind, label="Notification kind", lookup="code",
                   schema={"code": {"regex": r"[a-z0-9_]+(\.[a-z0-9_]+)*"}},
                   list_fields=("id", "code", "name", "group", "based_on")),
        EntitySpec("marketing.template", m.Template, label="Notification template", subject=True,
                   list_fields=("id", "name", "purpose", "kind", "group", "method", "email", "sms", "subject")),
        EntitySpec("marketing.subscription", m.Subscription, label="Subscription",
                   partner_path=("partner", "contact"), row_filter=address_rule,
                   display=lambda r: f"{r.group.name}: {r.channel} {r.address or r.partner_id}",
                   list_fields=("id", "group", "kind", "partner", "contact", "channel", "address", "active")),
        EntitySpec("marketing.consent", m.Consent, label="Consent", partner_path=("partner", "contact"),
                   row_filter=address_rule, read_only=("given_by",),
                   schema={"method": {"empty": False}},
                   display=lambda r: f"{r.action} {r.channel} {r.address or r.partner_id} {r.at:%Y-%m-%d}",
                   order_by=("-at", "-id"),
                   list_fields=("id", "at", "action", "channel", "address", "partner", "contact", "group", "method",
                                "given_by", "comment")),
        EntitySpec("marketing.mailing", m.Mailing, label="Mailing", read_only=("state", "sent_at", "sent_by"),
                   schema={"name": {"empty": False}},
                   list_fields=("id", "name", "group", "template", "audience", "segment", "event", "state", "sent_at")),
        EntitySpec("marketing.mailing_recipient", m.MailingRecipient, label="Mailing recipient",
                   partner_path=("partner", "contact"), row_filter=address_rule,
                   display=lambda r: f"{r.channel}:{r.address}",
                   list_fields=("id", "mailing", "partner", "contact", "channel", "address", "state", "reason")),
    ]


@hookimpl
def crmkit_add_hookspecs(pm):
    from . import hookspecs
    pm.add_hookspecs(hookspecs)


@hookimpl
def crmkit_register_actions(register):
    from .actions import ACTIONS
    for spec in ACTIONS:
        register(spec)


@hookimpl
def crmkit_register_entities(register):
    for spec in entities():
        register(spec)


@hookimpl
def crmkit_register_roles(register):
    # managers record the primary interest of the clients and deals they register
    register(RoleSpec("manager", {"marketing.primary_interest": "rcu"}))
    # sees the ledger rows of addresses that belong to no one in the base
    register(RoleSpec("marketing_admin", {"marketing.*": "rcud", "core.segment*": "rcud"},
                      label="Marketing administrator"))


@hookimpl
def crmkit_register_template_parameters(register):
    from .params import PARAMETERS
    for spec in PARAMETERS:
        register(spec)


INTEREST_LABELS = {"source type": "Source type", "number of deals": "Number of deals",
                   "number of distinct partners": "Number of distinct partners", "won deals": "Won deals",
                   "won potential": "Won potential", "currency": "Currency",
                   "primary interest source": "Primary interest source",
                   "primary interest channel": "Primary interest channel", "number of clients": "Number of clients",
                   "number of leads": "Number of leads", "qualified leads": "Qualified leads",
                   "conversion, %": "Conversion, %"}
EVENT_LABELS = {"code": "Number", "event": "Marketing event", "planned start": "Planned start",
                "participants": "Participants", "planned cost": "Planned cost", "actual cost": "Actual cost",
                "budget currency": "Budget currency", "deals": "Deals", "won deals": "Won deals",
                "won potential": "Won potential", "currency": "Currency", "cost per won deal": "Cost per won deal"}


@hookimpl
def crmkit_register_reports(register):
    from crmkit.core.currency import LABELS as CURRENCY_LABELS, PARAMS as REPORT_CURRENCY   # report_currency, rates_on
    register(ReportSpec("marketing.primary_interest", "Primary interest",
                        "crmkit_marketing.reports:primary_interest", params={**PERIOD, **REPORT_CURRENCY},
                        description="Deals, leads and distinct partners by source type, channel and source",
                        question="Which sources of primary interest bring deals and partners?",
                        labels={**INTEREST_LABELS, **CURRENCY_LABELS}))
    register(ReportSpec("marketing.event_return", "Marketing event return",
                        "crmkit_marketing.reports:event_return",
                        params={**PERIOD, "event": {"type": "string", "nullable": True}, **REPORT_CURRENCY},
                        description="Deals, won potential and cost per won deal of each event",
                        question="What did each marketing event cost, and what did it bring?",
                        labels={**EVENT_LABELS, **CURRENCY_LABELS}))


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "marketing", "crmkit_marketing.commands:marketing",
                   "Marketing: channels, events, interest, mailings, subscriptions.")


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity.startswith("marketing."):
        from .rules import validate_marketing
        return validate_marketing(crm, entity, data, record)
    return None


@hookimpl
def crmkit_entity_saved(crm, entity, record, created, changes):
    if entity == "deals.deal" and "client" in changes and not created:
        # the interest follows its deal to the new client
        from . import models as m
        m.PrimaryInterest.update(partner=record.client_id).where(
            (m.PrimaryInterest.subject_type == "deals.deal") & (m.PrimaryInterest.subject_id == record.id)).execute()


@hookimpl
def crmkit_outbox_skip_reason(crm, message):
    from .consent import skip_reason
    reason = skip_reason(crm, message)
    if reason and message.source.startswith("marketing.mailing:"):
        from .finished import check
        check(crm, message, leaving=message.id)
    return reason


@hookimpl
def crmkit_outbox_delivered(crm, message):
    if message.source.startswith("marketing.mailing:"):
        from .finished import check, follow
        follow(message, "sent")
        check(crm, message)


@hookimpl
def crmkit_outbox_failed(crm, message, error, permanent):
    if permanent and message.source.startswith("marketing.mailing:"):
        from .finished import check, follow
        follow(message, "failed")
        check(crm, message)


@hookimpl
def crmkit_load_demo(crm):
    from .demo import load
    return load(crm)


@hookimpl
def crmkit_calendar_entries(crm):
    """The events the feed's user is responsible for, as whole days."""
    import datetime as dt
    from crmkit.core.calendar import entry
    from .models import Event
    q = crm.query("marketing.event").where((Event.responsible == crm.actor.id) & Event.planned_start.is_null(False))
    return [entry("marketing.event", e.id, e.name, e.planned_start,
                  end=(e.planned_end or e.planned_start) + dt.timedelta(days=1), description=e.comment,
                  changed_at=e.changed_at, created_at=e.created_at) for e in q.order_by(Event.planned_start, Event.id)]


@hookimpl(optionalhook=True)
def crmkit_outbox_retention(crm):
    """notify_email's ``crmkit outbox purge`` keeps mailing messages for their group's N days."""
    from .mailings import retention
    return retention(crm)


@hookimpl(optionalhook=True)
def crmkit_register_pages(register):
    """A mailing's preview and delivery status, a template's live preview,
    an event's participants (only when the web plugin is installed)."""
    from .web import register_pages
    register_pages(register)


@hookimpl
def crmkit_merge_records(crm, entity, survivor, merged):
    # one participation per event, partner and contact: the survivor's stays
    if entity not in ("core.partner", "core.contact"):
        return
    from .models import Participant as P
    field = P.partner if entity == "core.partner" else P.contact
    other = P.contact if entity == "core.partner" else P.partner
    taken = P.select(P.event, other).where(field == survivor.id)
    for event, other_id in list(taken.tuples()):
        P.delete().where((field == merged.id) & (P.event == event)
                         & (other.is_null() if other_id is None else other == other_id)).execute()
