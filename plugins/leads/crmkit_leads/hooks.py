"""The leads plugin's contract with the kernel."""
from crmkit import ChartSpec, EntitySpec, ReportSpec, RoleSpec, hookimpl

from .kinds import STATUSES

LEAD_FIELDS = ("id", "code", "received_at", "status", "person", "company", "email", "phone",
               "responsible", "partner")


def _lead_display(lead):
    return " / ".join(p for p in (lead.company, lead.person) if p) or lead.code


def _by_access_group(actor, model):
    """A lead is seen by the users of its access group (everyone when it has none)."""
    group = model.access_group
    return group.is_null() | group.in_(sorted(actor.access_groups)) if actor.access_groups else group.is_null()


def entities():
    from . import models as m  # here, not at import: the CLI starts without peewee
    return [
        EntitySpec("leads.disqualify_reason", m.DisqualifyReason, label="Disqualification reason",
                   lookup="name", order_by=("name",), schema={"name": {"empty": False}},
                   list_fields=("id", "name", "comment")),
        EntitySpec("leads.lead", m.Lead, label="Lead", subject=True, display=_lead_display,
                   partner_path="partner", row_filter=_by_access_group, lookup="code", code_prefix="LD-",
                   order_by=("-received_at", "id"),
                   read_only=("closed_at", "partner", "contact", "deal_id"),
                   schema={"received_at": {"required": False}, "currency": {"regex": "[A-Z]{3}"},
                           "potential": {"min": 0}},
                   list_fields=LEAD_FIELDS),
    ]


PERIOD = {"date_from": {"type": "date", "coerce": "date", "nullable": True},
          "date_to": {"type": "date", "coerce": "date", "nullable": True}}

LABELS = {"channel": "Channel", "new": "New", "in_work": "In work", "qualified": "Qualified",
          "disqualified": "Disqualified", "total": "Total", "leads": "Number of leads", "conversion_pct": "Conversion, %",
          "avg_days_to_qualify": "Average days to qualify", "responsible": "Responsible",
          "by channel": "By channel", "by responsible": "By responsible"}

REPORTS = [
    ReportSpec("leads.by_source", "Leads by source and status", "crmkit_leads.reports:by_source",
               params=PERIOD,
               charts=(ChartSpec("bar", x="channel", y=tuple(STATUSES), title="Leads by channel"),),
               question="Where do our leads come from, and what became of them?", labels=LABELS),
    ReportSpec("leads.conversion", "Lead conversion", "crmkit_leads.reports:conversion", params=PERIOD,
               charts=(ChartSpec("bar", section="by channel", x="channel", y="conversion_pct",
                                 title="Conversion by channel, %"),),
               question="Which channels and which managers turn leads into clients, and how fast?", labels=LABELS),
]


@hookimpl
def crmkit_register_entities(register):
    for spec in entities():
        register(spec)


@hookimpl
def crmkit_register_reports(register):
    for spec in REPORTS:
        register(spec)


@hookimpl
def crmkit_register_roles(register):
    # marketers capture leads, managers qualify and convert them; capturing
    # one records its primary interest
    for role in ("manager", "marketer"):
        register(RoleSpec(role, {"leads.*": "rcu", "marketing.primary_interest": "rcu"}))


@hookimpl
def crmkit_register_actions(register):
    from .actions import ACTIONS
    for spec in ACTIONS:
        register(spec)


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity == "leads.lead":
        from .rules import validate_lead
        return validate_lead(crm, data, record)
    return None


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "leads", "crmkit_leads.commands:leads",
                   "Leads: capture, qualify, convert into partners and deals.")


@hookimpl
def crmkit_merge_records(crm, entity, survivor, merged):
    return None   # leads point at partners and contacts by foreign keys: the kernel moves them


@hookimpl
def crmkit_collect_personal_data(crm, partner_id, contact_ids):
    from .personal import collect
    return collect(crm, partner_id, contact_ids)


@hookimpl
def crmkit_erase_personal_data(crm, partner_id, contact_ids):
    from .personal import erase
    erase(crm, partner_id, contact_ids)
