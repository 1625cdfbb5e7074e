"""The ``crmkit`` command. Plugins add their own groups through
``crmkit_register_commands(cli)`` and use ``pass_crm``, ``emit`` and
``parse_assignments`` from here.

Starting it imports no pandas: reports import it when they run.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import sys

import click

from .kernel.errors import CrmError, ValidationError
from .cli_lang import adopt, set_lang


class State:
    """What every command shares: connection settings and the open Crm."""

    def __init__(self, db=None, user=None, lang=None, plugin_manager=None, create=False):
        self.db, self.user, self.lang = db, user, lang
        self.plugin_manager = plugin_manager
        self.create = create      # may a SQLite file that does not exist be made? (--create, init, demo)
        self._crm = None

    @property
    def crm(self):
        if self._crm is None:
            from .kernel.crm import open as open_crm
            self._crm = open_crm(self.db, user=self.user, lang=self.lang,
                                 plugin_manager=self.plugin_manager, create=self.create)
            from .kernel.zones import showing
            showing(self._crm.zone)     # this command's output: in the acting user's zone
        return self._crm


def pass_crm(fn):
    """Give a command the open ``Crm`` as its first argument."""
    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(state, *args, **kwargs):
        return fn(state.crm, *args, **kwargs)
    return wrapper


def emit(rows, fmt="table", columns=None, lang="en", context=None):
    """Print rows (dicts) as an aligned table or as JSON; ``context``: the
    entity or report the columns belong to (whose plugin translates them)."""
    from .kernel.i18n import format_value, translate
    from .kernel.values import plain
    rows = [dict(r) for r in rows]
    if fmt == "json":
        from .kernel.zones import local_moment   # ISO 8601 in the user's zone, with its offset
        click.echo(json.dumps([{k: plain(local_moment(v)) for k, v in r.items()} for r in rows],
                              ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        click.echo(translate("(nothing)", lang, domain="kernel"))
        return
    columns = columns or list(rows[0])
    cells = [[_cell(r.get(c), lang, format_value) for c in columns] for r in rows]
    heads = [translate(c, lang, context=context) for c in columns]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


class RecordId(int):
    """An id shown as it is typed back (``show 10094``): never with thousands separators."""


def _cell(value, lang, format_value):
    return str(int(value)) if isinstance(value, RecordId) else format_value(value, lang)


def say(crm, msgid, err=False, context=None, **values):
    """Say what a command did (or a warning, ``err=True``) in the user's
    language: ``msgid`` is the English message with ``{name}`` placeholders,
    ``values`` fill them in::

        say(crm, "created {entity} {id}", entity=entity, id=record.get_id())

    The msgid is translated in the domain of the plugin whose command calls
    (its ``locale/ru.po``; ``context``: its msgctxt), then filled: a
    ``Choice`` by its label, an ``Either`` with the language's "or", a
    nested ``crmkit.Message`` said too, dates and money as the language
    writes them, anything else (codes, names, counts) as given. Never an
    f-string: its text would have to be matched back to a template. ``crm``
    may be ``None`` (a command that opens no database): ``--lang`` decides.
    A list of ``Message`` objects is said as one line, part after part."""
    from .kernel.i18n import Message
    lang = _speaker(crm)
    if isinstance(msgid, (list, tuple)):        # messages said one after the other, on one line
        click.echo("".join(part.said(lang) for part in msgid), err=err)
        return
    message = msgid if isinstance(msgid, Message) and not values else Message(msgid, context=context, **values)
    click.echo(message.said(lang), err=err)


def say_counts(crm, counts, context="kernel.counts", empty=None):
    """Say how many of each outcome (``{"sent": 6, "retry": 1}``): ``sent=6
    retry=1`` in English, as scripts read it; in another language each
    outcome by its catalogue word (``context``, the calling plugin's
    domain): "отправлено: 6, повтор: 1". ``empty``: the msgid said when
    there is nothing to count."""
    from .kernel.i18n import Message
    lang = _speaker(crm)
    if not counts and empty:
        return say(crm, Message(empty))
    if lang == "en":
        return click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
    click.echo(", ".join(f"{Message(str(k), context=context).said(lang)}: {v}" for k, v in counts.items()))


def _speaker(crm):
    """The language a command speaks: its Crm's, else ``--lang`` / ``$CRMKIT_LANG``."""
    lang = getattr(crm, "lang", None)
    if lang:
        return lang
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return os.environ.get("CRMKIT_LANG") or "en"
    lang = _lang_of(ctx)
    if lang != "en":
        from .cli_lang import ensure_domains
        ensure_domains(ctx)
    return lang


def refuse(msgid, context=None, **values):
    """Stop a command with an error said in the user's language (``error: ...``
    on standard error, exit code 1): a ``CrmError`` carrying the message."""
    from .kernel.i18n import Message
    raise CrmError(Message(msgid, context=context, **values))


def record_row(crm, entity, record, fields=None):
    """A record as a dict of its list fields, references shown by name."""
    import peewee as pw
    spec = crm.registry.entity(entity)
    names = fields or list(spec.list_fields) or list(spec.model._meta.fields)
    row = {}
    for name in names:
        field = spec.model._meta.fields.get(name)
        if isinstance(field, pw.ForeignKeyField):
            rid = getattr(record, field.column_name, None) if field.column_name.endswith("_id") \
                else getattr(record, name + "_id", None)
            target = crm.registry.spec_of_model(field.rel_model)
            if rid is not None and target is not None:
                # through the access filter: a hidden record shows as its bare id
                pk = target.model._meta.primary_key
                shown = crm.query(target.name, include_marked=True).where(pk == rid).first()
                row[name] = crm.display(target.name, shown) if shown is not None else RecordId(rid)
            else:
                row[name] = RecordId(rid) if rid is not None else None
        elif isinstance(field, pw.AutoField) or (field is not None and field.primary_key):
            value = getattr(record, name, None)
            row[name] = RecordId(value) if isinstance(value, int) else value
        else:
            value = getattr(record, name, None)
            if field is not None and field.choices and isinstance(value, str) and value:
                from .kernel.i18n import Choice
                value = Choice(value, f"{entity}.{name}")    # a table shows its label; JSON the code
            row[name] = value
    return row


@contextlib.contextmanager
def progress_bar(label, fmt="table"):
    """Show the progress that the work inside the block reports
    (``crmkit.report_progress``) as a bar on standard error, only when that
    is a terminal and the output is not ``--format json``: a pipe, a cron
    log or a JSON reader gets nothing. The bar is made at the first report,
    when the total is known; a ``label`` reported replaces the bar's.
    Yields the listener, for work that takes a callback instead."""
    from .kernel.progress import progress_to
    stream = sys.stderr._stream if isinstance(sys.stderr, TerminalSafe) else sys.stderr
    shown = fmt != "json" and stream.isatty()
    bar = None

    def listen(done, total=None, now=None):
        nonlocal bar
        if not shown or not total:
            return
        if bar is None or bar.length != total:
            if bar is not None:
                bar.render_finish()
            bar = click.progressbar(length=total, label=now or label, file=stream, show_pos=True,
                                    show_percent=True)
            from .cli_lang import translate_click
            translate_click()       # the bar's module is loaded by the first bar: its "d" of days too
            bar.__enter__()
        if now:
            bar.label = now
        bar.update(max(0, min(done, total) - bar.pos))

    with progress_to(listen):
        try:
            yield listen
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)


def parse_assignments(pairs) -> dict:
    """``("name=Дальстрой", "is_client=yes")`` -> dict; values stay strings
    and are coerced by the entity's schema."""
    data = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r}: expected field=value")
        key, value = pair.split("=", 1)
        data[key.strip()] = value
    return data


# -- commands that delete or replace data ------------------------------------

def holds_data(url) -> bool:
    """Does the database at ``url`` hold any row (beyond its migration records)?
    A SQLite file that does not exist holds nothing."""
    from .kernel import db as kdb
    if url.startswith("sqlite:///") and not os.path.exists(url.split(":///", 1)[1]):
        return False
    database = kdb.connect(url)
    try:
        tables = [t for t in database.get_tables() if not t.endswith("schema_migration")
                  and t != "kernel_sequence"]
        return any(database.execute_sql(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables)
    finally:
        database.close()


def require_administrator(state, url, what):
    """The acting user, looked up in the database at ``url``, must be an administrator."""
    from .kernel.crm import open as open_crm
    try:
        crm = open_crm(url, user=state.user, migrate=False, plugin_manager=state.plugin_manager,
                       create=False)
    except CrmError as exc:
        from .kernel.i18n import Message
        raise CrmError(Message("{what}: {error}", context="kernel.message", what=what,
                               error=exc.args[0] if len(exc.args) == 1 else str(exc))) from None
    try:
        if not crm.actor.is_admin:
            refuse("{what}: only an administrator may do this (user {login} is not one)", context="kernel.message",
                   what=what, login=repr(crm.actor.login))
    finally:
        crm.close()


def destructive(what, target):
    """Mark a command that deletes or replaces data, and guard it: only an
    administrator runs it, and a target that holds data is touched only with
    ``--yes``. ``target(state, **params)`` names what the command destroys
    as ``(database url, holds data?)``; the check runs before the command
    does anything. The command gets a ``--yes`` option if it has none;
    ``tests/adversarial/test_destructive_commands.py`` lists every guarded
    command and fails on a new one that deletes without this guard."""
    def decorate(command: click.Command) -> click.Command:
        if not any(p.name == "yes" for p in command.params):
            command.params.append(click.Option(["--yes"], is_flag=True,
                                               help=f"Confirm: {what} (needed when the target holds data)."))
            takes_yes = False
        else:
            takes_yes = True
        inner = command.callback

        @click.pass_context
        @functools.wraps(inner)
        def guarded(ctx, *args, **kwargs):
            yes = kwargs["yes"] if takes_yes else kwargs.pop("yes")
            state = ctx.find_object(State)
            url, full = target(state, **kwargs)
            if url is not None and full:  # an empty target loses nothing (and has no users to ask)
                from .cli_lang import command_domain
                from .kernel.i18n import Message
                said = Message(what, domain=command_domain(command))    # in the command's plugin's words
                require_administrator(state, url, said)
                if not yes:
                    refuse("{what}: the target holds data; add --yes to go on", context="kernel.message", what=said)
            return ctx.invoke(inner, *args, **kwargs)

        command.callback = guarded
        command.crmkit_destructive = what
        return command
    return decorate


def database_url(state) -> str:
    from .kernel.db import DEFAULT_URL
    return state.db or os.environ.get("CRMKIT_DATABASE_URL") or DEFAULT_URL


class LazyGroup(click.Group):
    """A plugin's command group, imported only when it is used: ``crmkit
    --help`` lists its name and help without importing the plugin's code."""

    def __init__(self, name, target, help):
        super().__init__(name=name, help=help, short_help=help)
        self.target = target
        self._real = None

    def load(self) -> click.Command:
        if self._real is None:
            import importlib
            module, _, attr = self.target.partition(":")
            self._real = adopt(getattr(importlib.import_module(module), attr))
        return self._real

    def make_context(self, info_name, args, parent=None, **extra):
        return self.load().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx):
        return self.load().list_commands(ctx)

    def get_command(self, ctx, name):
        return self.load().get_command(ctx, name)

    @property
    def commands(self):
        return self.load().commands

    @commands.setter
    def commands(self, value):  # click.Group.__init__ assigns it
        pass

    def get_help(self, ctx):
        return self.load().get_help(ctx)


def add_lazy_group(cli, name, target, help):
    """Add a plugin's click group by reference (``"crmkit_deals.commands:deals"``)."""
    cli.add_command(LazyGroup(name, target, help))


format_option = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                             show_default=True, help="Output format.")


class TerminalSafe:
    """A text stream that shows control characters as escapes
    (``terminal_safe``): whatever a command prints, a stored name cannot
    retitle, clear or rewrite the terminal. ``-o FILE`` writes data as it is."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        from .kernel.values import terminal_safe
        return self._stream.write(terminal_safe(text) if isinstance(text, str) else text)

    def __getattr__(self, name):
        if name == "buffer":  # click would write to the bytes below us
            raise AttributeError(name)
        return getattr(self._stream, name)


def _lang_of(ctx):
    from .cli_lang import LANG_KEY
    return ctx.meta.get(LANG_KEY) or os.environ.get("CRMKIT_LANG") or "en"


def _said(ctx):
    """An error's words in the operator's language (``translate_message``)."""
    lang = _lang_of(ctx)
    if lang == "en":
        return lambda text, context=None: text
    from .cli_lang import ensure_domains
    from .kernel.i18n import message_in
    ensure_domains(ctx)
    return lambda text, context=None: message_in(text, lang, context, domain="kernel")


class CrmGroup(click.Group):
    """Turns crmkit errors into clear messages and exit code 1; prints
    through ``TerminalSafe``; click's own words (usage errors, help) in the
    language the command line asks for."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from .cli_lang import lang_in_args, running, stopped
        args = list(sys.argv[1:] if args is None else args)
        # before --lang is parsed, and after its context is gone
        token = running(lang_in_args(args) or os.environ.get("CRMKIT_LANG"))
        try:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        finally:
            stopped(token)

    def invoke(self, ctx):
        if isinstance(sys.stdout, TerminalSafe):
            return self._invoke(ctx)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = TerminalSafe(sys.stdout), TerminalSafe(sys.stderr)
        try:
            return self._invoke(ctx)
        finally:
            sys.stdout, sys.stderr = saved

    def _invoke(self, ctx):
        from .kernel.zones import reset_showing, showing
        token = showing(None)       # set to the user's zone once the command opens the database
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            said = _said(ctx)
            click.echo(f"{said('error', 'kernel.message')}: {exc.describe(_lang_of(ctx))}", err=True)
            lang = _lang_of(ctx)
            for row, errs in list(exc.rows.items())[:20]:
                click.echo(f"  {said('row', 'kernel.message')} {row}: " + "; ".join(
                    f"{exc.field_said(f, lang)}: {', '.join(said(x, exc.entity) for x in m)}"
                    for f, m in errs.items()), err=True)
            if len(exc.rows) > 20:
                click.echo("  " + said(f"... and {len(exc.rows) - 20} more rows"), err=True)
            ctx.exit(1)
        except CrmError as exc:
            said = _said(ctx)
            click.echo(f"{said('error', 'kernel.message')}: {exc.said(_lang_of(ctx))}", err=True)
            ctx.exit(1)
        finally:
            reset_showing(token)


@click.group(cls=CrmGroup)
@click.option("--db", envvar="CRMKIT_DATABASE_URL", default=None,
              help="Database URL: sqlite:///file.db or postgresql://user@host/db [CRMKIT_DATABASE_URL].")
@click.option("--user", envvar="CRMKIT_USER", default=None, help="Acting user's login [CRMKIT_USER].")
@click.option("--lang", envvar="CRMKIT_LANG", default=None, is_eager=True, callback=set_lang,
              help="Language of output: en or ru [CRMKIT_LANG].")
@click.option("--create", is_flag=True,
              help="Create the SQLite database if it does not exist (otherwise a missing file is an error).")
@click.version_option(package_name="crmkit")
@click.pass_context
def cli(ctx, db, user, lang, create):
    """crmkit: customer relations and marketing, a kernel plus plugins."""
    ctx.obj = State(db, user, lang, getattr(ctx.find_root().command, "plugin_manager", None), create)


# -- set-up ---------------------------------------------------------------

@cli.command()
@click.pass_obj
def init(state):
    """Create the database and apply every plugin's migrations."""
    state.create = True
    crm = state.crm
    say(crm, "database ready: {plugins} plugins, {entities} entities", plugins=len(crm.plugins),
        entities=len(crm.registry.entities))


@cli.group("db")
def db_group():
    """Migrations and database maintenance."""


@db_group.command("migrate")
@pass_crm
def db_migrate(crm):
    """Apply pending migrations (open() also does)."""
    applied = crm.migrate()
    if not applied:
        say(crm, "up to date")
    for plugin, name in applied:
        say(crm, "applied {plugin}/{migration}", plugin=plugin, migration=name)


@db_group.command("status")
@format_option
@click.pass_obj
def db_status(state, fmt):
    """List every migration and when it was applied."""
    from .kernel import db as kdb
    from .kernel.crm import open as open_crm
    crm = open_crm(state.db, user=state.user, migrate=False, plugin_manager=state.plugin_manager,
                   create=state.create)
    emit(kdb.migration_status(crm.migration_units()), fmt, lang=_lang_of(click.get_current_context()),
         context="kernel.migrations")


@db_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@pass_crm
def db_backup(crm, target):
    """Write a consistent backup with its manifest inside, whole or not at all."""
    from .kernel.backup import backup
    manifest = backup(crm, target)
    say(crm, "backup written to {target}: {tables} tables, {rows} rows", target=target,
        tables=len(manifest["tables"]), rows=sum(manifest["tables"].values()))


def _whole_database(state, **params):
    url = database_url(state)
    return url, holds_data(url)


@destructive("restore replaces the whole database", _whole_database)
@db_group.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Confirm that the database is replaced.")
@click.pass_obj
def db_restore(state, source, yes):
    """Check a backup on a scratch copy, then replace the database with it."""
    from .kernel.backup import restore
    url = database_url(state)
    result = restore(url, source)
    say(None, "restored {tables} tables, {rows} rows, checked against the manifest",
        tables=result["tables"], rows=result["rows"])


@db_group.command("verify")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def db_verify(state, source):
    """Check a backup without restoring it: manifest, counts, users, schema."""
    from .kernel.backup import verify
    from .kernel.db import DEFAULT_URL
    url = state.db or os.environ.get("CRMKIT_DATABASE_URL") or DEFAULT_URL
    result = verify(url, source)
    import datetime as dt
    taken = result["taken_at"]
    with contextlib.suppress(TypeError, ValueError):
        taken = dt.datetime.fromisoformat(taken)       # shown in the user's zone, as every moment
    say(None, "{source}: a good {kind} backup of {taken_at}: {tables} tables, {rows} rows", source=source,
        kind=result["kind"], taken_at=taken,
        tables=result["tables"], rows=result["rows"])


@cli.command()
@format_option
@click.pass_obj
def plugins(state, fmt):
    """List plugins: name, version, requirements and hooks."""
    from .kernel.plugins import make_plugin_manager
    pm, loaded = state.plugin_manager or make_plugin_manager()
    rows = []
    for p in loaded:
        hooks = sorted(h.name for h in pm.get_hookcallers(pm.get_plugin(p.name)) or [])
        rows.append({"name": p.name, "version": p.version, "requires": ",".join(p.meta.requires),
                     "hooks": ",".join(h.removeprefix("crmkit_") for h in hooks)})
    emit(rows, fmt, lang=_lang_of(click.get_current_context()), context="kernel.plugins")


def _demo_target(state, fresh, **params):
    from .kernel.demo import DEMO_URL
    url = state.db or os.environ.get("CRMKIT_DATABASE_URL") or DEMO_URL
    if not (fresh and url.startswith("sqlite:///")):
        return None, False  # --keep, or PostgreSQL: the demo only adds to an empty database
    return url, holds_data(url)


@destructive("demo --fresh deletes the database file", _demo_target)
@cli.command()
@click.option("--book", "book_dir", default="report-book", show_default=True,
              help="Folder for the HTML report book.")
@click.option("--fresh/--keep", default=True, help="Start from an empty database (SQLite file only).")
@click.pass_obj
def demo(state, book_dir, fresh):
    """Load the demo base of the 1C presentation and write the report book."""
    from .kernel import demo as kdemo
    kdemo.run(state, book_dir, fresh)


# -- generic verbs for every entity ---------------------------------------

def _field_in(row, entity, lang):
    """A field's row of ``entities ENTITY`` for a person reading ``lang``: its
    label beside the name typed, each choice code with its label."""
    from .kernel.i18n import choice_label, translate

    def with_label(code):
        label = choice_label(str(code), lang, f"{entity}.{row['field']}")
        return str(code) if label in (code, str(code).replace("_", " ")) else f"{code} ({label})"
    out = {"field": row["field"], "label": translate(row["field"], lang, context=entity), **row}
    if row["choices"]:
        out["choices"] = ", ".join(with_label(c) for c in row["choices"].split(", "))
        if isinstance(row["default"], str) and row["default"] in row["choices"].split(", "):
            out["default"] = with_label(row["default"])
    return out


@cli.command("entities")
@click.argument("entity", required=False)
@format_option
@pass_crm
def entities(crm, entity, fmt):
    """List the registered entities; with ENTITY, its fields: type, required,
    default, choices, reference target and how to name it, read-only, lookup
    (what an import file or a create/update may hold)."""
    if entity:
        from .kernel.references import describe_fields
        rows = describe_fields(crm, crm.registry.entity(entity))
        if fmt != "json" and crm.lang != "en":
            rows = [_field_in(row, entity, crm.lang) for row in rows]
        emit(rows, fmt, lang=crm.lang, context="kernel.fields")
        return
    from .kernel.i18n import translate
    lang = crm.lang if fmt != "json" else "en"
    emit([{"entity": s.name, "label": translate(s.label, lang, context=s.name) if s.label else s.label,
           "subject": s.name in crm.registry.subject_types,
           "table": s.model._meta.table_name} for s in sorted(crm.registry.entities.values(), key=lambda s: s.name)],
         fmt, lang=crm.lang, context="kernel.entities")


@cli.command("list")
@click.argument("entity")
@click.option("--where", "filters", multiple=True, help="field=value or field__op=value (op: eq ne lt le gt ge contains startswith isnull).")
@click.option("--order-by", default=None, help="Field to sort by; prefix - for descending.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--all", "include_marked", is_flag=True, help="Include records marked for deletion.")
@format_option
@pass_crm
def list_records(crm, entity, filters, order_by, limit, include_marked, fmt):
    """List the visible records of ENTITY (e.g. core.partner)."""
    spec = crm.registry.entity(entity)
    raw = parse_assignments(filters)
    typed = _typed_filters(crm, spec, raw)
    records = crm.find(entity, order_by=order_by, limit=limit + 1 if limit else limit,
                       include_marked=include_marked, **typed)
    more = bool(limit) and len(records) > limit
    records = records[:limit] if limit else records
    rows = [record_row(crm, entity, r) for r in records]
    from .kernel import attributes
    used = [n for n in attributes.definitions(crm, entity)   # the attributes the list filters or sorts by
            if any(k.partition("__")[0] == n for k in raw) or n in str(order_by or "").replace("-", "").split(",")]
    if used and records:
        stored = crm.attribute_values(entity, [r.get_id() for r in records])
        for record, row in zip(records, rows):
            shown = attributes.shown(crm, entity, stored.get(record.get_id(), {}))
            row.update({n: shown.get(n) for n in used})
    emit(rows, fmt, lang=crm.lang, context=entity)
    if more:   # on standard error: a JSON reader still gets a clean document
        say(crm, "stopped at {limit} records; there are more: --limit {bigger}, --where to narrow, "
            "or crmkit export", err=True, limit=limit, bigger=limit * 10)


def _records_in(path):
    """About how many records a file holds (its lines, less a CSV's header),
    for the import's progress bar; None for a JSON array. One quick pass."""
    import gzip
    name = str(path).removesuffix(".gz")
    if name.endswith(".json"):
        return None
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            lines, last = 0, b"\n"
            while block := fh.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return None
    lines += last != b"\n"
    return max(0, lines - (0 if name.endswith((".jsonl", ".ndjson")) else 1)) or None


def _record_named(crm, entity, key):
    """The visible record ``key`` names: an id or code (``crm.get``), else a
    natural key or a name only one visible record has; several are listed."""
    from .kernel.errors import NotFound
    from .kernel.references import resolve
    try:
        return crm.get(entity, key)
    except NotFound:
        spec = crm.registry.entity(entity)
        found, ambiguous = resolve(crm, spec, [str(key).strip()])
        if str(key).strip() in found:
            return crm.get(entity, found[str(key).strip()])
        if str(key).strip() in ambiguous:
            named = [crm.get(entity, rid) for rid in ambiguous[str(key).strip()][:20]]
            lines = [f"  {r.get_id()}" + (f"  {getattr(r, spec.lookup)}" if spec.lookup else "")
                     + f"  {crm.display(entity, r)}" for r in named]
            refuse("{key} names several {entity} records; give one's id or code:\n{records}",
                   key=repr(key), entity=entity, records="\n".join(lines))
        raise


def _typed_filters(crm, spec, raw):
    return crm.parse_filters(spec.name, raw)


@cli.command("show")
@click.argument("entity")
@click.argument("key")
@format_option
@pass_crm
def show(crm, entity, key, fmt):
    """Show one record of ENTITY by id, code or name (a name several records share lists them)."""
    show_record(crm, entity, _record_named(crm, entity, key), fmt)


def show_record(crm, entity, record, fmt="table"):
    """Print one record: every field, then its additional attributes, one a line."""
    spec = crm.registry.entity(entity)
    row = record_row(crm, entity, record, list(spec.model._meta.fields))
    from .kernel import attributes
    extra = attributes.shown(crm, entity, crm.attribute_values(entity, [record.get_id()]).get(record.get_id(), {}))
    labels = {name: attributes.label_of(a, crm.lang) for name, a in attributes.definitions(crm, entity).items()}
    if fmt == "json":
        emit([{**row, **extra}], "json")
    else:
        from .kernel.i18n import format_value, translate
        for k, v in row.items():
            click.echo(f"{translate(k, crm.lang, context=entity):>20}: {format_value(v, crm.lang)}")
        for k, v in extra.items():   # additional attributes, under their own labels
            click.echo(f"{labels[k]:>20}: {format_value(v, crm.lang)}")


@cli.command("create")
@click.argument("entity")
@click.argument("values", nargs=-1)
@pass_crm
def create(crm, entity, values):
    """Create a record: crmkit create core.partner name=Протон kind=company head=00-00000035

    References take an id, a code or a natural key (login, name): see crmkit entities ENTITY."""
    data = parse_assignments(values)
    looks_like = crm.duplicates(entity, data) if crm.registry.rules_of(entity) else []
    record = crm.create(entity, data)
    say(crm, "created {entity} {id}", entity=entity, id=record.get_id())
    from .kernel.i18n import Message
    for hit in looks_like[:5]:
        say(crm, "warning: looks like {record} (id {id}, {rule}, {score}); see crmkit duplicates find {entity}",
            err=True, record=crm.display(entity, crm.get(entity, hit["id"])), id=hit["id"],
            rule=Message(hit["label"], context=entity), score=f"{hit['score']:.0f}", entity=entity)


@cli.command("update")
@click.argument("entity")
@click.argument("key")
@click.argument("values", nargs=-1)
@pass_crm
def update(crm, entity, key, values):
    """Change fields of a record: crmkit update core.partner 00-00000036 region=Москва

    References take an id, a code or a natural key (login, name), as in create."""
    record = crm.update(entity, key, parse_assignments(values))
    say(crm, "updated {entity} {id}", entity=entity, id=record.get_id())


@cli.command("mark-deleted")
@click.argument("entity")
@click.argument("key")
@click.option("--undo", is_flag=True, help="Clear the deletion mark.")
@pass_crm
def mark_deleted(crm, entity, key, undo):
    """Mark a record for deletion (or clear the mark)."""
    record = crm.mark_deleted(entity, key, not undo)
    say(crm, "unmarked {entity} {id}" if undo else "marked {entity} {id}", entity=entity, id=record.get_id())


@cli.command("delete")
@click.argument("entity")
@click.argument("key")
@pass_crm
def delete(crm, entity, key):
    """Delete a record marked for deletion."""
    record = crm.delete(entity, key)
    say(crm, "deleted {entity} {id}", entity=entity, id=record.get_id())


@cli.command("history")
@click.argument("entity")
@click.argument("key")
@format_option
@pass_crm
def history(crm, entity, key, fmt):
    """The change history of a record."""
    from .kernel.i18n import Choice, translate
    fields = crm.registry.entity(entity).model._meta.fields

    def value(field, text):         # as the record shows it: a choice by its label, a reference by name ...
        if isinstance(text, str) and text.startswith("{") and field in (None, "", "_"):
            return _changed_fields(crm, entity, text)
        return _history_value(crm, entity, fields.get(field), text)
    json_out = fmt == "json"
    emit([{"at": c.at, "user": c.user, "action": c.action if json_out else Choice(c.action, "kernel.history"),
           "field": c.field if json_out or not c.field or c.field == "_" else translate(c.field, crm.lang, context=entity),
           "old": c.old if json_out else value(c.field, c.old), "new": c.new if json_out else value(c.field, c.new)}
          for c in crm.history(entity, key)], fmt, lang=crm.lang, context="kernel.history")


def _history_value(crm, entity, field, text):
    """A value the history stored as text, as a person reads it: a choice by
    its label, a reference by the record's name (through the access filter;
    a hidden one as its id), a date or moment in the user's format and zone."""
    import datetime as dt
    import decimal

    import peewee as pw

    from .kernel.i18n import Choice
    if text in (None, "") or field is None:
        return text
    if field.choices:
        return Choice(str(text), f"{entity}.{field.name}")
    try:
        if isinstance(field, pw.ForeignKeyField):
            target = crm.registry.spec_of_model(field.rel_model)
            rid = int(text)
            if target is None:
                return RecordId(rid)
            found = crm.query(target.name, include_marked=True).where(target.model._meta.primary_key == rid).first()
            return crm.display(target.name, found) if found is not None else RecordId(rid)
        if isinstance(field, pw.DateTimeField):
            moment = dt.datetime.fromisoformat(str(text))
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
        if isinstance(field, pw.DateField):
            return dt.date.fromisoformat(str(text)[:10])
        if isinstance(field, pw.DecimalField):
            return decimal.Decimal(str(text))
        if isinstance(field, pw.BooleanField) and str(text).lower() in ("true", "false", "1", "0"):
            return str(text).lower() in ("true", "1")
    except (ValueError, TypeError, decimal.InvalidOperation):
        return text
    return text


def _changed_fields(crm, entity, text):
    """A record's fields as the history stored them (a creation's JSON), one
    "label: value" after the other; a JSON that is no record's fields as it is."""
    from .kernel.i18n import format_value, translate
    try:
        data = json.loads(text)
    except ValueError:
        return text
    fields = crm.registry.entity(entity).model._meta.fields
    if not isinstance(data, dict) or not set(data) <= set(fields):
        return text
    lang = crm.lang
    return "; ".join(f"{translate(k, lang, context=entity)}: "
                     f"{format_value(_history_value(crm, entity, fields[k], v), lang)}"
                     for k, v in data.items() if v not in (None, "") and k not in ("created_at", "changed_at"))


@cli.command("import")
@click.argument("entity")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows; put the others in a reject file.")
@click.option("--rejects", "reject_file", default=None,
              help="Reject file (default: NAME.rejects.csv in the current directory).")
@click.option("--map", "maps", multiple=True, help="Column=field, repeatable or comma-separated.")
@click.option("--map-file", type=click.Path(exists=True, dir_okay=False), help="JSON {column: field}.")
@click.option("--encoding", default=None, help="File encoding (detected: utf-8 or cp1251).")
@click.option("--delimiter", default=None, help="CSV delimiter (detected).")
@click.option("--option", "options", multiple=True, help="name=value for the entity's importer.")
@click.option("--ignore", "ignored", multiple=True, help="Columns to leave out, comma-separated (after --map).")
@click.option("--mode", type=click.Choice(["insert", "update", "upsert"]), default="insert", show_default=True,
              help="insert new rows; update stored ones (found by --key); upsert: update those found, insert the rest.")
@click.option("--key", default=None, help="Unique column that finds the stored rows (default: the entity's code).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_crm
def import_cmd(crm, entity, path, dry_run, skip_invalid, reject_file, maps, map_file, encoding,
               delimiter, options, ignored, mode, key, fmt):
    """Import a CSV or JSON file into ENTITY, all or nothing by default.

    A second import of a file updates instead of failing on "already used"
    with --mode upsert (update the rows found, insert the others) or
    --mode update (every row must be found). Rows are found by the entity's
    code, or by the unique column --key names (id, login, ...), among the
    records you may see: one you may not see is "not found"."""
    mapping = {}
    if map_file:
        mapping.update(json.loads(open(map_file, encoding="utf-8").read()))
    for item in maps:
        mapping.update(parse_assignments(item.split(",")))
    if skip_invalid and not reject_file:
        reject_file = os.path.basename(path) + ".rejects.csv"
    from .kernel.i18n import Message
    with progress_bar(Message("importing {entity}", entity=entity).said(crm.lang), fmt) as listen:
        stream = sys.stderr._stream if isinstance(sys.stderr, TerminalSafe) else sys.stderr
        total = _records_in(path) if fmt != "json" and stream.isatty() else None   # a bar only on a terminal

        def progress(done):
            listen(done, total)
        try:
            summary = crm.import_file(entity, path, encoding=encoding, delimiter=delimiter, mapping=mapping,
                                      dry_run=dry_run, skip_invalid=skip_invalid, reject_file=reject_file,
                                      progress=progress, options=parse_assignments(options),
                                      mode=mode, key=key, ignore=[c.strip() for item in ignored for c in item.split(",") if c.strip()])
        except ValidationError as exc:
            if fmt != "json":
                raise
            # a script reading --format json gets the refusal as JSON too: what is wrong, row by row
            click.echo(json.dumps({"entity": entity, "written": 0, "refused": True, "problems": exc.errors,
                                   "errors": {str(k): v for k, v in exc.rows.items()}},
                                  ensure_ascii=False, default=str, indent=2))
            sys.exit(1)
    if fmt == "json":
        click.echo(json.dumps(summary, ensure_ascii=False, default=str, indent=2))
        return
    if mode == "insert":
        read = Message("{rows} rows read, {written} written, {rejected} rejected", rows=summary["rows"],
                       written=summary["written"], rejected=summary["rejected"])
        say(crm, [read, Message(" (dry run: nothing written)")] if dry_run else read)
    else:
        say(crm, "{rows} rows read, {inserted} inserted, {updated} updated, {unchanged} unchanged, {rejected} rejected",
            rows=summary["rows"], inserted=summary["inserted"], updated=summary["updated"],
            unchanged=summary["unchanged"], rejected=summary["rejected"])
        if dry_run:
            say(crm, "dry run, nothing written: {matched} stored rows found by {key}",
                matched=summary["matched"], key=summary["key"])
    for note, rows in summary.get("defaults", {}).items():      # the entity's plugin's words (deals' start_date)
        say(crm, "default applied: {note} ({rows} rows)", note=Message(note, context=entity), rows=rows)
    if summary["rejected"] and reject_file:
        say(crm, "rejected rows with reasons: {file}", file=reject_file)
    _say_import_duplicates(crm, entity, summary.get("duplicates"))


def _say_import_duplicates(crm, entity, looks_like):
    """The warn-mode candidates an import brought (``duplicates.check_import``);
    a rule by its label in the words of the entity's plugin."""
    from .kernel.i18n import Message
    if not looks_like:
        return
    if not looks_like["checked"]:
        say(crm, "duplicates not checked (a large file): see crmkit duplicates find {entity}", err=True, entity=entity)
        return
    for hit in looks_like["shown"]:
        say(crm, "warning: row {row} looks like {like} ({rule}, {score})", err=True, row=hit["row"],
            like=hit["like"], rule=Message(hit["rule"], context=entity), score=hit["score"])
    if looks_like["pairs"] > len(looks_like["shown"]):
        say(crm, "... and {n} more: see crmkit duplicates find {entity}", err=True,
            n=looks_like["pairs"] - len(looks_like["shown"]), entity=entity)


@cli.command("export")
@click.argument("entity")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", default=None, help="File to write (default: standard output).")
@click.option("--where", "filters", multiple=True, help="field=value filters.")
@pass_crm
def export_cmd(crm, entity, fmt, output, filters):
    """Export the visible records of ENTITY."""
    spec = crm.registry.entity(entity)
    text = crm.export(entity, fmt, output, **_typed_filters(crm, spec, parse_assignments(filters)))
    if not output:      # CSV's CRLF line ends as the stream's own (a lone CR is still shown as an escape)
        click.echo(text.replace("\r\n", "\n"), nl=False)


@cli.group("report")
def report_group():
    """List and run reports."""


@report_group.command("list")
@format_option
@pass_crm
def report_list(crm, fmt):
    """Reports the acting user may run."""
    from .kernel.i18n import translate
    from .kernel.report_pages import label
    lang = crm.lang if fmt != "json" else "en"       # JSON keeps ids and parameter names

    def param(spec, name):      # by its label (as the report's page says it), beside the name -p takes
        said = label(spec, name, lang) if lang != "en" else name
        said = ": ".join(said) if isinstance(said, tuple) else said
        return name if said == name else f"{said} ({name})"
    emit([{"id": s.id, "title": translate(s.title, crm.lang, context=s.id),
           "params": ", ".join(param(s, p) for p in s.schema)}
          for s in sorted(crm.registry.reports.values(), key=lambda s: s.id)
          if crm.can("read", s.id)], fmt, lang=crm.lang, context="kernel.report_list")


@report_group.command("run")
@click.argument("report_id")
@click.option("-p", "--param", "params", multiple=True, help="key=value, repeatable.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "xlsx", "html"]),
              default="table", show_default=True)
@click.option("-o", "--output", default=None, help="File to write (required for xlsx).")
@pass_crm
def report_run(crm, report_id, params, fmt, output):
    """Run a report: crmkit report run deals.funnel -p date_from=2015-01-01"""
    from .kernel.reports import export_params
    spec = crm.registry.report(report_id)
    result = crm.report(report_id, **export_params(spec, parse_assignments(params), fmt))
    content = result.render(fmt)
    if output:
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(output, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(content)
        say(crm, "written {file}", file=output)
    elif isinstance(content, bytes):
        from .kernel.i18n import Message
        raise click.UsageError(Message("xlsx needs -o FILE", domain="kernel").said(crm.lang))
    else:
        click.echo(content, nl=False)


def build_cli(only=None):
    """The root group with every plugin's commands added (or those of ``only``)."""
    from .kernel.plugins import make_plugin_manager
    pm, loaded = make_plugin_manager(only=only)
    cli.plugin_manager = (pm, loaded)   # its plugins' translation domains are declared when help is translated
    if "duplicates" not in cli.commands:
        add_lazy_group(cli, "duplicates", "crmkit.duplicates_cli:duplicates",
                       "Duplicate records: candidate groups, checks, merge.")
    if "act" not in cli.commands:
        from .actions_cli import act
        cli.add_command(act)
    if "attributes" not in cli.commands:
        add_lazy_group(cli, "attributes", "crmkit.attributes_cli:attributes",
                       "Additional attributes: typed fields added to an entity without code.")
    pm.hook.crmkit_register_commands(cli=cli)
    return adopt(cli)


def main():
    try:
        root = build_cli()
    except CrmError as exc:
        lang = os.environ.get("CRMKIT_LANG") or "en"
        lang = lang if lang in ("en", "ru") else "en"
        from .kernel.i18n import translate
        click.echo(f"{translate('error', lang, context='kernel.message', domain='kernel')}: {exc.said(lang)}", err=True)
        sys.exit(2)
    root(prog_name="crmkit")


if __name__ == "__main__":
    main()
