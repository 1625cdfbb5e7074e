"""What a plugin registers through ``crmkit_register_pages``."""
from __future__ import annotations

from typing import Callable

import attrs


@attrs.frozen
class Page:
    """A page at ``rule`` (a Flask URL rule, e.g. ``/deals/board``).

    :param endpoint: unique name, ``<plugin>.<page>`` (``deals.board``);
        ``crmkit_web.ui.page_url("deals.board")`` finds it.
    :param view: a Flask view function; it reads ``crmkit_web.ui.crm()`` and
        returns ``render(template, ...)`` or a response.
    :param methods: ``("GET",)``, or ``("GET", "POST")`` for a page with a
        form (the CSRF token is checked before the view runs).
    :param max_body: ``max_body() -> bytes``: this page's limit on a
        request's body instead of the server's ``MAX_CONTENT_LENGTH`` (an
        upload page), set before anything reads the body; a larger body is
        refused (413) with a page saying the limit.
    """

    rule: str
    endpoint: str
    view: Callable
    methods: tuple = ("GET",)
    max_body: Callable | None = None


@attrs.frozen
class MenuEntry:
    """A link in the side menu, under ``section`` (a plugin's menu title).

    :param endpoint: a page's endpoint (``deals.board``) or an entity list
        (``entity:deals.deal``).
    :param entity: shown only to users who may read this entity.
    :param filters: ``filters(crm) -> dict`` of list filters for an entity
        list ("my tasks": ``{"performer": crm.actor.id, "state": "active"}``).
    """

    section: str
    title: str
    endpoint: str
    entity: str | None = None
    order: int = 50
    filters: Callable | None = None


@attrs.frozen
class CardTab:
    """A tab on the card of ``entity``.

    :param render: ``render(crm, record) -> str`` (HTML, e.g. from
        ``crmkit_web.ui.render_fragment``); runs only when the tab is shown.
    :param entity_read: shown only to users who may read this entity.
    :param panel: shown on the card's main tab, above the fields (a deal's
        route map), rather than as a tab of its own.
    """

    entity: str
    name: str
    title: str
    render: Callable
    order: int = 50
    entity_read: str | None = None
    panel: bool = False
