"""The plugin's whole contract with crmkit.

Models are imported inside the hooks, not here: ``crmkit --help`` imports
every plugin's hooks.py, and importing models would bring peewee and the
core's models with it. The command group is a lazy one for the same reason.
"""
from crmkit import ChartSpec, EntitySpec, ReportSpec, RoleSpec, hookimpl

SAVED = []   # what crmkit_entity_saved saw: the example's event handler


@hookimpl
def crmkit_register_entities(register):
    from .models import Visit
    register(EntitySpec("visits.visit", Visit, label="Visit", subject=True, partner_path="partner",
                        code_prefix="V-", display="code", lookup="code",
                        schema={"kilometres": {"min": 0, "max": 2000}},
                        list_fields=("id", "code", "partner", "date", "kilometres")))


@hookimpl
def crmkit_register_reports(register):
    register(ReportSpec("visits.by_partner", "Visits by partner", "crmkit_visits.reports:by_partner",
                        question="Which partners do we visit, and how often?",
                        labels={"partner": "Partner", "visits": "Visits"},
                        charts=(ChartSpec("bar", x="partner", y="visits"),)))


@hookimpl
def crmkit_register_roles(register):
    register(RoleSpec("manager", {"visits.*": "rcu"}))


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity == "visits.visit" and data.get("kilometres", 0) and not data.get("note", getattr(record, "note", "")):
        return {"note": "say why you drove"}


@hookimpl
def crmkit_entity_saved(crm, entity, record, created, changes):
    if entity == "visits.visit":
        SAVED.append((record.code, created))


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group   # the group's module is imported when it is used
    add_lazy_group(cli, "visits", "crmkit_visits.commands:visits", "Field visits to partners.")
