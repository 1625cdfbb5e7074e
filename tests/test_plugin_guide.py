"""The plugin guide and docs/example_plugin follow their own advice
(issue 20, "The plugin guide"): no model imported at the top of a hooks.py,
business records on RecordModel, a frozen migration copy that holds every
column of the live model, and the guide says how to install a plugin."""
import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "example_plugin" / "crmkit_visits"
GUIDE = (ROOT / "docs" / "plugin-guide.md").read_text(encoding="utf-8")


def module_level_imports(source):
    """The modules imported at the top level of ``source`` (not in functions)."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
            names += ["." * node.level + (node.module + "." if node.module else "") + a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def models_imported(names):
    return [n for n in names if n.endswith(".models") or n == ".models" or n.startswith(".models")
            or n.endswith("crmkit.core.models")]


def test_the_guides_hooks_example_imports_models_inside_hooks():
    [hooks] = [b for b in re.findall(r"```python\n(.*?)```", GUIDE, re.S) if "crmkit_register_entities" in b]
    assert models_imported(module_level_imports(hooks)) == []
    assert "from . import models as m" in hooks      # ... inside the hook


def test_the_example_plugins_hooks_import_no_models_at_the_top():
    source = (EXAMPLE / "hooks.py").read_text(encoding="utf-8")
    assert models_imported(module_level_imports(source)) == []
    assert "click" not in module_level_imports(source)   # the command group is a lazy one


def test_the_example_plugin_imports_no_models_or_peewee_when_its_hooks_load(tmp_path):
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(EXAMPLE.parent)!r})
        import crmkit_visits.hooks
        print(sorted(m for m in sys.modules if m in ("crmkit_visits.models", "peewee", "click")
                     or m.startswith("crmkit.core.models")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_example_record_is_a_record_model():
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import crmkit
        from crmkit_visits import models
        assert issubclass(models.Visit, crmkit.RecordModel)
        [visit] = [n for n in ast.parse((EXAMPLE / "models.py").read_text(encoding="utf-8")).body
                   if isinstance(n, ast.ClassDef) and n.name == "Visit"]
        written = {t.id for n in visit.body if isinstance(n, ast.Assign) for t in n.targets
                   if isinstance(t, ast.Name)}
        assert written & {"deletion_mark", "created_at", "changed_at"} == set()   # RecordModel brings them
        assert {"deletion_mark", "created_at", "changed_at"} <= set(models.Visit._meta.fields)
    finally:
        sys.path.remove(str(EXAMPLE.parent))


def test_the_frozen_migration_copy_holds_every_column_of_the_model(tmp_path):
    """Migrate the example alone and compare the table with the live model.
    The example is found as an installed plugin is, by its entry point: a
    dist-info of its own here (not what another test's pip run left)."""
    info = tmp_path / "crmkit_visits-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crmkit-visits\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[crmkit]\nvisits = crmkit_visits\n")
    code = textwrap.dedent(f"""
        import sys; sys.path[:0] = [{str(EXAMPLE.parent)!r}, {str(tmp_path)!r}]
        import crmkit
        crm = crmkit.open("sqlite:///{tmp_path / 'v.db'}", plugins=["visits"])
        from crmkit_visits.models import Visit
        table = {{c.name for c in crm.db.get_columns("visits_visit")}}
        live = {{f.column_name for f in Visit._meta.sorted_fields}}
        print(sorted(live - table), sorted(table - live))
        v = crm.create("visits.visit", {{"partner": crm.create("core.partner", {{"name": "Протон"}}).id,
                                        "date": "2015-03-03"}})
        crm.mark_deleted("visits.visit", v.id)
        print(crm.get("visits.visit", v.id).deletion_mark, crm.find("visits.visit"))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "CRMKIT_DISABLE_PLUGINS": ""})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[] []", "True []"]


def test_the_guide_says_how_to_install_and_what_the_frozen_copy_needs():
    assert "## Installing a plugin" in GUIDE and "pip install" in GUIDE and "crmkit plugins" in GUIDE
    assert "## Migrations: the frozen copy" in GUIDE
    for needed in ("deletion_mark", "created_at", "column_name=", "never"):
        assert needed in GUIDE.split("## Migrations: the frozen copy")[1].split("##")[0]
    assert "locale/ru.po" in GUIDE and "i18n" in GUIDE      # the pointer to the translation mechanism
