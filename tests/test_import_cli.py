"""What a person writing an import file meets: the field reference, every
unknown column at once, --ignore, the reject file, JSON output, progress."""
import json
import os
import pty
import subprocess
import sys

import pytest

pytestmark = pytest.mark.plugins("core")


def test_entities_lists_every_field_and_how_to_give_it(crm, cli):
    rows = json.loads(cli("entities", "core.partner", "--format", "json").output)
    by_name = {r["field"]: r for r in rows}
    assert set(by_name) == set(crm.model("core.partner")._meta.fields)
    assert by_name["head"]["reference"] == "core.partner" and "code" in by_name["head"]["given_as"]
    assert "name" in by_name["region"]["given_as"]
    assert by_name["code"]["lookup"] and not by_name["name"]["lookup"]
    assert by_name["name"]["required"] and by_name["id"]["read_only"]
    assert "company" in by_name["kind"]["choices"]
    assert "head" in cli("entities", "core.partner").output


def test_every_unknown_column_at_once_and_ignore(crm, cli, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("name,colour,size,kind\nПротон,red,L,company\n", encoding="utf-8")
    out = cli("import", "core.partner", path)
    assert out.exit_code != 0 and "colour" in out.output and "size" in out.output
    assert crm.count("core.partner") == 0
    out = cli("import", "core.partner", path, "--ignore", "colour,size")
    assert out.exit_code == 0, out.output
    assert crm.count("core.partner") == 1


def test_reject_file_in_the_current_directory_with_the_source_columns(crm, cli, tmp_path, monkeypatch):
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    path = tmp_path / "p.csv"
    path.write_text("Название,kind\nПротон,company\nСатурн,nonsense\n", encoding="utf-8")
    out = cli("import", "core.partner", path, "--map", "Название=name", "--skip-invalid", "--format", "json")
    summary = json.loads(out.output)
    assert (summary["written"], summary["rejected"]) == (1, 1)
    assert summary["errors"]["2"]["kind"]
    rejects = (here / "p.csv.rejects.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "row,reason,name,kind"          # the file's columns after --map
    assert rejects[1].startswith("2,\"kind: unallowed value") and rejects[1].endswith(",Сатурн,nonsense")


def test_the_progress_bar_has_a_real_total_on_a_terminal_and_none_elsewhere(db_url, crm, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("name\n" + "".join(f"Партнёр {i}\n" for i in range(30)), encoding="utf-8")
    crmkit = [sys.executable, "-m", "crmkit.cli", "--db", db_url]
    env = {**os.environ, "CRMKIT_DISABLE_PLUGINS": ""}
    primary, secondary = pty.openpty()
    done = subprocess.run([*crmkit, "import", "core.partner", str(path)], stderr=secondary,
                          stdout=subprocess.PIPE, env=env, timeout=120)
    os.close(secondary)
    shown = b""
    while True:
        try:
            block = os.read(primary, 65536)
        except OSError:
            break
        if not block:
            break
        shown += block
    os.close(primary)
    assert done.returncode == 0
    assert b"30/30" in shown and b"/0" not in shown
    piped = subprocess.run([*crmkit, "import", "core.partner", str(path), "--dry-run"], capture_output=True,
                           env=env, timeout=120)
    assert piped.returncode == 0 and b"importing" not in piped.stderr


def test_a_refused_import_in_json_is_json(crm, cli, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("name,kind\nПротон,company\nСатурн,nonsense\n", encoding="utf-8")
    out = cli("import", "core.partner", path, "--format", "json")
    assert out.exit_code == 1
    doc = json.loads(out.output)
    assert doc["refused"] and doc["written"] == 0 and list(doc["errors"]) == ["2"]
    assert "kind" in doc["errors"]["2"] and "nothing was imported" in doc["problems"]["rows"][0]
    assert crm.count("core.partner") == 0
