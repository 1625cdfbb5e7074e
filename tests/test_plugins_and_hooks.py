"""The plugin manager, and a test that every hook is called."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import crmkit
from crmkit import StartupError, ValidationError
from crmkit.kernel import hookspecs

from . import hookcheck

pytestmark = pytest.mark.plugins()
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def hc(open_crm):
    hookcheck.CALLS.clear()
    hookcheck.SENT.clear()
    crm = open_crm(extra=[hookcheck])
    hookcheck.Thing.create_table()  # a test plugin without migrations
    return crm


def called(name):
    return [kw for n, kw in hookcheck.CALLS if n == name]


def test_every_hook_spec_is_exercised_by_this_test_plugin():
    specs = {n for n in dir(hookspecs) if n.startswith("crmkit_")}
    implemented = {n for n in dir(hookcheck) if n.startswith("crmkit_")}
    assert specs == implemented


def test_registration_hooks_are_called(hc):
    for name in ("add_hookspecs", "register_entities", "register_subject_types", "register_reports",
                 "register_channels", "register_template_parameters", "register_roles",
                 "register_segment_fields"):
        assert called(name), name
    assert "hookcheck.thing" in hc.registry.subject_types
    assert hc.registry.roles["thing_keeper"] == {"hookcheck.*": "cdru"}
    assert hasattr(hc.pm.hook, "hookcheck_custom_event")


def test_validate_and_saved_events(hc):
    with pytest.raises(ValidationError) as exc:
        hc.create("hookcheck.thing", {"name": "forbidden"})
    assert exc.value.errors == {"name": ["is forbidden"]}
    thing = hc.create("hookcheck.thing", {"name": "ok"})
    hc.update("hookcheck.thing", thing.id, {"name": "renamed"})
    assert called("entity_saved") == [{"created": True, "changes": ["name"]},
                                      {"created": False, "changes": ["name"]}]
    assert hc.describe(("hookcheck.thing", thing.id)) == "Thing «renamed»"
    hc.delete("hookcheck.thing", thing.id)  # no deletion_mark column: deletable at once
    assert called("entity_deleted") == [{"id": thing.id}]


def test_a_failing_event_handler_undoes_the_write(hc):
    with pytest.raises(RuntimeError):
        hc.create("hookcheck.thing", {"name": "EXPLODE"})
    assert hc.count("hookcheck.thing") == 0


def test_import_hooks(hc, tmp_path):
    path = tmp_path / "things.csv"
    path.write_text("name\nalpha\nforbidden\nbeta\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        hc.import_file("hookcheck.thing", path, options={"upper": ""})
    assert exc.value.rows == {2: {"name": ["is forbidden"]}}
    assert hc.count("hookcheck.thing") == 0
    summary = hc.import_file("hookcheck.thing", path, skip_invalid=True, options={"upper": "1"})
    assert summary["written"] == 2
    assert sorted(t.name for t in hc.find("hookcheck.thing")) == ["ALPHA", "BETA"]
    assert called("prepare_import") and called("validate_frame")
    assert called("entity_imported") == [{"count": 2}]
    written = called("import_written")
    assert [w["names"] for w in written] == [["ALPHA", "BETA"]]
    assert written[0]["ids"] == sorted(t.id for t in hc.find("hookcheck.thing"))


def test_template_parameter_hook(hc):
    assert hc.render_template("Hello #ThingName#", {"thing": "<b>"}, html=True) == "Hello &lt;b&gt;"


def test_user_hook_and_roles(open_crm, hc):
    bot = open_crm(user="hookcheck-bot", extra=[hookcheck])
    assert called("load_user")
    bot.create("hookcheck.thing", {"name": "mine"})
    with pytest.raises(crmkit.AccessDenied):
        bot.create("core.partner", {"name": "not mine"})


def test_outbox_hooks(hc):
    hc.outbox.queue("pigeon", "skip-me", subject="s", text="t", key="a")
    hc.outbox.queue("pigeon", "loft-7", subject="s", text="t", key="b")
    counts = hc.outbox.deliver()
    assert counts == {"sent": 1, "retry": 0, "failed": 0, "skipped": 1}
    assert hookcheck.SENT == ["loft-7"]
    assert called("outbox_skip_reason") and called("outbox_delivered")


def test_demo_and_commands_hooks(db_url):
    from click.testing import CliRunner
    from crmkit.cli import cli
    from crmkit.kernel.plugins import make_plugin_manager
    pm, loaded = make_plugin_manager(only=[], extra=[hookcheck])
    cli.plugin_manager = (pm, loaded)
    pm.hook.crmkit_register_commands(cli=cli)
    result = CliRunner().invoke(cli, ["--db", db_url, "hookcheck", "ping"])
    assert result.output == "pong\n"
    crm = crmkit.open(db_url, plugin_manager=(pm, loaded))
    assert crm.call_in_order("crmkit_load_demo", crm=crm)[-1] == ["hookcheck.things"]
    cli.commands.pop("hookcheck")


def test_duplicate_names_fail_naming_both_plugins(tmp_path):
    import types
    dup = types.ModuleType("dup")
    dup.PLUGIN = crmkit.PluginMeta(name="dup", requires=("core",))

    @crmkit.hookimpl
    def crmkit_register_entities(register):
        register(crmkit.EntitySpec("hookcheck.thing", hookcheck.Thing))

    dup.crmkit_register_entities = crmkit_register_entities
    with pytest.raises(StartupError) as exc:
        crmkit.open(f"sqlite:///{tmp_path}/x.db", plugins=[], extra=[hookcheck, dup])
    assert "must be named dup." in str(exc.value)
    dup.PLUGIN = crmkit.PluginMeta(name="hookcheck2", requires=("core",))

    @crmkit.hookimpl
    def crmkit_register_reports(register):
        register(crmkit.ReportSpec("hookcheck.things", "again", lambda crm: None))

    del dup.crmkit_register_entities
    dup.crmkit_register_reports = crmkit_register_reports
    with pytest.raises(StartupError) as exc:
        crmkit.open(f"sqlite:///{tmp_path}/x.db", plugins=[], extra=[hookcheck, dup])
    assert "'hookcheck'" in str(exc.value) and "'hookcheck2'" in str(exc.value)


def test_missing_requirement_and_misspelled_hook(tmp_path):
    import types
    needy = types.ModuleType("needy")
    needy.PLUGIN = crmkit.PluginMeta(name="needy", requires=("nonexistent",))
    with pytest.raises(StartupError, match="requires 'nonexistent'"):
        crmkit.make_plugin_manager(only=[], extra=[needy])
    typo = types.ModuleType("typo")
    typo.PLUGIN = crmkit.PluginMeta(name="typo")

    @crmkit.hookimpl
    def crmkit_register_entitys(register):
        pass

    typo.crmkit_register_entitys = crmkit_register_entitys
    with pytest.raises(Exception, match="unknown hook"):
        crmkit.make_plugin_manager(only=[], extra=[typo])


def test_disable_plugins_env(monkeypatch):
    monkeypatch.setenv("CRMKIT_DISABLE_PLUGINS", "hookcheck,core")
    pm, loaded = crmkit.make_plugin_manager(only=[], extra=[])
    assert [p.name for p in loaded] == ["core"]  # core cannot be disabled


def test_example_third_party_plugin_installs_and_runs(tmp_path):
    """docs/example_plugin, installed with pip into a folder, found by its
    entry point, migrated, used from Python and from the CLI."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", str(target), str(ROOT / "docs" / "example_plugin")], check=True)
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(target)!r})
        import crmkit
        from click.testing import CliRunner
        from crmkit.cli import build_cli
        url = "sqlite:///{tmp_path}/visits.db"
        crm = crmkit.open(url, plugins=["visits"])
        p = crm.create("core.partner", {{"name": "Протон"}})
        v = crm.create("visits.visit", {{"partner": p.id, "date": "2015-03-03"}})
        try:
            crm.create("visits.visit", {{"partner": p.id, "date": "2015-03-04", "kilometres": 40}})
        except crmkit.ValidationError as exc:
            print("refused", exc.errors)
        out = CliRunner().invoke(build_cli(only=["visits"]),
                                 ["--db", url, "visits", "log", p.code, "2015-03-05", "--km", "12", "--note", "demo"])
        print(out.output.strip())
        print("|".join(crm.report("visits.by_partner").render("csv").splitlines()))
        print([pl.name for pl in crm.plugins])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "CRMKIT_DISABLE_PLUGINS": ""}).stdout.splitlines()
    assert out == ["refused {'note': ['say why you drove']}", "logged V-00000002",
                   "partner,visits,kilometres|Протон,2,12", "['core', 'visits']"]


def test_personal_data_hooks(hc):
    from crmkit.core.privacy import erase, export
    person = hc.create("core.partner", {"name": "Иванов И.И.", "kind": "individual"})
    assert export(hc, "core.partner", person.id)["hookcheck"] == [{"partner": person.id}]
    erase(hc, "core.partner", person.id)
    assert called("erase_personal_data") == [{"partner_id": person.id}]


def test_currency_rates_hook_is_asked_for_its_source(hc):
    import datetime as dt
    assert hc.act("core.load_rates", source="hookcheck", date="2024-01-10")["loaded"] == 1
    assert called("currency_rates") == [{"source": "hookcheck", "day": dt.date(2024, 1, 10), "content": None}]
    assert [(r.currency, r.source) for r in hc.find("core.currency_rate")] == [("USD", "hookcheck")]


def test_cli_starts_without_pandas_or_peewee():
    """Every installed plugin's hooks and command groups load lazily."""
    code = ("import sys; from crmkit.cli import build_cli; build_cli(); "
            "print(sorted({'pandas', 'peewee', 'importlib.metadata', 'email'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_duplicate_rules_and_merge_hooks_are_called(hc):
    a = hc.create("hookcheck.thing", {"name": "Twin"})
    b = hc.create("hookcheck.thing", {"name": "twin"})
    hc.reindex_duplicates("hookcheck.thing")
    assert [m["id"] for m in hc.duplicates("hookcheck.thing", {"name": "TWIN"}, exclude=b.id)] == [a.id]
    assert set(hc.duplicate_groups("hookcheck.thing")["id"]) == {a.id, b.id}
    hc.merge("hookcheck.thing", a.id, b.id)
    assert called("merge_records") == [{"entity": "hookcheck.thing", "survivor": a.id, "merged": b.id}]
    assert called("records_merged") == [{"entity": "hookcheck.thing", "survivor": a.id, "merged": b.id}]
    assert hc.get("hookcheck.thing", b.id).id == a.id     # the merged record resolves to the survivor

def test_entry_points_read_by_hand_match_importlib_metadata():
    """The plugin discovery reads entry_points.txt itself (importlib.metadata
    and its email parser cost a fifth of ``crmkit --help``): the same answer
    for every group installed here, and versions still come when asked."""
    from importlib.metadata import entry_points as reference
    from crmkit.kernel.plugins import entry_points, make_plugin_manager
    for group in ("crmkit", "console_scripts", "pytest11"):
        assert sorted(entry_points(group)) == sorted((ep.name, ep.value) for ep in reference(group=group))
    _, loaded = make_plugin_manager()
    from importlib.metadata import version
    core = next(p for p in loaded if p.name == "core")
    assert core.version == version("crmkit")


def test_calendar_entries_hook_adds_to_the_users_feed(hc):
    from crmkit.core.calendar import render
    hc.create("core.user", {"login": "cal", "name": "Cal", "roles": "manager"})
    text = render(hc.as_user("cal"))
    assert called("calendar_entries") == [{"login": "cal"}]
    assert "UID:hookcheck.thing-1@" in text and "SUMMARY:From hookcheck" in text


def test_backup_and_restore_carry_a_plugins_files(hc, tmp_path, db_url):
    """A backup asks for the files outside the database as of its snapshot
    and carries them checked; a restore gives them back before the data
    replaces the database's, then says the data is restored."""
    import tarfile
    from crmkit.kernel.backup import BackupError, backup, restore
    note = tmp_path / "note.txt"
    note.write_bytes(b"outside the database")
    hookcheck.BACKUP_FILE[:] = [note]
    try:
        hookcheck.Thing.create(name="one")
        target = tmp_path / "b.tar"
        manifest = backup(hc, target)
        assert called("backup_files") == [{"things": 1}]
        assert manifest["files"]["hookcheck/note.txt"]["bytes"] == len(b"outside the database")
        hookcheck.Thing.create(name="two")
        assert restore(db_url, target, pm=hc.pm)["files"] == 1
        assert called("restore_files") == [{"files": {"hookcheck/note.txt": b"outside the database"}}]
        assert called("database_restored") == [{"things": 1}]
        # a backup whose files no installed plugin takes is refused before the data is touched
        hookcheck.Thing.create(name="three")
        plain = crmkit.make_plugin_manager(only=["core"])[0]
        with pytest.raises(BackupError, match="holds files no installed plugin takes .*hookcheck/note.txt"):
            restore(db_url, target, pm=plain)
        assert hookcheck.Thing.select().count() == 2
        note.unlink()   # a file gone before the backup copies it fails the backup, the old one stays
        with pytest.raises(BackupError, match="went while the backup ran"):
            backup(hc, target)
        with tarfile.open(target) as tar:
            assert "files/hookcheck/note.txt" in tar.getnames()
    finally:
        hookcheck.BACKUP_FILE.clear()
