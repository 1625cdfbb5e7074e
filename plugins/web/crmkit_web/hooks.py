"""The web plugin's contract with the kernel. Flask is imported only when
the application is built, so the CLI starts without it."""
from crmkit import hookimpl


@hookimpl
def crmkit_register_commands(cli):
    from .commands import serve
    cli.add_command(serve)


@hookimpl
def crmkit_add_hookspecs(pm):
    from .ui import hookspecs
    pm.add_hookspecs(hookspecs)


@hookimpl
def crmkit_register_entities(register):
    from crmkit import EntitySpec
    from .ui.models import LeadForm
    register(EntitySpec("web.lead_form", LeadForm, label="Lead capture form", lookup="slug", display="title",
                        order_by=("title",), schema={"slug": {"regex": r"[a-z0-9][a-z0-9-]*"}},
                        list_fields=("id", "slug", "title", "fields", "interaction_kind", "channel", "owner",
                                     "is_published")))


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity == "web.lead_form":
        from .ui.leads import check_form
        return check_form(crm, data, record)
    return None


@hookimpl
def crmkit_register_pages(register):
    """The core plugin's pages (core does not depend on the web plugin)."""
    from .ui.core_pages import register_pages
    register_pages(register)
