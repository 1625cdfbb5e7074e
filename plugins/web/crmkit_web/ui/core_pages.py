"""The core plugin's pages (core ships in the crmkit distribution, which
does not depend on the web plugin, so its pages live here): the partner
card's tabs (contacts and contact information, the interactions timeline,
the holding tree, notes), my tasks, reminders due, segments with members.
Other plugins add their own (crmkit_deals/web.py ...) through the same hook.
"""
from __future__ import annotations

from crmkit import utcnow

from . import CardTab, MenuEntry, render_fragment
from .entities import table

TIMELINE = 50      # newest interactions on the card; the rest page through the list ("more")


def contacts_tab(crm, partner):
    from crmkit.core import models as m
    contacts = crm.find("core.contact", partner=partner.id, order_by="name")
    infos = list(crm.query("core.contact_info").where(
        (m.ContactInfo.partner == partner.id) | (m.ContactInfo.contact.in_([c.id for c in contacts] or [0])))
        .order_by(m.ContactInfo.kind, m.ContactInfo.id))
    by_contact = {}
    for info in infos:
        by_contact.setdefault(info.contact_id, []).append(info)
    return render_fragment("web/core/contacts.html", partner=partner, contacts=contacts, infos=by_contact,
                           can_create=crm.can("create", "core.contact"),
                           can_create_info=crm.can("create", "core.contact_info"))


TIMELINE_COLUMNS = ["date", "kind", "direction", "topic", "partner", "contact", "responsible"]


def interactions_tab(crm, partner):
    from crmkit.core import models as m
    from crmkit.core.partners import holding_ids
    ids = holding_ids(crm, partner)   # the card's record: not read again
    I = m.Interaction
    shown = [I.id, *(getattr(I, n) for n in TIMELINE_COLUMNS)]     # what a row shows, not the texts
    query = crm.query("core.interaction").where(I.partner.in_(ids))
    rows = list(query.select(*shown).order_by(I.date.desc(), I.id.desc()).limit(TIMELINE))
    total = query.count() if len(rows) == TIMELINE else len(rows)
    spec = crm.registry.entity("core.interaction")
    return render_fragment("web/core/timeline.html", partner=partner, total=total,
                           items=timeline_items(crm, table(crm, spec, rows, TIMELINE_COLUMNS)),
                           whole=len(ids) > 1, can_create=crm.can("create", "core.interaction"))


def timeline_items(crm, rows):
    """The timeline's rows as HTML, written here rather than by the
    template row by row (the template's loop, its calls and escapes were
    the largest part of the card's rendering): each value escaped, links
    to the records' cards."""
    from markupsafe import Markup, escape
    from .locale import card_urls, say
    url = card_urls()
    no_topic = str(escape(say("(no topic)", crm.lang, "web/core/timeline.html")))

    def link(c):
        text, entity, key = c
        return f'<a href="{escape(url(entity, key))}">{escape(text)}</a>' if entity else str(escape(text))
    out = []
    for row in rows:
        when, kind, direction, topic, *refs = row["cells"]
        muted = " · ".join([link(refs[0]), *(link(c) for c in refs[1:] if c[0])])
        out.append(Markup(f'<li><span class="when">{escape(when[0])}</span> <strong>{escape(kind[0])}</strong>'
                          f'{(" · " + escape(direction[0])) if direction[0] else ""}\n'
                          f' — <a href="{escape(url("core.interaction", row["record"].id))}">'
                          f'{escape(topic[0]) if topic[0] else no_topic}</a>\n'
                          f' <span class="muted">{muted}</span></li>\n'))
    return out


def holding_tab(crm, partner):
    from crmkit.core.partners import tree
    return render_fragment("web/core/holding.html", partner=partner, tree=tree(crm, partner))


def notes_tab(crm, partner):
    spec = crm.registry.entity("core.note")
    rows = crm.find("core.note", partner=partner.id, order_by="-id", limit=100)
    return render_fragment("web/core/related.html", entity="core.note", partner=partner,
                           rows=table(crm, spec, rows, ["title", "colour", "author", "private"]),
                           columns=["title", "colour", "author", "private"], new_args={"partner": partner.id},
                           can_create=crm.can("create", "core.note"))


def tasks_tab(crm, partner):
    spec = crm.registry.entity("core.task")
    rows = crm.find("core.task", partner=partner.id, order_by="-id", limit=100)
    cols = ["number", "title", "performer", "due", "state"]
    return render_fragment("web/core/related.html", entity="core.task", partner=partner,
                           rows=table(crm, spec, rows, cols), columns=cols, new_args={"partner": partner.id},
                           can_create=crm.can("create", "core.task"))


def members_tab(crm, segment):
    from crmkit.core.segments import members_query
    q = members_query(crm, segment.id)
    kind = "core.partner" if segment.kind == "partner" else "core.product"
    spec = crm.registry.entity(kind)
    rows = list(q.limit(500))
    cols = [n for n in spec.list_fields if n in ("code", "name", "kind", "manager", "region", "group")]
    return render_fragment("web/core/related.html", entity=kind, partner=None, rows=table(crm, spec, rows, cols),
                           columns=cols, new_args=None, can_create=False, note=f"{len(rows)}")


def register_pages(register):
    for tab in (CardTab("core.partner", "contacts", "Contacts", contacts_tab, order=10, entity_read="core.contact"),
                CardTab("core.partner", "interactions", "Interactions", interactions_tab, order=20,
                        entity_read="core.interaction"),
                CardTab("core.partner", "holding", "Holding", holding_tab, order=30),
                CardTab("core.partner", "tasks", "Tasks", tasks_tab, order=60, entity_read="core.task"),
                CardTab("core.partner", "notes", "Notes", notes_tab, order=70, entity_read="core.note"),
                CardTab("core.segment", "members", "Members", members_tab, order=10)):
        register(tab)
    register(MenuEntry("Work", "My tasks", "entity:core.task", entity="core.task", order=10,
                       filters=lambda crm: {"performer": crm.actor.id or "", "state": "active"}))
    register(MenuEntry("Work", "Reminders due", "entity:core.reminder", entity="core.reminder", order=20,
                       filters=due_filters))
    register(MenuEntry("Work", "My notes", "entity:core.note", entity="core.note", order=30,
                       filters=lambda crm: {"author": crm.actor.id or ""}))
    register(MenuEntry("Work", "Partners", "entity:core.partner", entity="core.partner", order=5))
    register(MenuEntry("Work", "Segments", "entity:core.segment", entity="core.segment", order=40))


def due_filters(crm):
    """The signed-in user's reminders that are due: not done, their moment passed."""
    return {"user": crm.actor.id or "", "done": "false", "remind_at__le": utcnow().isoformat(timespec="minutes")}


def reminders_due(crm):
    """``(count, url)`` of the user's due reminders for the header (one
    COUNT through their access), or None where they may not read reminders."""
    from .views import filtered_list_url
    if crm.actor.id is None or not crm.can("read", "core.reminder"):
        return None
    filters = due_filters(crm)     # typed as the list types its query string, so the count is the list's
    return (crm.count("core.reminder", **crm.parse_filters("core.reminder", filters)),
            filtered_list_url("core.reminder", filters))
