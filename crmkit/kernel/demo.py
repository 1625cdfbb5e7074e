"""``crmkit demo``: load every plugin's demo data, write the report book,
print the key tables."""
from __future__ import annotations

import os
from pathlib import Path

import click

DEMO_URL = "sqlite:///crmkit-demo.db"


def _fresh_sqlite(url):
    path = url.split(":///", 1)[1]
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def run(state, book_dir, fresh):
    from .crm import open as open_crm
    url = state.db or os.environ.get("CRMKIT_DATABASE_URL") or DEMO_URL
    if fresh and url.startswith("sqlite:///"):
        _fresh_sqlite(url)
    crm = open_crm(url, user=None, lang=state.lang, plugin_manager=state.plugin_manager, create=True)
    if crm.count("core.partner", include_marked=True):
        from .errors import CrmError
        from .i18n import Message
        raise CrmError(Message("the database already holds partners: the demo needs an empty one", domain="kernel"))
    featured = []
    with crm.transaction():
        for result in crm.call_in_order("crmkit_load_demo", crm=crm):
            featured += list(result or [])
    from ..cli import say
    say(crm, "demo loaded into {url}: {counts}", url=url, counts=", ".join(
        f"{crm.count(name, include_marked=True)} {name}" for name in
        ("core.partner", "core.contact", "core.interaction", "core.task") if name in crm.registry.entities))
    book = write_book(crm, Path(book_dir))
    say(crm, "report book: {path}", path=book.resolve())
    for item in featured:
        report_id, params = (item, {}) if isinstance(item, str) else item
        click.echo("")
        click.echo(crm.report(report_id, **params).render("table"))


def write_book(crm, folder: Path, params_by_report=None) -> Path:
    """One self-contained HTML page per report plus an index page grouped
    by plugin, each report with the question it answers."""
    from .report_pages import book_index
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for spec in sorted(crm.registry.reports.values(), key=lambda s: s.id):
        if not crm.can("read", spec.id):
            continue
        params = (params_by_report or {}).get(spec.id, {})
        page = folder / f"{spec.id}.html"
        page.write_text(crm.report(spec.id, **params).render("html"), encoding="utf-8")
        pages.append((spec, page.name))
    index = folder / "index.html"
    index.write_text(book_index(crm, pages), encoding="utf-8")
    return index
