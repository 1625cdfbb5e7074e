"""API routes other plugins add under ``/api/v1`` (``crmkit_register_api_routes``):
for what the generic entity, report and action routes cannot carry, such
as an upload's raw body. They act as the token's user like every API
route (``flask.g.crm``), answer errors as problem documents, and a route
with ``max_body`` sets its own body limit before anything reads the body
(a larger ``Content-Length`` is refused with 413 unread; a chunked body is
cut off with 413 as soon as it passes the limit).
"""
from __future__ import annotations

from typing import Callable

import attrs

from crmkit import StartupError


@attrs.frozen
class ApiRoute:
    """A route at ``/api/v1`` + ``rule`` (a Flask URL rule).

    :param endpoint: unique name, ``<plugin>.<route>`` (``files.upload``).
    :param view: a Flask view; it reads ``flask.g.crm`` (the token's user)
        and should call an action (``crm.act``) rather than hold logic.
    :param methods: the HTTP methods it takes.
    :param max_body: ``max_body() -> bytes``: this route's limit on a
        request's body instead of the server's ``MAX_CONTENT_LENGTH``.
    :param openapi: the route's OpenAPI path item (``{"post": {...}}``),
        put in ``/api/v1/openapi.json`` at the rule (``<int:key>`` as ``{key}``).
    :param idempotent: a POST honouring ``Idempotency-Key`` as the API's
        creates and actions do: the view reads its body from
        ``request.stream`` (fingerprinted by its SHA-256 as read, never
        buffered) and its 2xx answer is kept for the user and key, replayed
        to a retry with the same body, a 422 for another.
    """

    rule: str
    endpoint: str
    view: Callable
    methods: tuple = ("GET",)
    max_body: Callable | None = None
    openapi: dict | None = None
    idempotent: bool = False

    @property
    def path(self) -> str:
        """The rule as OpenAPI writes a path: ``/files/{entity}/{key}``."""
        import re
        return re.sub(r"<(?:[a-z_]+:)?([A-Za-z_][A-Za-z0-9_]*)>", r"{\1}", self.rule)


def collect(crm) -> list:
    """Every plugin's ``ApiRoute``s; an endpoint or rule given twice fails
    at start-up, naming both plugins."""
    routes, owners = [], {}
    for plugin in crm.plugins:
        impl = getattr(plugin.hooks, "crmkit_register_api_routes", None)
        if impl is None:
            continue

        def register(item, _plugin=plugin.name):
            if not isinstance(item, ApiRoute):
                raise StartupError(f"plugin {_plugin!r} registered {item!r}: not an ApiRoute")
            for key in (item.endpoint, item.rule):
                if key in owners:
                    raise StartupError(f"API route {key!r} is registered by both {owners[key]!r} and {_plugin!r}")
                owners[key] = _plugin
            routes.append(item)

        impl(register=register)
    return routes


def blueprint_for(host):
    """A blueprint of the plugins' routes (made per application: a
    blueprint's rules are fixed once it is registered), or None."""
    from flask import Blueprint, request

    from . import authenticate, problems
    routes = collect(host.system())
    if not routes:
        return None
    bp = Blueprint("api_plugins", __name__)
    problems.install(bp)
    limits = {f"api_plugins.{r.endpoint.replace('.', '__')}": r.max_body for r in routes if r.max_body}

    @bp.before_request
    def _limit_and_authenticate():
        limit = limits.get(request.endpoint)
        if limit is not None:   # before anything reads the body
            request.max_content_length = limit()
        return authenticate()

    for route in routes:
        view = _idempotent(route.view) if route.idempotent else route.view
        bp.add_url_rule(route.rule, route.endpoint.replace(".", "__"), view, methods=list(route.methods))
    return bp


def _idempotent(view):
    import functools

    from . import idempotency

    @functools.wraps(view)
    def run(**kwargs):
        from flask import request
        if request.method != "POST":
            return view(**kwargs)
        return idempotency.run(lambda: view(**kwargs), transactional=False, streamed=True)
    return run
