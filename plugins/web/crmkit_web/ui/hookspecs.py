"""Hooks the web pages and the API offer to other plugins (published through
``crmkit_add_hookspecs``). A plugin that must also work without the web
plugin installed marks its implementation ``@hookimpl(optionalhook=True)``.
"""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec
def crmkit_register_pages(register):
    """Add pages, menu entries and card tabs to the web interface.

    Called once when the application is built. Every page acts as the
    signed-in user (``crmkit_web.ui.crm()``), so lists, cards and actions
    pass the same access as the API and the CLI; a button that changes
    something calls an action (``crm.act``) rather than holding logic.

    :param register: ``register(Page(...))`` for a page at a URL,
        ``register(MenuEntry(...))`` for a link in the side menu,
        ``register(CardTab(...))`` for a tab on an entity's card (the
        partner card's Deals and Claims tabs come from those plugins).
        Specs are in ``crmkit_web.ui``; a duplicate page endpoint or URL
        fails at start-up, naming both plugins.
    """


@hookspec
def crmkit_register_api_routes(register):
    """Add routes to the HTTP API under ``/api/v1`` for what the generic
    entity, report and action routes cannot carry (an upload's raw body).

    Called once when the application is built. A route acts as the
    bearer token's user (``flask.g.crm``) with the same roles, access
    groups and row filters as every API route, answers errors as problem
    documents, and should call an action (``crm.act``) rather than hold
    logic: one action, declared once, reached from the CLI, the API and
    the web alike.

    :param register: ``register(ApiRoute(...))`` (``crmkit_web.api.ApiRoute``);
        a duplicate endpoint or rule fails at start-up, naming both plugins.
    """
