"""``crmkit serve``: the application under gunicorn."""
from __future__ import annotations

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free one, printed at start).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes, each with its own database connection.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Threads per worker, each with its own database connection (gthread workers "
                   "with keep-alive; 1: sync workers).")
@click.option("--timeout", type=click.IntRange(5, 3600), default=60, show_default=True,
              help="Seconds a request may take before its worker is restarted.")
@click.option("--access-log/--no-access-log", default=True, help="Log one line per request to standard error.")
@click.pass_obj
def serve(state, host, port, workers, threads, timeout, access_log):
    """Serve the HTTP API (and the web pages) with gunicorn."""
    import crmkit
    # a missing SQLite file is refused as by every other command ("no database at ...";
    # --create makes it): a mistyped path must not become an empty database being served
    crmkit.open(state.db, migrate=False, create=state.create, plugin_manager=state.plugin_manager).close()
    from .server import run
    run(db_url=state.db, host=host, port=port, workers=workers, timeout=timeout, access_log=access_log,
        threads=threads)
