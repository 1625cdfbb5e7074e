"""Language and time zone of a page, and the helpers every template gets.

The language is the user's own (``core.user.lang``), else the browser's
``Accept-Language`` (en or ru); the time zone is the user's
(``core.user.time_zone``, read with the user on every request), else the
operator's (``CRMKIT_TZ``), as ``Crm.zone`` has it. Texts come
from crmkit's catalogues (``translate``), values from ``format_value``.
"""
from __future__ import annotations

LANGS = ("en", "ru")


def browser_lang(request, default="en"):
    return request.accept_languages.best_match(list(LANGS), default=default if default in LANGS else "en")


def apply(crm, session, request):
    from flask import g
    crm.lang = session.lang if session.lang in LANGS else browser_lang(request, crm.lang)
    g.zone = crm.zone     # the user's own zone as it is now, else CRMKIT_TZ, else the system's


def install(app):
    from flask import g, request
    from jinja2 import pass_context
    from markupsafe import Markup

    from crmkit import format_value, translate

    def lang():
        crm = g.get("crm")
        return crm.lang if crm is not None and g.get("web_session") else browser_lang(request)

    @pass_context
    def _(context, text, **values):
        """A template's text in its plugin's domain: ``claims/web/x.html``
        translates in claims'."""
        out = translate(text, lang(), context=_template_context(context.name))
        if out == text:       # a plugin's page template speaks the pages' common words too ("none")
            out = translate(text, lang(), domain="web")
        return out.format(**values) if values else out

    def fmt(value):
        return format_value(value, lang(), g.get("zone"))

    @pass_context
    def label(context, name, entity=None):
        """A column or field name as people read it, in the page's language
        (``entity``: whose field it is; else the template's plugin)."""
        out = translate(name, lang(), context=entity or _template_context(context.name))
        return out.replace("_", " ").capitalize() if out == name else out

    def csrf_token():
        row = g.get("web_session")
        return row.csrf if row is not None else ""

    def csrf_field():
        return Markup('<input type="hidden" name="csrf_token" value="%s">') % csrf_token()

    def menu():
        from .views import menu_sections
        return menu_sections(g.crm) if g.get("web_session") else ([], [])

    def reminders_due():
        from .core_pages import reminders_due as due
        return due(g.crm) if g.get("web_session") else None

    app.jinja_env.globals.update(_=_, fmt=fmt, label=label, csrf_token=csrf_token, csrf_field=csrf_field, menu=menu,
                                 page_lang=lang, reminders_due=reminders_due)


def _template_context(name):
    """A template's message context: its name (``claims/web/claim_panel.html``),
    whose first folder is its plugin's domain."""
    return name or None
