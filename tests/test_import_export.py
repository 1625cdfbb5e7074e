"""Bulk import: all or nothing, reject files, bad files; export."""
import json

import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins()

HEADER = "code,name,kind,is_client,registered_on\n"


def write(tmp_path, text, name="p.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_good_file_imports_with_codes(crm, tmp_path):
    path = write(tmp_path, HEADER + ",Протон,company,yes,2015-01-15\nX-1,Альтаир,company,no,20.01.2015\n")
    summary = crm.import_file("core.partner", path)
    assert (summary["written"], summary["rejected"]) == (2, 0)
    names = {p.name: p for p in crm.find("core.partner")}
    assert names["Протон"].code == "00-00000001" and names["Альтаир"].code == "X-1"
    assert str(names["Альтаир"].registered_on) == "2015-01-20"
    assert crm.create("core.partner", {"name": "next"}).code == "00-00000002"


def test_one_bad_row_writes_nothing(crm, tmp_path):
    path = write(tmp_path, HEADER + ",Good,company,yes,2015-01-01\n,,alien,maybe,yesterday\n")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path)
    assert set(exc.value.rows[2]) == {"name", "kind", "is_client", "registered_on"}
    assert crm.count("core.partner", include_marked=True) == 0


def test_skip_invalid_writes_reject_file(crm, tmp_path):
    path = write(tmp_path, HEADER + ",Good,company,yes,\nDUP,A,company,yes,\nDUP,B,company,yes,\n")
    rejects = tmp_path / "rejects.csv"
    summary = crm.import_file("core.partner", path, skip_invalid=True, reject_file=rejects)
    assert (summary["written"], summary["rejected"]) == (2, 1)
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("row,reason") and "already used" in lines[1] and lines[1].startswith("3,")


def test_dry_run_writes_nothing(crm, tmp_path):
    path = write(tmp_path, HEADER + ",Good,company,yes,\n")
    assert crm.import_file("core.partner", path, dry_run=True)["valid"] == 1
    assert crm.count("core.partner") == 0


def test_references_by_code_must_be_visible(crm, tmp_path, open_crm):
    head = crm.create("core.partner", {"name": "Дальстрой", "code": "00-00000035"})
    path = write(tmp_path, "name,head\nДальстрой 2,00-00000035\nСирота,00-99999999\n")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path)
    assert exc.value.rows == {2: {"head": ["'00-99999999' does not exist"]}}
    path = write(tmp_path, "name,head\nДальстрой 2,00-00000035\n")
    crm.import_file("core.partner", path)
    assert crm.get("core.partner", "00-00000036").head_id == head.id


def test_cp1251_semicolon_file_from_1c(crm, tmp_path):
    path = write(tmp_path, "name;kind\nТорговый дом \"Сигма\";company\n", encoding="cp1251")
    assert crm.import_file("core.partner", path)["written"] == 1
    assert crm.find("core.partner")[0].name == 'Торговый дом "Сигма"'


@pytest.mark.parametrize("content, fragment", [
    (b"", "empty"),
    (b"\x00\x01\x02binary\x00", "binary"),
    ("nom,genre\nx,y\n", "unknown field"),
    ("kind\ncompany\n", "required"),
    ('[{"name": 1}', "invalid JSON"),
])
def test_bad_files(crm, tmp_path, content, fragment):
    name = "bad.json" if isinstance(content, str) and content.startswith("[") else "bad.csv"
    path = write(tmp_path, content, name)
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path)
    assert fragment in str(exc.value)
    assert crm.count("core.partner", include_marked=True) == 0


def test_huge_field_refused(crm, tmp_path):
    path = write(tmp_path, "name\n" + "x" * 300 + "\n")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path)
    assert "max length" in str(exc.value.rows)


def test_json_import_and_export(crm, tmp_path):
    path = write(tmp_path, json.dumps([{"name": "=HYPERLINK(1)", "kind": "company"}]), "p.json")
    crm.import_file("core.partner", path)
    csv_text = crm.export("core.partner", "csv")
    assert "'=HYPERLINK(1)" in csv_text
    assert json.loads(crm.export("core.partner", "json"))[0]["name"] == "=HYPERLINK(1)"


def test_cli_import(crm, cli, tmp_path):
    path = write(tmp_path, "Наименование,Вид\nПротон,company\n")
    out = cli("import", "core.partner", path, "--map", "Наименование=name,Вид=kind", "--dry-run")
    assert out.exit_code == 0 and "1 rows read, 0 written" in out.output
    bad = write(tmp_path, "name,kind\nA,alien\n", "bad.csv")
    out = cli("import", "core.partner", bad)
    assert out.exit_code == 1 and "row 1" in out.output and "kind" in out.output
    out = cli("import", "core.partner", path, "--map", "Наименование=name,Вид=kind", "--format", "json")
    assert json.loads(out.output[out.output.index("{"):])["written"] == 1


def test_export_to_standard_output_is_a_csv_file(crm, cli):
    """``crmkit export ENTITY > file.csv``: the CSV's line ends are lines,
    not the escaped carriage return the terminal guard shows for a stray one."""
    import csv
    import io
    crm.create("core.partner", {"name": "Протон"})
    out = cli("export", "core.partner").output
    assert "\\u000d" not in out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["Протон"]
