"""The core plugin's contract with the kernel. Models are imported inside
the hooks, so that the CLI starts without peewee."""
from crmkit import hookimpl


@hookimpl
def crmkit_register_entities(register):
    from .entities import ENTITIES
    for spec in ENTITIES:
        register(spec)


@hookimpl
def crmkit_register_subject_types(register):
    register("core.interaction")
    register("core.task")


@hookimpl
def crmkit_register_actions(register):
    from .actions import ACTIONS
    for spec in ACTIONS:
        register(spec)


@hookimpl
def crmkit_register_roles(register):
    from crmkit import RoleSpec
    # Reminders and notes are personal: every role may keep its own.
    for role in ("manager", "marketer", "claims_officer", "analyst"):
        register(RoleSpec(role, {"core.reminder": "rcud", "core.note": "rcud", "core.task": "rcu"}))


def _user_statement():
    """The active user of a login with their access groups, one row per
    group (a user with none: one row, group NULL)."""
    import peewee as pw
    from . import models as m
    U, UA = m.User, m.UserAccess
    return (U.select(U.id, U.login, U.name, U.roles, U.time_zone, UA.access_group)
            .join(UA, pw.JOIN.LEFT_OUTER, on=(UA.user == U.id))
            .where((U.login == "") & (U.is_active == True) & (U.deletion_mark == False))  # noqa: E712
            .order_by(UA.id))


@hookimpl
def crmkit_load_user(login):
    """Every request of every front end loads its user: one statement,
    compiled once per process."""
    from crmkit import Actor, statement_sql
    from . import models as m
    sql, _ = statement_sql("core.load_user", _user_statement)
    rows = m.User._meta.database.execute_sql(sql, (login, m.User.is_active.db_value(True),
                                          m.User.deletion_mark.db_value(False))).fetchall()
    if not rows:
        return None
    user_id, user_login, name, roles, zone = rows[0][:5]
    roles = frozenset(r.strip() for r in (roles or "").split(",") if r.strip())
    groups = frozenset(r[5] for r in rows if r[5] is not None)
    return Actor(login=user_login, id=user_id, name=name, roles=roles, access_groups=groups,
                 is_admin="administrator" in roles, time_zone=zone or "")


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    from .rules import validate_core
    return validate_core(crm, entity, data, record)


@hookimpl
def crmkit_validate_frame(crm, entity, frame):
    from .rules import validate_core_frame
    return validate_core_frame(crm, entity, frame)


@hookimpl
def crmkit_register_template_parameters(register):
    from crmkit import TemplateParameter
    from .rules import TEMPLATE_PARAMETERS
    for name, compute, description in TEMPLATE_PARAMETERS:
        register(TemplateParameter(name, compute, description=description))


@hookimpl
def crmkit_register_reports(register):
    from .reports import REPORTS
    for spec in REPORTS:
        register(spec)


@hookimpl
def crmkit_register_commands(cli):
    """Core's groups, imported when one is used: ``crmkit --help`` lists them
    by name and help without importing ``crmkit.core.commands``."""
    from crmkit.cli import add_lazy_group
    from .commands_index import GROUPS
    for name, help_text in GROUPS.items():
        if name not in cli.commands:
            add_lazy_group(cli, name, f"crmkit.core.commands:{name}", help_text)


@hookimpl
def crmkit_load_demo(crm):
    from .demo import load
    return load(crm)


@hookimpl
def crmkit_register_duplicate_rules(register):
    from .duplicates import RULES
    for rule in RULES:
        register(rule)


@hookimpl
def crmkit_entity_saved(crm, entity, record, created, changes):
    if entity in ("core.partner", "core.contact", "core.contact_info"):
        from .duplicates import partners_touched
        for target, ids in partners_touched(entity, record, changes):
            crm.reindex_duplicates(target, ids)


@hookimpl
def crmkit_entity_deleted(crm, entity, record):
    if entity in ("core.partner", "core.contact", "core.contact_info"):
        from .duplicates import deleted_touched
        for target, ids in deleted_touched(entity, record):
            crm.reindex_duplicates(target, ids)


@hookimpl
def crmkit_entity_imported(crm, entity, count, ids, changes):
    if entity in ("core.partner", "core.contact", "core.contact_info"):
        from .duplicates import imported_touched
        for target, touched in imported_touched(entity, ids, changes):
            crm.reindex_duplicates(target, touched)


@hookimpl
def crmkit_records_merged(crm, entity, survivor, merged):
    if entity == "core.contact":
        from .duplicates import merged_touched
        for target, ids in merged_touched(entity, survivor, merged):
            crm.reindex_duplicates(target, ids)


@hookimpl
def crmkit_merge_records(crm, entity, survivor, merged):
    from .duplicates import merge_core
    merge_core(crm, entity, survivor, merged)
