"""Language and time zone of a page, and the helpers every template gets.

The language is the user's own (``core.user.lang``), else the browser's
``Accept-Language`` (en or ru); the time zone is the user's
(``core.user.time_zone``, read with the user on every request), else the
operator's (``CRMKIT_TZ``), as ``Crm.zone`` has it. Texts come
from crmkit's catalogues (``translate``), values from ``format_value``.
"""
from __future__ import annotations

import re

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
        out = say(text, lang(), context.name)
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

    flask_url_for = app.url_for
    built: dict = {}

    def url_for(endpoint, **values):
        """Flask's ``url_for``, kept per process for the links every page
        repeats (the layout's, a card's tabs): the same endpoint and values
        under the same mount point and host build the same URL (the
        application registers no URL defaults that could vary it)."""
        if endpoint.startswith(".") or any(k.startswith("_") for k in values):
            return flask_url_for(endpoint, **values)
        try:
            key = (request.script_root, request.host, endpoint,
                   tuple(sorted((k, type(v), v) for k, v in values.items())))
            found = built.get(key)
        except TypeError:           # an unhashable value (a list of filters)
            return flask_url_for(endpoint, **values)
        if found is None:
            if len(built) >= 8192:
                built.clear()
            found = built[key] = flask_url_for(endpoint, **values)
        return found

    def said(message):
        """An error page's message in the page's language: an error or a
        ``Message`` by its msgid and values, a plain text by the catalogue."""
        from crmkit import CrmError
        from crmkit.kernel.i18n import translate_message
        if isinstance(message, CrmError) or hasattr(message, "said"):
            return message.said(lang())
        return translate_message(str(message), lang(), domain="web")

    app.jinja_env.globals.update(url_for=url_for, _=_, fmt=fmt, label=label, csrf_token=csrf_token, csrf_field=csrf_field, menu=menu,
                                 page_lang=lang, reminders_due=reminders_due, card_url=card_url,
                                 cell_link=cell_link, said=said)


def say(text, lang, template):
    """``text`` as the template ``template`` says it (what its ``_`` gives):
    in its plugin's domain, else in the pages' common words ("none")."""
    from crmkit import translate
    out = translate(text, lang, context=_template_context(template))
    return translate(text, lang, domain="web") if out == text else out


ENTITY_MARK, KEY_MARK = "entity-mark", "987654321"
_PLAIN = re.compile(r"[A-Za-z0-9._~-]*\Z")     # a path segment url_for leaves as it is


def card_url(entity, key) -> str:
    """``url_for("ui.card", entity=entity, key=key)`` for the many links of
    one page (a timeline, a list) at the cost of a string join: the URL's
    shape is built by ``url_for`` once per request (so a mount point,
    ``SCRIPT_NAME``, is honoured) and each link whose entity and key are
    plain (letters, digits, ``.-_~``: nothing to quote) fills it in; any
    other goes through ``url_for`` itself."""
    return card_urls()(entity, key)


def card_urls():
    """``card_url`` for this request as a plain function (the URL's shape
    looked up once): what a page making many links calls."""
    from flask import g, url_for
    made = g.get("card_urls")
    if made is not None:
        return made
    head, tail = url_for("ui.card", entity=ENTITY_MARK, key=KEY_MARK).rsplit(KEY_MARK, 1)
    head, middle = head.rsplit(ENTITY_MARK, 1)
    plain = _PLAIN.match

    def made(entity, key):
        entity_text, key_text = str(entity), str(key)
        if not (plain(entity_text) and plain(key_text)):
            return url_for("ui.card", entity=entity, key=key)
        return f"{head}{entity_text}{middle}{key_text}{tail}"
    g.card_urls = made
    return made


def cell_link(c):
    """A table cell ``(text, link entity, link id)`` as HTML: the text,
    escaped, linked to its record's card when it has one (what the ``cell``
    macro of ``web/macros.html`` writes, without a macro call per cell)."""
    from markupsafe import Markup, escape
    text, entity, key = c
    if entity:
        return Markup(f'<a href="{escape(card_url(entity, key))}">{escape(text)}</a>')
    return escape(text)


def _template_context(name):
    """A template's message context: its name (``claims/web/claim_panel.html``),
    whose first folder is its plugin's domain."""
    return name or None
