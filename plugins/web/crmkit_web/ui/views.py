"""The home page, the side menu, and actions as buttons and forms.

An action button posts to ``/e/<entity>/<key>/act/<name>``, which calls
``crm.act`` — the same function the CLI's commands and the API call — and
shows what it refuses (a ValidationError's fields, an AccessDenied) on the
card, with nothing written.
"""
from __future__ import annotations

from crmkit import AccessDenied, CrmError, ValidationError, translate

from . import params as P

PLUGIN_TITLES = {"core": "Partners and contacts", "deals": "Sales", "marketing": "Marketing",
                 "claims": "Claims", "analysis": "Analysis", "notify_email": "Email", "notify_sms": "SMS",
                 "web": "Web", "leads": "Leads", "files": "Files", "notify_webhook": "Webhooks",
                 "rates_cbr": "Exchange rates"}


def menu_sections(crm):
    """``(sections, lists)``: the registered entries by section (sections in
    plugin order: core's Work first), and every entity list the user may
    read, plugin by plugin (shown folded). What depends on the user's roles
    and language only (which entries, their words, their order) is made
    once per process; each entry's filters are asked every time (they may
    name the user or the time) and the URLs made of them kept."""
    from flask import request, url_for
    path = request.full_path.rstrip("?")
    sections: dict[str, list] = {}
    for section, title, e in _menu_entries(crm):
        url = entry_url(crm, e)
        sections.setdefault(section, []).append((title, url, path == url or request.path == url))
    if _may_read_reports(crm):
        sections.setdefault(translate("Reports", crm.lang), []).append(
            (translate("All reports", crm.lang), url_for("ui.reports"), request.path.startswith(url_for("ui.reports"))))
    lists = [(title, [(text, url, request.path.startswith(url)) for text, url in links])
             for title, links in _entity_lists(crm, url_for("ui.list", entity="_")[:-2])]
    return list(sections.items()), lists


def _menu_entries(crm):
    """``[(section, title, entry)]`` the user's roles may read, in order."""
    from .entities import current_pages
    pages = current_pages()
    memo = pages.memo
    key = ("menu", crm.actor.roles, crm.actor.is_admin, crm.lang)
    if key not in memo:
        rank = {p.name: i for i, p in enumerate(crm.plugins)}
        rank["web"] = -1      # the web plugin registers core's pages (Work): they come first
        entries = sorted(zip(pages.menu, pages.menu_plugins), key=lambda ep: (rank.get(ep[1], 99), ep[0].order,
                                                                              ep[0].title))
        memo[key] = [(entry_text(crm, e.section, e, plugin), entry_text(crm, e.title, e, plugin), e)
                     for e, plugin in entries if not e.entity or crm.can("read", e.entity)]
    return memo[key]


def _may_read_reports(crm):
    from .entities import current_pages
    memo = current_pages().memo
    key = ("reports", crm.actor.roles, crm.actor.is_admin)
    if key not in memo:
        memo[key] = any(crm.can("read", r.id) for r in crm.registry.reports.values())
    return memo[key]


_LISTS: dict = {}


def _entity_lists(crm, prefix):
    """Every entity list the user's roles may read, plugin by plugin; the
    same for everyone with the same roles and language, so made once."""
    key = (crm.actor.roles, crm.actor.is_admin, crm.lang, prefix, id(crm.registry))
    if key not in _LISTS:
        by_plugin: dict[str, list] = {}
        for spec in crm.registry.entities.values():
            if crm.can("read", spec.name):
                by_plugin.setdefault(spec.plugin, []).append(
                    (translate(spec.label or spec.name, crm.lang, context=spec.name), f"{prefix}{spec.name}/"))
        _LISTS[key] = [(plugin_title(crm, p), by_plugin[p.name]) for p in crm.plugins if p.name in by_plugin]
    return _LISTS[key]


def plugin_title(crm, plugin):
    """A plugin's title as a heading: its ``PluginMeta.title`` in its own
    catalogue, else the web's word for it, else its name."""
    title = PLUGIN_TITLES.get(plugin.name) or getattr(plugin.meta, "title", "") or plugin.name
    said = translate(title, crm.lang, domain=plugin.name)
    return said if said != title else translate(title, crm.lang, domain="web")


def entry_text(crm, text, e, plugin=None):
    """A menu entry's words: in the catalogue of the plugin that registered
    it (the web plugin registers core's pages), else its entity's or page's."""
    if plugin:
        said = translate(text, crm.lang, domain=plugin)
        if said != text:
            return said
    said = translate(text, crm.lang, context=entry_context(e))
    return said if said != text else translate(text, crm.lang, domain="web")


def entry_context(e):
    """A menu entry's message context: its entity or endpoint, whose plugin
    translates its title."""
    return e.entity or e.endpoint.removeprefix("entity:")


def entry_url(crm, e):
    """A menu entry's URL with its filters as they are now."""
    if e.endpoint.startswith("entity:"):
        return filtered_list_url(e.endpoint[7:], e.filters(crm) if e.filters else {})
    from . import page_url
    return page_url(e.endpoint)


def filtered_list_url(entity, filters):
    """``url_for("ui.list", entity=entity, **filters)``, kept per mount
    point, entity and filter values (the side menu and the header make a
    dozen on every page, the same for a minute at least)."""
    from flask import request, url_for
    from .entities import current_pages
    urls = current_pages().memo.setdefault("urls", {})
    try:
        key = (request.script_root, request.host, entity, tuple(filters.items()))
        found = urls.get(key)
    except TypeError:           # an unhashable filter value
        return url_for("ui.list", entity=entity, **filters)
    if found is None:
        if len(urls) >= 4096:
            urls.clear()
        found = urls[key] = url_for("ui.list", entity=entity, **filters)
    return found


def action_forms(crm, entity, record):
    """The actions of ``entity`` this user may run, each with its form."""
    out = []
    for spec in crm.actions(entity):
        if not spec.on_record:
            continue
        out.append({"name": spec.name, "title": translate(spec.title or spec.name, crm.lang, context=spec.name),
                    "description": translate(spec.description, crm.lang, context=spec.name) if spec.description else "",
                    "fields": P.param_fields(crm, spec.params, contexts=(spec.name, spec.entity))})
    return out


def run_action(entity, key, name):
    """POST of an action form: run it, then back to the card; a refusal is
    shown on the card (422) or, for the board's scripts, as JSON."""
    from flask import g, jsonify, redirect, request, url_for
    crm = g.crm
    spec = crm.registry.action(name)
    if spec.entity != entity or not spec.on_record:
        from crmkit import NotFound
        raise NotFound(f"no action {name!r} on {entity}")
    values = P.read(P.param_fields(crm, spec.params, contexts=(spec.name, spec.entity)), request.form)
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        crm.act(name, key, **values)
    except (ValidationError, AccessDenied, CrmError) as exc:
        errors = exc.errors if isinstance(exc, ValidationError) else {"_": [str(exc)]}
        errors = {k: [translate(str(m), crm.lang, context=name) for m in v] for k, v in errors.items()}
        if wants_json:
            return jsonify({"ok": False, "errors": errors}), 422
        return _card_with_errors(entity, key, name, errors)
    if wants_json:
        return jsonify({"ok": True})
    target = request.form.get("back")
    from .guard import safe_next
    return redirect(safe_next(target, url_for("ui.card", entity=entity, key=key)))


def _card_with_errors(entity, key, name, errors):
    from flask import g
    from . import render
    from .entities import card_context
    ctx = card_context(g.crm, entity, key, "main")
    ctx["action_errors"] = {"name": name, "errors": errors}
    return render("web/card.html", **ctx), 422


def add_routes(bp):
    from flask import g

    from . import render

    @bp.get("/", endpoint="home")
    def home():
        crm = g.crm
        from .entities import current_pages
        pages = current_pages()
        links = [(entry_text(crm, e.title, e, plugin), entry_url(crm, e)) for e, plugin in zip(pages.menu, pages.menu_plugins)
                 if not e.entity or crm.can("read", e.entity)]
        return render("web/home.html", title=translate("Home", crm.lang), links=links)
