"""The claims plugin's contract with the kernel."""
from crmkit import ChartSpec, EntitySpec, ReportSpec, RoleSpec, hookimpl

from crmkit.core.currency import LABELS as CURRENCY_LABELS, PARAMS as REPORT_CURRENCY   # report_currency, rates_on

from .kinds import STATUSES

CLAIM_FIELDS = ("id", "code", "registered_at", "actual_end", "status", "name", "client", "cause",
                "responsible", "planned_end")


@hookimpl
def crmkit_add_hookspecs(pm):
    from . import hookspecs
    pm.add_hookspecs(hookspecs)


def entities():
    from . import models as m  # here, not at import: the CLI starts without peewee
    return [
        EntitySpec("claims.cause", m.Cause, label="Claim cause", lookup="name", order_by=("name",),
                   schema={"name": {"empty": False}}, list_fields=("id", "name", "comment")),
        EntitySpec("claims.claim", m.Claim, label="Client claim", subject=True, partner_path="client",
                   lookup="code", code_prefix="00-", order_by=("name", "code"),
                   schema={"name": {"empty": False}, "currency": {"regex": "[A-Z]{3}"},
                           "client": {"required": False},   # may follow from the basis, see rules
                           "compensation": {"min": 0}},
                   list_fields=CLAIM_FIELDS),
        EntitySpec("claims.participant", m.Participant, label="Claim participant", partner_path="claim",
                   display=lambda r: r.role or f"participant {r.id}",
                   list_fields=("id", "claim", "user", "contact", "role", "comment")),
        EntitySpec("claims.stage", m.Stage, label="Claim work plan stage", partner_path="claim",
                   display="title", order_by=("claim", "position"), read_only=("done_at",),
                   schema={"title": {"empty": False}, "position": {"min": 1, "required": False}},
                   list_fields=("id", "claim", "position", "title", "responsible", "due", "done",
                                "done_at", "result", "task")),
        EntitySpec("claims.status_change", m.StatusChange, label="Claim status change",
                   partner_path="claim", display=lambda r: f"{r.old_status or ''} -> {r.new_status}",
                   order_by=("at", "id"),
                   list_fields=("id", "claim", "at", "login", "old_status", "new_status")),
    ]

PERIOD = {"date_from": {"type": "date", "coerce": "date", "nullable": True},
          "date_to": {"type": "date", "coerce": "date", "nullable": True}}
MONEY = {**PERIOD, **REPORT_CURRENCY}      # reports with compensation sums
AT = {"at": {"type": "datetime", "coerce": "datetime", "nullable": True}}

CLAIM_LABELS = {"cause": "Cause", "guilty_department": "Guilty department", "guilty_employee": "Guilty employee",
                "claims": "Number of claims", "open": "Not closed", "satisfied": "Satisfied", "partly_satisfied": "Partly satisfied",
                "not_satisfied": "Not satisfied", "satisfied_share": "Satisfied, %", "currency": "Currency",
                "compensation": "Compensation", "compensated": "With compensation",
                "main": "Claims", "closed": "Closed", "overdue": "Overdue", "closed_late": "Closed late",
                "avg_days": "Average time to close, days", "p90_days": "90th percentile, days",
                "responsible": "Responsible", "by cause": "By cause", "by responsible": "By responsible",
                "total": "Total", "registered_at": "Registered", "end_date": "End date", "status": "Status",
                "name": "Name", "code": "Number", "client": "Client", "planned_end": "Planned end", "at": "At",
                **CURRENCY_LABELS}

REPORTS = [
    ReportSpec("claims.register", "Client claims", "crmkit_claims.reports:register",
               params={**PERIOD,
                       "status": {"type": "string", "nullable": True, "allowed": list(STATUSES)},
                       "client": {"type": "string", "nullable": True},
                       "cause": {"type": "string", "nullable": True},
                       "responsible": {"type": "string", "nullable": True}},
               description="The claim list: registration date, end date, status, name.",
               question="Which claims were registered, and in what state are they?", labels=CLAIM_LABELS),
    ReportSpec("claims.by_cause", "Claims by cause", "crmkit_claims.reports:by_cause", params=MONEY,
               question="Why do clients claim, and how often are their claims satisfied?", labels=CLAIM_LABELS,
               charts=(ChartSpec("bar", x="cause", y=("claims", "satisfied"), title="Claims by cause"),)),
    ReportSpec("claims.by_department", "Claims by guilty department", "crmkit_claims.reports:by_department",
               params=MONEY, labels=CLAIM_LABELS, question="By the fault of which departments do claims arise?",
               charts=(ChartSpec("bar", x="guilty_department", y="claims", title="Claims by guilty department"),)),
    ReportSpec("claims.by_employee", "Claims by guilty employee", "crmkit_claims.reports:by_employee",
               params=MONEY, labels=CLAIM_LABELS, question="By the fault of which employees do claims arise?",
               charts=(ChartSpec("bar", x="guilty_employee", y="claims", title="Claims by guilty employee"),)),
    ReportSpec("claims.resolution", "Time to close claims", "crmkit_claims.reports:resolution",
               params={**PERIOD, **AT}, labels=CLAIM_LABELS,
               question="How long does closing a claim take, and which claims are late?",
               charts=(ChartSpec("bar", section="by cause", x="cause", y=("avg_days", "p90_days"),
                                 title="Days to close by cause"),)),
]


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
def crmkit_register_reports(register):
    for spec in REPORTS:
        register(spec)


@hookimpl
def crmkit_register_roles(register):
    # A claims officer plans stages as tasks and reminds responsibles.
    register(RoleSpec("claims_officer", {"claims.*": "rcu", "core.task": "rcu", "core.reminder": "rcud"}))


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity.startswith("claims."):
        from .rules import validate
        return validate(crm, entity, data, record)
    return None


@hookimpl
def crmkit_entity_saved(crm, entity, record, created, changes):
    if entity == "claims.claim":
        from .rules import claim_saved
        claim_saved(crm, record, created, changes)
    elif entity == "core.task" and "state" in changes and record.state == "done":
        from .rules import task_done
        task_done(crm, record)


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "claims", "crmkit_claims.commands:claims",
                   "Client claims: register, plan, resolve, overdue.")


@hookimpl
def crmkit_load_demo(crm):
    from .demo import load
    return load(crm)


@hookimpl
def crmkit_collect_personal_data(crm, partner_id, contact_ids):
    from .personal import collect
    return collect(crm, partner_id, contact_ids)


@hookimpl
def crmkit_erase_personal_data(crm, partner_id, contact_ids):
    from .personal import erase
    erase(crm, partner_id, contact_ids)


@hookimpl(optionalhook=True)
def crmkit_register_pages(register):
    """The claim's work plan panel and the partner's Claims tab (only when
    the web plugin is installed)."""
    from .web import register_pages
    register_pages(register)
