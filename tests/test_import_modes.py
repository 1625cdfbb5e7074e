"""``--mode insert|update|upsert``: a second import of a file updates the
rows it names (by code or a named unique column) instead of failing on
"already used"; all or nothing; every row through the user's access."""
import json

import pytest

from crmkit import AccessDenied, ValidationError

pytestmark = pytest.mark.plugins("core")

HEADER = "code,name,kind,comment\n"


def write(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def world(crm, open_crm):
    wholesale = crm.create("core.access_group", {"name": "Оптовые покупатели"})
    retail = crm.create("core.access_group", {"name": "Розничные покупатели"})
    for login in ("orlov", "volkov"):
        crm.create("core.user", {"login": login, "name": login, "roles": "manager"})
    crm.create("core.user_access", {"user": crm.get("core.user", "orlov").id, "access_group": wholesale.id})
    crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": retail.id})
    theirs = crm.create("core.partner", {"name": "Дальстрой", "code": "W-1", "access_group": wholesale.id})
    mine = crm.create("core.partner", {"name": "Алхимов", "code": "R-1", "access_group": retail.id})
    return {"wholesale": wholesale, "retail": retail, "theirs": theirs, "mine": mine,
            "volkov": open_crm(user="volkov"), "orlov": open_crm(user="orlov")}


def test_second_import_of_the_same_file_updates(crm, tmp_path):
    path = write(tmp_path, HEADER + "A-1,Протон,company,первый\nA-2,Сатурн,company,\n")
    first = crm.import_file("core.partner", path)
    assert first["written"] == 2
    with pytest.raises(ValidationError) as exc:      # insert, as before: the codes are taken
        crm.import_file("core.partner", path)
    assert "already used" in json.dumps(exc.value.rows, ensure_ascii=False)
    same = crm.import_file("core.partner", path, mode="upsert")
    assert (same["inserted"], same["updated"], same["unchanged"]) == (0, 0, 2)
    path = write(tmp_path, HEADER + "A-1,Протон-М,company,второй\nA-2,Сатурн,company,\n")
    again = crm.import_file("core.partner", path, mode="update")
    assert (again["inserted"], again["updated"], again["unchanged"], again["written"]) == (0, 1, 1, 1)
    record = crm.get("core.partner", "A-1")
    assert (record.name, record.comment) == ("Протон-М", "второй")
    assert crm.count("core.partner") == 2
    changes = {(c.field, c.old, c.new) for c in crm.history("core.partner", record.id) if c.action == "update"}
    assert changes == {("name", "Протон", "Протон-М"), ("comment", "первый", "второй")}


def test_mixed_file_inserts_the_new_rows_and_updates_the_others(crm, tmp_path):
    crm.import_file("core.partner", write(tmp_path, HEADER + "A-1,Протон,company,\n"))
    path = write(tmp_path, HEADER + "A-1,Протон,company,обновлён\n,Новый,company,\nA-9,Девятый,company,\n")
    summary = crm.import_file("core.partner", path, mode="upsert")
    assert (summary["inserted"], summary["updated"], summary["rejected"]) == (2, 1, 0)
    assert crm.get("core.partner", "A-1").comment == "обновлён"
    assert {p.name for p in crm.find("core.partner")} == {"Протон", "Новый", "Девятый"}
    assert crm.get("core.partner", "A-9").name == "Девятый"


def test_update_mode_refuses_a_row_it_cannot_find(crm, tmp_path):
    crm.import_file("core.partner", write(tmp_path, HEADER + "A-1,Протон,company,\n"))
    path = write(tmp_path, HEADER + "A-1,Протон,company,x\nA-7,Нет,company,\n,Пусто,company,\n")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path, mode="update")
    assert exc.value.rows == {2: {"code": ["'A-7' not found"]}, 3: {"code": ["needed to find the row to update"]}}
    assert crm.get("core.partner", "A-1").comment == ""          # all or nothing


def test_a_named_key_column_and_bad_keys(crm, tmp_path):
    crm.create("core.product", {"code": "P1", "name": "Чайник"})
    path = write(tmp_path, "id,name\n1,Чайник электрический\n,Утюг\n")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.product", path, mode="upsert", key="name")
    assert "'name' is not a unique column of core.product (one of id, code)" in str(exc.value.errors)
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.contact", path, mode="update")
    assert "has no code to find its rows by" in str(exc.value.errors["key"])
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.product", write(tmp_path, "name\nЧайник\n"), mode="update")
    assert exc.value.errors["key"] == ["the file has no column 'code' to find its rows by"]
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.product", path, mode="replace")
    assert "unknown mode 'replace'" in str(exc.value.errors["mode"])
    # by id: a blank id is a new row (numbered by the database)
    path = write(tmp_path, "id,code,name\n1,P1,Чайник электрический\n,P2,Утюг\n")
    summary = crm.import_file("core.product", path, mode="upsert", key="id")
    assert (summary["inserted"], summary["updated"]) == (1, 1)
    assert crm.get("core.product", "P1").name == "Чайник электрический"
    assert crm.get("core.product", "P2").name == "Утюг"


def test_a_key_twice_in_the_file_and_a_unique_value_of_another_row(crm, tmp_path):
    crm.create("core.product", {"code": "P1", "name": "Чайник"})
    crm.create("core.product", {"code": "P2", "name": "Утюг"})
    path = write(tmp_path, "code,name\nP1,a\nP1,b\n")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.product", path, mode="update")
    assert exc.value.rows == {2: {"code": ["'P1' appears more than once in the file"]}}
    path = write(tmp_path, "id,code\n1,P2\n2,P2\n")        # row 1 takes row 2's code, which row 2 keeps
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.product", path, mode="update", key="id")
    assert exc.value.rows == {1: {"code": ["'P2' is already used"]}, 2: {"code": ["'P2' is already used"]}}
    path = write(tmp_path, "id,code,name\n2,P2,Утюг паровой\n")      # its own code is not "used"
    assert crm.import_file("core.product", path, mode="update", key="id")["updated"] == 1
    assert crm.get("core.product", "P1").name == "Чайник"


def test_update_of_a_row_another_group_owns_is_not_found(world, tmp_path):
    volkov = world["volkov"]
    path = write(tmp_path, HEADER + "R-1,Алхимов А.А.,individual,свой\nW-1,Взломано,company,чужой\n")
    with pytest.raises(ValidationError) as exc:
        volkov.import_file("core.partner", path, mode="update")
    assert exc.value.rows == {2: {"code": ["'W-1' not found"]}}      # as a code no row has
    with pytest.raises(ValidationError) as exc:
        volkov.import_file("core.partner", write(tmp_path, HEADER + "W-9,Нет,company,\n"), mode="update")
    assert exc.value.rows == {1: {"code": ["'W-9' not found"]}}      # the same words: nothing revealed
    theirs = world["orlov"].get("core.partner", "W-1")
    assert (theirs.name, theirs.comment) == ("Дальстрой", "")
    # by id too, and the contacts of a partner another group owns
    contact = world["orlov"].create("core.contact", {"partner": theirs.id, "name": "Смирнов"})
    path = write(tmp_path, f"id,name\n{contact.id},Взломано\n")
    with pytest.raises(ValidationError) as exc:
        volkov.import_file("core.contact", path, mode="update", key="id")
    assert exc.value.rows == {1: {"id": [f"'{contact.id}' not found"]}}
    assert world["orlov"].get("core.contact", contact.id).name == "Смирнов"
    summary = volkov.import_file("core.partner", write(tmp_path, HEADER + "R-1,Алхимов А.А.,individual,свой\n"),
                                 mode="update")
    assert summary["updated"] == 1 and volkov.get("core.partner", "R-1").comment == "свой"


def test_update_needs_the_update_grant_and_keeps_partners_in_the_users_groups(world, open_crm, crm, tmp_path):
    crm.create("core.user", {"login": "reader", "name": "reader", "roles": "readonly"})
    crm.create("core.user_access", {"user": crm.get("core.user", "reader").id,
                                    "access_group": world["retail"].id})
    path = write(tmp_path, HEADER + "R-1,Алхимов,individual,x\n")
    with pytest.raises(AccessDenied):
        open_crm(user="reader").import_file("core.partner", path, mode="update")
    volkov = world["volkov"]
    path = write(tmp_path, f"code,access_group\nR-1,{world['wholesale'].id}\n")
    with pytest.raises(ValidationError) as exc:
        volkov.import_file("core.partner", path, mode="update")
    assert exc.value.rows == {1: {"access_group": ["you may only use your own access groups"]}}
    path = write(tmp_path, "code,access_group\nR-1,\n")
    with pytest.raises(ValidationError) as exc:
        volkov.import_file("core.partner", path, mode="update")
    assert exc.value.rows == {1: {"access_group": ["only an administrator may clear a partner's access group"]}}
    assert crm.get("core.partner", "R-1").access_group_id == world["retail"].id


def test_one_bad_row_rolls_the_whole_file_back(crm, tmp_path):
    crm.import_file("core.partner", write(tmp_path, HEADER + "A-1,Протон,company,\nA-2,Сатурн,company,\n"))
    path = write(tmp_path, HEADER + "A-1,Протон-М,company,\nA-3,Новый,company,\nA-2,Сатурн,alien,\n")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path, mode="upsert")
    assert list(exc.value.rows) == [3] and "kind" in exc.value.rows[3]
    assert crm.get("core.partner", "A-1").name == "Протон" and crm.count("core.partner") == 2
    summary = crm.import_file("core.partner", path, mode="upsert", skip_invalid=True,
                              reject_file=tmp_path / "r.csv")
    assert (summary["inserted"], summary["updated"], summary["rejected"]) == (1, 1, 1)
    assert crm.get("core.partner", "A-1").name == "Протон-М"


def test_the_cli_says_what_was_inserted_and_updated(crm, cli, tmp_path):
    path = write(tmp_path, HEADER + "A-1,Протон,company,\n")
    assert cli("import", "core.partner", path).exit_code == 0
    path = write(tmp_path, HEADER + "A-1,Протон,company,обновлён\nA-2,Сатурн,company,\n")
    out = cli("import", "core.partner", path, "--mode", "upsert")
    assert out.exit_code == 0, out.output
    assert "2 rows read, 1 inserted, 1 updated, 0 unchanged, 0 rejected" in out.output
    out = cli("import", "core.partner", path, "--mode", "update", "--format", "json")
    summary = json.loads(out.output)
    assert (summary["updated"], summary["unchanged"], summary["key"]) == (0, 2, "code")
    out = cli("import", "core.partner", path, "--mode", "update", "--key", "name")
    assert out.exit_code != 0 and "not a unique column" in out.output


def test_the_summary_and_the_refusals_in_russian(crm, cli, tmp_path):
    path = write(tmp_path, HEADER + "A-1,Протон,company,\n")
    out = cli("import", "core.partner", path, "--mode", "upsert", lang="ru")
    assert out.exit_code == 0, out.output
    assert "прочитано строк: 1, добавлено: 1, изменено: 0, без изменений: 0, отклонено: 0" in out.output
    out = cli("import", "core.partner", write(tmp_path, HEADER + "A-7,Нет,company,\n"), "--mode", "update", lang="ru")
    assert out.exit_code != 0 and "'A-7' не найдено" in out.output, out.output
    out = cli("import", "core.partner", path, "--mode", "update", "--key", "name", lang="ru")
    assert "'name' — не уникальная колонка core.partner (допустимы: id, code" in out.output, out.output
    assert "upsert — изменить найденные" in " ".join(cli("import", "--help", lang="ru").output.split())


def test_a_code_an_update_gives_in_the_series_moves_the_series_past_it(crm, tmp_path):
    first = crm.create("core.partner", {"name": "Протон"})
    path = write(tmp_path, f"id,code\n{first.id},00-00000040\n")
    assert crm.import_file("core.partner", path, mode="update", key="id")["updated"] == 1
    assert crm.create("core.partner", {"name": "Сатурн"}).code == "00-00000041"


def test_an_updated_row_is_paired_with_the_base_as_a_new_one_is(crm, tmp_path):
    """An update that makes a stored partner look like another is said in
    the summary (warn) or refuses the file whole (strict), as a new row
    like a record is; a row left as it was is not paired again."""
    from crmkit.kernel.duplicates import configure
    crm.create("core.partner", {"name": "Гранитпром", "code": "A-1", "inn": "7707083893"})
    crm.create("core.partner", {"name": "Лютик", "code": "A-2"})
    crm.create("core.partner", {"name": "Кедрснаб", "code": "A-3"})
    path = write(tmp_path, "code,name,inn\nA-3,Кедрснаб,\nA-2,Лютик,7707083893\n,Ромашкалес,\n")
    summary = crm.import_file("core.partner", path, mode="upsert")
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (1, 1, 1)
    assert summary["duplicates"]["pairs"] == 1
    assert [(f["row"], f["like"], f["rule"]) for f in summary["duplicates"]["shown"]] == \
        [(2, "Гранитпром", "same INN")]
    configure(crm, "core.partner", "name", mode="strict")
    path = write(tmp_path, "code,name\nA-3,Гранитпром ООО\n")      # like a record: the row's own rules
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path, mode="update")
    assert exc.value.rows == {1: {"name": ["a duplicate of Гранитпром (similar name): merge them or change this one"]}}
    path = write(tmp_path, "code,name\nA-2,Орионтекс\nA-3,Орионтекс ООО\n")   # two updated rows alike
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path, mode="update")
    assert exc.value.rows == {2: {"_row": ["a duplicate of row 1 (similar name): merge them or change this one"]}}
    assert [crm.get("core.partner", c).name for c in ("A-2", "A-3")] == ["Лютик", "Кедрснаб"]   # nothing written


def test_additional_attributes_of_updated_rows_are_changes(crm, tmp_path):
    """A row whose attribute values alone differ is updated: counted, its
    values written, each change in the history, its changed_at moved; the
    same values again are no change; a blank clears the value."""
    import decimal
    crm.define_attribute("core.partner", "employees", "number")
    crm.define_attribute("core.partner", "tier", "choice", choices=["gold", "silver"])
    first = crm.create("core.partner", {"name": "Протон", "code": "A-1", "employees": "20", "tier": "gold"})
    crm.create("core.partner", {"name": "Сатурн", "code": "A-2", "employees": "5"})
    stamp = crm.get("core.partner", "A-1").changed_at
    path = write(tmp_path, "code,name,employees,tier\nA-1,Протон,20.0,silver\nA-2,Сатурн,5,\n")
    summary = crm.import_file("core.partner", path, mode="update")
    assert (summary["updated"], summary["unchanged"]) == (1, 1)
    values = crm.attribute_values("core.partner", [first.id])[first.id]
    assert values == {"employees": decimal.Decimal(20), "tier": "silver"}
    changes = [(c.field, c.old, c.new) for c in crm.history("core.partner", first.id) if c.action == "update"]
    assert changes == [("tier", "gold", "silver")]
    assert crm.get("core.partner", "A-1").changed_at > stamp
    again = crm.import_file("core.partner", path, mode="update")
    assert (again["updated"], again["unchanged"]) == (0, 2)
    path = write(tmp_path, "code,employees\nA-2,\n")
    assert crm.import_file("core.partner", path, mode="update")["updated"] == 1
    second = crm.get("core.partner", "A-2")
    assert crm.attribute_values("core.partner", [second.id]).get(second.id, {}) == {}
    assert [(c.field, c.old, c.new) for c in crm.history("core.partner", second.id) if c.action == "update"] == \
        [("employees", "5", None)]
