"""The web pages at ``/``: server-rendered jinja2, acting as the signed-in user.

``init_app(app)`` (called by ``crmkit_web.app.create_app``) adds the
``ui`` blueprint: sign-in and sessions (``auth``), CSRF and the
Content-Security-Policy (``guard``), generic pages for every entity
(``entities``), report pages (``reports``), lead-capture forms (``leads``),
and the pages, menu entries and card tabs plugins register through
``crmkit_register_pages`` (``registry``).

What a plugin's page uses (the public API of the web pages)::

    from crmkit_web.ui import CardTab, MenuEntry, Page, crm, page_url, render, render_fragment, record_url
"""
from __future__ import annotations

_SPECS = ("CardTab", "MenuEntry", "Page")     # from .specs, on first use (see __getattr__)

__all__ = ["CardTab", "MenuEntry", "Page", "crm", "render", "render_fragment", "record_url", "list_url", "page_url",
           "init_app", "flash_errors"]


def __getattr__(name):
    """The page specs, imported on first use: the CLI imports this package at
    start-up for its ``hookspecs``, and defining attrs classes is not free."""
    if name in _SPECS:
        from . import specs
        return getattr(specs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def crm():
    """The request's ``Crm``, acting as the signed-in user."""
    from flask import g
    return g.crm


def render(name, /, **context):
    """Render a page template (it extends ``web/base.html``)."""
    from flask import render_template
    return render_template(name, **context)


def render_fragment(name, /, **context):
    """Render a part of a page (a card tab) to HTML."""
    from flask import render_template
    from markupsafe import Markup
    return Markup(render_template(name, **context))


def record_url(entity, key):
    from flask import url_for
    return url_for("ui.card", entity=entity, key=key)


def flask_endpoint(endpoint):
    """A page's endpoint (``deals.board``) as Flask names it (no dots)."""
    return endpoint.replace(".", "__")


def page_url(endpoint, **values):
    """The URL of a registered page: ``page_url("deals.board", kind=2)``."""
    from flask import url_for
    return url_for("ui." + flask_endpoint(endpoint), **values)


def list_url(entity, **filters):
    from flask import url_for
    return url_for("ui.list", entity=entity, **filters)


def flash_errors(exc):
    """A ``ValidationError``'s messages per field, translated."""
    from flask import g
    from crmkit import translate
    return {field: [translate(str(m), g.crm.lang, context=exc.entity) for m in msgs] for field, msgs in exc.errors.items()}


def init_app(app):
    from flask import Blueprint
    from . import auth, entities, guard, leads, locale, preferences, registry, reports, views
    bp = Blueprint("ui", __name__)
    guard.install(bp)
    auth.install(bp)
    for module in (views, entities, reports, leads, preferences):
        module.add_routes(bp)
    pages = registry.collect(app.extensions["crmkit"])
    for page in pages.pages:
        bp.add_url_rule(page.rule, flask_endpoint(page.endpoint), page.view, methods=list(page.methods))
        if page.max_body is not None:
            pages.body_limits[f"ui.{flask_endpoint(page.endpoint)}"] = page.max_body
    app.extensions["crmkit_pages"] = pages
    app.register_blueprint(bp)
    locale.install(app)
    registry.install_loader(app)
