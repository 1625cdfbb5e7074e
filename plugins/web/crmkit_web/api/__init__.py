"""The HTTP API, a Flask blueprint mounted at ``/api/v1``.

Every request but the OpenAPI document carries ``Authorization: Bearer
<token>`` and acts as the token's user (``g.crm``): the same roles, access
groups and row filters as the CLI (checked tokens are kept per worker for
a few seconds: ``auth.py`` says what that means for revocation). Routes are generic over the registries,
so every entity, report and action of every installed plugin is served.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, request

from . import problems

blueprint = Blueprint("api", __name__)
problems.install(blueprint)

PUBLIC_ENDPOINTS = {"api.openapi"}


@blueprint.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return None
    return authenticate()


def authenticate():
    """Act as the bearer token's user (``g.crm``), or 401."""
    from . import auth
    host = current_app.extensions["crmkit"]
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    found = auth.checked(host, secret.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        # the same answer for a missing, unknown, expired or revoked token
        raise problems.Problem(401, "Unauthorized", "send a valid personal API token as Authorization: Bearer",
                               headers={"WWW-Authenticate": 'Bearer realm="crmkit"'})
    g.crm = auth.session(host, found, request)
    return None


from . import entities, reports, actions, openapi  # noqa: E402,F401  (they add their routes)
from .routes import ApiRoute  # noqa: E402,F401  (what plugins register: crmkit_register_api_routes)
