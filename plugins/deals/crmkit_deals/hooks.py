"""The deals plugin's contract with the kernel."""
from crmkit import EntitySpec, hookimpl



def _deal_display(deal):
    return deal.name


def _target_display(target):
    return f"{target.period} {target.period_start.isoformat()}"


def _route_display(ks):
    return f"{ks.kind.name}: {ks.sequence}. {ks.stage.name}"


def entities():
    from . import models as m  # here, not at import: the CLI starts without peewee
    return [
        EntitySpec("deals.kind", m.Kind, label="Deal kind", order_by=("name",),
                   schema={"name": {"empty": False}}, list_fields=("id", "name", "process", "comment")),
        EntitySpec("deals.stage", m.Stage, label="Sales process stage", order_by=("name",),
                   schema={"name": {"empty": False}}, list_fields=("id", "name", "comment")),
        EntitySpec("deals.kind_stage", m.KindStage, label="Stage of a deal kind", display=_route_display,
                   order_by=("kind", "sequence"), schema={"sequence": {"required": False, "nullable": True}},
                   list_fields=("id", "kind", "sequence", "stage", "route_point", "tasks", "task_days")),
        EntitySpec("deals.loss_reason", m.LossReason, label="Loss reason", order_by=("name",),
                   schema={"name": {"empty": False}}, list_fields=("id", "name", "comment")),
        EntitySpec("deals.agreement", m.Agreement, label="Agreement with client", partner_path="client",
                   order_by=("name",), schema={"name": {"empty": False}},
                   list_fields=("id", "name", "client", "comment")),
        EntitySpec("deals.deal", m.Deal, label="Deal with client", subject=True, display=_deal_display,
                   partner_path="client", lookup="code", code_prefix="00-", order_by=("-start_date", "id"),
                   read_only=("closed_at",),
                   schema={"name": {"empty": False}, "start_date": {"required": False, "nullable": True},
                           "probability": {"min": 0, "max": 100}, "currency": {"minlength": 3}},
                   list_fields=("id", "code", "name", "client", "responsible", "kind", "stage", "status",
                                "potential", "currency", "probability", "start_date", "end_date")),
        EntitySpec("deals.stage_history", m.StageHistory, label="Deal stage history", partner_path="deal",
                   import_group="deal",
                   display=lambda r: f"{r.deal_id}:{r.stage_id}:{r.status}", order_by=("entered_at", "id"),
                   list_fields=("id", "deal", "stage", "status", "passage", "entered_at", "left_at", "days",
                                "user")),
        EntitySpec("deals.participant", m.Participant, label="Deal participant", partner_path="deal",
                   display="role", list_fields=("id", "deal", "partner", "contact", "role", "comment")),
        EntitySpec("deals.demand", m.Demand, label="Primary demand", partner_path="deal",
                   display=lambda r: f"{r.deal_id}:{r.product_id}", read_only=("amount",),
                   list_fields=("id", "deal", "product", "quantity", "price", "amount", "comment")),
        EntitySpec("deals.target", m.Target, label="Sales target", display=_target_display, admin_writes=True,
                   order_by=("-period_start", "id"),
                   schema={"amount": {"min": 0}, "won_deals": {"min": 0, "max": 1_000_000_000},
                           "currency": {"regex": "[A-Za-z]{3}"}},
                   list_fields=("id", "period", "period_start", "responsible", "department", "kind", "amount",
                                "currency", "won_deals")),
    ]


@hookimpl
def crmkit_add_hookspecs(pm):
    from . import hookspecs
    pm.add_hookspecs(hookspecs)


@hookimpl
def crmkit_register_entities(register):
    for spec in entities():
        register(spec)


@hookimpl
def crmkit_register_reports(register):
    from .report_specs import REPORTS
    for spec in REPORTS:
        register(spec)


@hookimpl
def crmkit_register_actions(register):
    from .actions import ACTIONS
    for spec in ACTIONS:
        register(spec)


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity.startswith("deals."):
        from .rules import validate_record
        return validate_record(crm, entity, data, record)
    return None


@hookimpl
def crmkit_prepare_import(crm, entity, frame, options):
    if entity == "deals.deal":
        from .importing import prepare
        return prepare(frame)
    return None


@hookimpl
def crmkit_validate_frame(crm, entity, frame):
    if entity == "deals.deal":
        from .importing import validate
        return validate(crm, frame)
    if entity == "deals.stage_history":
        from .history_import import validate
        return validate(crm, frame)
    return None


@hookimpl
def crmkit_import_written(crm, entity, frame, options):
    """Imported deals get the stage history creating and moving them would have
    written; an imported stage history replaces what its deals had."""
    if entity == "deals.deal":
        from .importing import write_history
        write_history(crm, frame)
    elif entity == "deals.stage_history":
        from .history_import import replace_history
        replace_history(crm, frame, options)


@hookimpl
def crmkit_entity_saved(crm, entity, record, created, changes):
    if entity == "deals.deal":
        from .lifecycle import deal_saved
        deal_saved(crm, record, created, changes)
    elif entity == "core.task" and not created:
        from .lifecycle import task_saved
        task_saved(crm, record, changes)


@hookimpl
def crmkit_describe_subject(crm, entity, record):
    if entity == "deals.deal":
        from crmkit import translate
        return f"{translate('Deal with client', crm.lang)}: {record.name}"
    return None


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "deals", "crmkit_deals.commands:deals",
                   "Deals: create, move through stages, win, lose; kinds and stages.")


@hookimpl
def crmkit_load_demo(crm):
    from .demo import load
    return load(crm)


@hookimpl(optionalhook=True)
def crmkit_register_pages(register):
    """The deal card's route map, the partner's Deals tab and the pipeline
    board (only when the web plugin is installed)."""
    from .web import register_pages
    register_pages(register)
