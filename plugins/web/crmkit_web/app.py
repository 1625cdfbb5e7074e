"""The WSGI application: ``create_app()`` builds it.

The application holds no state between requests: each request takes its
thread's database connection (each thread of each gunicorn worker process
has its own, opened after the fork; peewee keeps connections per thread)
and leaves it with no transaction open, and acts as
its own user through a ``Crm`` made for it (``g.crm``). What is built once per process is configuration: the
plugin manager, the registries, the OpenAPI document.

Parts of the application are Flask blueprints: the API (``/api/v1``), the
unsubscribe endpoint (``/u/<token>``), and the web pages, which
``crmkit_web.ui`` adds through its ``init_app(app)`` when it is present.
"""
from __future__ import annotations

import os

DEFAULTS = {
    "MAX_CONTENT_LENGTH": 1024 * 1024,      # request bodies over 1 MiB: 413
    "CRMKIT_CORS_ORIGINS": (),              # no CORS unless origins are configured
    "CRMKIT_PUBLIC_URL": None,              # the base URL people reach (unsubscribe links)
    "JSON_SORT_KEYS": False,
    "CRMKIT_TOKEN_CACHE_SECONDS": None,     # how long a worker keeps a checked token's user (None: 5 s; 0: off)
}


class Host:
    """What the application knows of crmkit: the plugins and registries,
    and how to make a request's ``Crm``. Its own ``Crm`` acts as the system
    user and is used only to make the others and to describe the API."""

    def __init__(self, crm, token_cache_seconds=None):
        from .api.auth import DEFAULT_SECONDS, TokenCache
        self._crm = crm
        self.token_cache = TokenCache(DEFAULT_SECONDS if token_cache_seconds is None else token_cache_seconds)

    @property
    def registry(self):
        return self._crm.registry

    def connect(self):
        """This thread's connection for this request: opened on the first
        request the thread serves (after gunicorn's fork, never before), and
        reopened when the database dropped it."""
        db = self._crm.db
        if db.is_closed():
            db.connect()
        elif not _alive(db):
            db.close()
            db.connect()

    def release(self):
        """End the request's use of the connection: nothing it began stays
        open (a transaction left by an error is rolled back). The connection
        itself is kept for the next request of this thread, a pool of one
        per worker thread: opening a SQLite file (WAL set-up, the checkpoint
        at close) or a PostgreSQL session costs more than most requests."""
        db = self._crm.db
        if not db.is_closed() and db.in_transaction():
            db.rollback()

    def disconnect(self):
        if not self._crm.db.is_closed():
            self._crm.db.close()

    def system(self):
        """A ``Crm`` acting as the system user (set-up, the public document)."""
        return self._crm

    def load_actor(self, login):
        """The user ``login`` as an ``Actor`` (roles, access groups) read now;
        AccessDenied for an unknown or inactive user."""
        return self._crm.as_user(login).actor

    def language(self, request):
        """The language a request is answered in (``Accept-Language``: en or ru)."""
        return request.accept_languages.best_match(["en", "ru"], default=self._crm.lang)

    def zone_of(self, actor):
        """The time zone ``actor``'s requests show moments in (their own, else the operator's)."""
        return self._crm.as_user(actor).zone

    def session(self, login, request=None, zone=None):
        """A ``Crm`` acting as ``login`` (a login, or an ``Actor`` already
        loaded) for one request, in the request's language
        (``Accept-Language``: en or ru), in ``zone`` when the caller knows
        the user's zone already (else it is looked up)."""
        crm = self._crm.as_user(login)
        if zone is not None:
            crm.zone = zone
        if request is not None:
            crm.lang = self.language(request)
        return crm


def _seconds(name, raw):
    from crmkit import ValidationError
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({name: f"{raw!r} is not a number of seconds"}) from None
    if not 0 <= value <= 300:
        raise ValidationError({name: "must be from 0 (no cache) to 300 seconds"})
    return value


def _alive(db) -> bool:
    """Whether a PostgreSQL connection still works (a server restart or an
    idle timeout closes it); SQLite files do not go away."""
    conn = db.connection()
    closed = getattr(conn, "closed", 0)   # psycopg2: non-zero once closed
    return not closed


def create_app(db_url=None, *, plugins=None, config=None, migrate=True):
    """Build the application.

    :param db_url: database URL; default ``$CRMKIT_DATABASE_URL`` or the
        embedded SQLite file.
    :param plugins: names of plugins to load (default: all installed).
    :param config: Flask config values over the defaults
        (``MAX_CONTENT_LENGTH``, ``CRMKIT_CORS_ORIGINS``, ``CRMKIT_PUBLIC_URL``).
    :param migrate: apply pending migrations first.
    """
    import crmkit
    from flask import Flask

    app = Flask(__name__)
    app.config.update(DEFAULTS)
    if os.environ.get("CRMKIT_PUBLIC_URL"):
        app.config["CRMKIT_PUBLIC_URL"] = os.environ["CRMKIT_PUBLIC_URL"]
    if os.environ.get("CRMKIT_CORS_ORIGINS"):
        app.config["CRMKIT_CORS_ORIGINS"] = tuple(o.strip() for o in os.environ["CRMKIT_CORS_ORIGINS"].split(",")
                                                  if o.strip())
    if os.environ.get("CRMKIT_TOKEN_CACHE_SECONDS", "").strip():
        app.config["CRMKIT_TOKEN_CACHE_SECONDS"] = _seconds("CRMKIT_TOKEN_CACHE_SECONDS",
                                                            os.environ["CRMKIT_TOKEN_CACHE_SECONDS"])
    app.config.update(config or {})
    crm = crmkit.open(db_url, plugins=plugins, migrate=migrate)
    crm.close()   # opened again by each request, in the process that serves it
    host = Host(crm, app.config["CRMKIT_TOKEN_CACHE_SECONDS"])
    app.extensions["crmkit"] = host

    @app.before_request
    def _connect():
        host.connect()

    @app.teardown_request
    def _release(exc):
        host.release()

    from . import security
    security.init_app(app)
    from .api import blueprint as api, problems
    app.register_blueprint(api, url_prefix="/api/v1")
    from .api.routes import blueprint_for
    plugin_api = blueprint_for(host)   # routes plugins add (crmkit_register_api_routes)
    if plugin_api is not None:
        app.register_blueprint(plugin_api, url_prefix="/api/v1")
    problems.install_unrouted(app, "/api/")
    from .unsubscribe import blueprint as unsubscribe
    app.register_blueprint(unsubscribe)
    from .ics import blueprint as ics
    app.register_blueprint(ics)
    _add_pages(app)
    return app


def _add_pages(app):
    """The web pages (plugins/web/crmkit_web/ui), when that part is installed."""
    import importlib.util
    if importlib.util.find_spec("crmkit_web.ui") is not None:
        from . import ui
        ui.init_app(app)
