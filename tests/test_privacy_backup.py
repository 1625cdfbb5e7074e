"""Personal-data erasure and export; backup and restore."""
import json

import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins()


@pytest.fixture
def person(crm):
    p = crm.create("core.partner", {"name": "Алхимов А.А.", "kind": "individual", "birth_date": "1970-05-04",
                                    "gender": "male", "comment": "любит звонки"})
    crm.create("core.contact_info", {"partner": p.id, "kind": "email", "value": "alkhimov@mail.example"})
    crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-05-04",
                                    "partner": p.id, "topic": "Претензия", "text": "Жалоба на товар"})
    crm.create("core.note", {"title": "Алхимов", "text": "личное", "partner": p.id})
    return p


def test_export_then_erase(crm, person):
    data = crm  # noqa: F841
    from crmkit.core.privacy import erase, export
    doc = export(crm, "core.partner", person.id)
    assert doc["partner"][0]["name"] == "Алхимов А.А."
    assert doc["contact_info"][0]["value"] == "alkhimov@mail.example"
    assert doc["interactions"][0]["text"] == "Жалоба на товар"
    erase(crm, "core.partner", person.id)
    p = crm.get("core.partner", person.id)
    assert p.name.startswith("[erased]") and p.birth_date is None and p.comment == ""
    assert crm.find("core.contact_info")[0].value == "[erased]"
    assert crm.find("core.interaction")[0].text == "[erased]"
    assert crm.find("core.note")[0].text == "[erased]"
    history = crm.history("core.partner", person.id)
    assert all("Алхимов" not in (h.old or "") + (h.new or "") for h in history)
    assert history[-1].action == "erase"
    everything = json.dumps(export(crm, "core.partner", person.id), ensure_ascii=False)
    assert "Алхимов" not in everything and "alkhimov" not in everything


def test_companies_are_not_erased(crm):
    company = crm.create("core.partner", {"name": "Протон"})
    from crmkit.core.privacy import erase
    with pytest.raises(ValidationError):
        erase(crm, "core.partner", company.id)


def test_cli_erase_needs_confirmation(crm, person, cli):
    out = cli("privacy", "erase", "core.partner", person.id)
    assert out.exit_code != 0 and crm.get("core.partner", person.id).name == "Алхимов А.А."
    assert cli("privacy", "erase", "core.partner", person.id, "--yes").exit_code == 0


def test_backup_and_restore(crm, person, cli, tmp_path, db_url):
    target = tmp_path / "backup.bin"
    out = cli("db", "backup", target)
    assert out.exit_code == 0, out.output
    crm.create("core.partner", {"name": "after the backup"})
    out = cli("db", "restore", target, "--yes")
    assert out.exit_code == 0, out.output
    import crmkit
    again = crmkit.open(db_url, plugins=[])
    assert sorted(p.name for p in again.find("core.partner")) == ["Алхимов А.А."]
    again.close()


@pytest.mark.sqlite_only
def test_damaged_backup_refused(crm, person, cli, tmp_path):
    target = tmp_path / "backup.db"
    cli("db", "backup", target)
    data = bytearray(target.read_bytes())
    for offset in range(4096, len(data), 4096):  # break every b-tree page header
        data[offset] = 0x77
    target.write_bytes(bytes(data))
    out = cli("db", "restore", target, "--yes")
    assert out.exit_code != 0
    assert crm.get("core.partner", person.id).name == "Алхимов А.А."
