"""Commands that delete or replace data (issue 15 item 1).

Every such command carries the ``crmkit.cli.destructive`` guard: it refuses
a user who is not an administrator, and a target that holds data unless
``--yes`` is given, before it touches anything. The test walks the whole
CLI of every installed plugin:

- the guarded commands are exactly ``DESTRUCTIVE`` below;
- a command whose code or help speaks of deleting, removing, erasing,
  restoring, purging, dropping, truncating or replacing must be in
  ``DESTRUCTIVE`` or in ``RECORD_LEVEL`` (verbs on single records that the
  role grants and the deletion mark govern), so a new destructive command
  without the guard fails here until someone decides which it is;
- each guarded command, run by a manager and a readonly user and then by an
  administrator without ``--yes``, is refused and leaves the database as it
  was.
"""
from __future__ import annotations

import inspect
import re

import click
import pytest

from .conftest import INSTALLED, use

pytestmark = pytest.mark.plugins(*INSTALLED)

# command -> (the plugin that adds it, what it destroys)
DESTRUCTIVE = {
    "demo": ("core", "deletes the SQLite file and loads the demo (--fresh, the default)"),
    "db restore": ("core", "replaces the whole database with a backup"),
    "privacy erase": ("core", "anonymises a person in every plugin's data"),
    "attributes remove": ("core", "removes an additional attribute and every record's value of it"),
    "outbox purge": ("notify_email", "deletes sent messages"),
    "marketing mailing purge": ("marketing", "deletes the mailings' sent messages"),
}
# command -> (plugin, why it needs no guard: the role grants govern it, or it destroys nothing)
RECORD_LEVEL = {
    "delete": ("core", "one record, already marked for deletion (1C's two steps), by the role's d grant"),
    "mark-deleted": ("core", "sets or clears the deletion mark of one record; nothing is lost"),
    "segment remove": ("core", "takes members out of one segment, by the role's u grant on segments"),
    "segment compute": ("core", "re-computes the members of a rule-based segment from its rule"),
    "user revoke": ("core", "removes one membership of an access group; administrators only"),
    "deals kind remove-stage": ("deals", "one stage of one deal kind, by the role's d grant"),
    "analysis classify": ("analysis", "re-computes a classification from the sales: derived data"),
    "duplicates reindex": ("core", "rebuilds the derived duplicate-search index from the records"),
    "db verify": ("core", "checks a backup file without restoring it; the database is not touched"),
    "files remove": ("files", "one file, by the role's d grant (its content goes with its last file)"),
    "rates load": ("core", "updates the day's rates the provider gives again, through the write path and its "
                           "history, by the role's c/u grants on core.currency_rate; no row is deleted"),
}
WORDS = re.compile(r"(?<!\.)\b(delete[sd]?|deleting|remov(?:e|es|ed|ing|al)|eras\w*|restor\w*|purg\w*|"
                   r"drop\w*|truncat\w*|unlink\w*|wip(?:e|es|ed|ing)|replac\w*|overwrit\w*|fresh)\b"
                   r"|\.delete\(|\.delete_instance\(|os\.remove", re.IGNORECASE)  # not str.replace()


def _walk(group, ctx, prefix=()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from _walk(command, ctx, path)
        else:
            yield " ".join(path), command


def _commands():
    from crmkit.cli import build_cli
    root = build_cli(only=list(INSTALLED))
    ctx = click.Context(root)
    return dict(_walk(root, ctx))


COMMANDS = _commands()


def _source(command) -> str:
    fn = command.callback
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        text = ""
    return text + " " + (command.help or "")


def test_the_guarded_commands_are_the_declared_ones():
    guarded = {path for path, c in COMMANDS.items() if getattr(c, "crmkit_destructive", None)}
    expected = {path for path, (plugin, _) in DESTRUCTIVE.items() if plugin == "core" or plugin in INSTALLED}
    assert guarded == expected


def test_every_command_that_speaks_of_destroying_is_declared():
    undeclared = {}
    for path, command in COMMANDS.items():
        found = sorted({m.group(0).lower() for m in WORDS.finditer(_source(command))})
        if found and path not in DESTRUCTIVE and path not in RECORD_LEVEL:
            undeclared[path] = found
    assert not undeclared, ("commands that may delete or replace data: guard them with "
                            f"crmkit.cli.destructive or declare them in RECORD_LEVEL: {undeclared}")


def test_the_record_level_list_is_true():
    stale = [p for p, (plugin, _) in RECORD_LEVEL.items()
             if (plugin == "core" or plugin in INSTALLED) and p not in COMMANDS]
    assert not stale, stale


# -- behaviour ------------------------------------------------------------------

@pytest.fixture
def victim(crm, tmp_path):
    """A database holding data: partners, a person, a sent message; users
    ``mgr`` (manager) and ``ro`` (readonly); a backup of it."""
    crm.create("core.user", {"login": "mgr", "name": "Manager", "roles": "manager"})
    crm.create("core.user", {"login": "ro", "name": "Readonly", "roles": "readonly"})
    crm.define_attribute("core.partner", "tier", "string")
    crm.create("core.partner", {"name": "Протон", "tier": "gold"})
    person = crm.create("core.partner", {"name": "Алхимов А.А.", "kind": "individual"})
    from crmkit.kernel.models import OutboxMessage
    message = crm.outbox.queue("email", "a@b.example", subject="s", text="t", key="destructive-test")
    OutboxMessage.update(state="sent", sent_at=message.created_at).where(OutboxMessage.id == message.id).execute()
    from crmkit.kernel.backup import backup
    target = tmp_path / "backup.bin"
    backup(crm, target)
    return {"person": person.id, "backup": target}


def _args(path, victim, tmp_path):
    return {
        "demo": ["demo", "--book", str(tmp_path / "book")],
        "db restore": ["db", "restore", str(victim["backup"])],
        "privacy erase": ["privacy", "erase", "core.partner", str(victim["person"])],
        "attributes remove": ["attributes", "remove", "core.partner", "tier"],
        "outbox purge": ["outbox", "purge", "--days", "0"],
        "marketing mailing purge": ["marketing", "mailing", "purge"],
    }[path]


def _snapshot(crm):
    use(crm)
    db = crm.db
    tables = sorted(t for t in db.get_tables() if not t.endswith("schema_migration"))
    return {t: db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}, \
        sorted(p.name for p in crm.find("core.partner"))


GUARDED = [p for p in DESTRUCTIVE if p in COMMANDS]


@pytest.mark.parametrize("path", GUARDED)
def test_a_destructive_command_refuses_non_administrators_and_needs_yes(crm, victim, db_url, tmp_path, path):
    from .conftest import run_cli
    if path == "demo" and not db_url.startswith("sqlite"):
        pytest.skip("demo --fresh deletes a SQLite file only; on PostgreSQL it refuses a database with partners")
    before = _snapshot(crm)
    args = _args(path, victim, tmp_path)
    for user in ("mgr", "ro"):
        result = run_cli(crm, db_url, *args, "--yes", user=user)
        assert result.exit_code != 0, (path, user, result.output)
        assert "administrator" in result.output, (path, user, result.output)
        assert _snapshot(crm) == before, (path, user)
    result = run_cli(crm, db_url, *args)  # the built-in administrator, without --yes
    assert result.exit_code != 0 and "--yes" in result.output, (path, result.output)
    assert _snapshot(crm) == before, path


def test_an_administrator_with_yes_goes_on(crm, victim, db_url, tmp_path):
    """The guard lets the administrator through: erase and restore run."""
    from .conftest import run_cli
    result = run_cli(crm, db_url, *_args("privacy erase", victim, tmp_path), "--yes")
    assert result.exit_code == 0, result.output
    assert crm.get("core.partner", victim["person"]).name.startswith("[erased]")
    result = run_cli(crm, db_url, *_args("db restore", victim, tmp_path), "--yes")
    assert result.exit_code == 0, result.output
    use(crm)


@pytest.mark.sqlite_only
def test_demo_into_an_empty_file_needs_no_confirmation(crm, tmp_path):
    """Nothing to lose: an absent file is no target that holds data."""
    from crmkit.cli import holds_data
    assert holds_data(f"sqlite:///{tmp_path / 'absent.db'}") is False
    assert holds_data(f"sqlite:///{crm.db.database}") is False   # migrated, but empty
    crm.create("core.partner", {"name": "Протон"})
    assert holds_data(f"sqlite:///{crm.db.database}") is True
