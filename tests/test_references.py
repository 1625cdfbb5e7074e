"""References typed by id, code or natural key — in the import and in the
generic create/update commands alike — among the records the user sees."""
import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins("core")


@pytest.fixture
def base(crm):
    ids = {"secret": crm.create("core.access_group", {"name": "Тайна"}).id}
    ids["moscow"] = crm.create("core.region", {"name": "Москва"}).id
    ids["head"] = crm.create("core.partner", {"name": "Холдинг"})
    ids["hidden"] = crm.create("core.partner", {"name": "Скрытый", "access_group": ids["secret"]})
    ids["tools"] = crm.create("core.product_group", {"name": "Инструмент"}).id
    crm.create("core.product_group", {"name": "Двойник"})
    crm.create("core.product_group", {"name": "Двойник"})
    crm.create("core.user", {"login": "ann", "name": "Анна", "roles": "manager"})
    return ids


def test_the_update_command_takes_codes_and_names(crm, base, cli):
    child = crm.create("core.partner", {"name": "Дочка"})
    out = cli("update", "core.partner", child.code, f"head={base['head'].code}", "region=Москва")
    assert out.exit_code == 0, out.output
    child = crm.get("core.partner", child.id)
    assert (child.head_id, child.region_id) == (base["head"].id, base["moscow"])
    made = cli("create", "core.partner", "name=Внучка", "head=Холдинг")     # a name only one partner has
    assert made.exit_code == 0, made.output
    assert crm.find("core.partner", name="Внучка")[0].head_id == base["head"].id


def test_a_name_several_records_share_is_named_back_not_guessed(crm, base):
    with pytest.raises(ValidationError) as exc:
        crm.create("core.product", {"code": "P1", "name": "Пила", "group": "Двойник"})
    assert "names several records" in exc.value.errors["group"][0]
    with pytest.raises(ValidationError) as exc:
        crm.create("core.product", {"code": "P1", "name": "Пила", "group": "Нет такой"})
    assert exc.value.errors == {"group": ["'Нет такой' does not exist"]}
    assert crm.count("core.product") == 0


def test_the_import_resolves_the_same_keys(crm, base, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_text(f"name,head,region\nА,{base['head'].code},Москва\nБ,Холдинг,{base['moscow']}\n",
                    encoding="utf-8")
    assert crm.import_file("core.partner", path)["written"] == 2
    made = {p.name: p for p in crm.find("core.partner", name__in=["А", "Б"])}
    assert {(p.head_id, p.region_id) for p in made.values()} == {(base["head"].id, base["moscow"])}
    products = tmp_path / "products.csv"
    products.write_text("code,name,group\nP1,Пила,Инструмент\nP2,Молоток,Двойник\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.product", products)
    assert list(exc.value.rows) == [2] and "names several records" in exc.value.rows[2]["group"][0]


def test_a_hidden_record_is_never_found_by_its_name_or_code(crm, base, open_crm):
    ann = open_crm(user="ann")
    for key in (base["hidden"].code, "Скрытый", str(base["hidden"].id)):
        with pytest.raises(ValidationError) as exc:
            ann.create("core.partner", {"name": "Чужая дочка", "head": key})
        assert "does not exist" in exc.value.errors["head"][0]
    assert crm.count("core.partner", name="Чужая дочка") == 0


def test_lists_print_ids_show_takes_back_and_say_when_they_stop(crm, base, cli):
    made = crm.create("core.partner", {"name": "Десятитысячный"})
    crm.db.execute_sql("UPDATE core_partner SET id = 10094 WHERE id = %d" % made.id)   # a base past 10,000
    big = crm.get("core.partner", 10094)
    assert big.id > 10000
    listed = cli("list", "core.partner", "--where", "name=Десятитысячный")
    assert f"{big.id} " in listed.output and f"{big.id:,}" not in listed.output
    assert "Десятитысячный" in cli("show", "core.partner", str(big.id)).output
    assert big.code in cli("show", "core.partner", "Десятитысячный").output      # by its name
    several = cli("show", "core.product_group", "Двойник")
    assert several.exit_code != 0 and "names several core.product_group records" in several.output
    stopped = cli("list", "core.partner", "--limit", "2")
    assert "stopped at 2 records; there are more" in stopped.output
    assert "there are more" not in cli("list", "core.partner", "--limit", "100").output
