"""Additional attributes: typed fields an administrator adds to an entity
without code, checked, stored, filtered, sorted, shown, exported, merged
and erased like built-in ones, and never a way around row-level access."""
import datetime as dt
import decimal
import json

import pytest

from crmkit import AccessDenied, NotFound, ValidationError

pytestmark = pytest.mark.plugins()


@pytest.fixture
def attrs(crm):
    crm.define_attribute("core.partner", "employees", "number", label="Employees", label_ru="Число сотрудников")
    crm.define_attribute("core.partner", "tier", "choice", choices=["gold", "silver"], label_ru="Уровень")
    crm.define_attribute("core.partner", "since", "date")
    crm.define_attribute("core.partner", "vip", "boolean")
    crm.define_attribute("core.partner", "budget", "money", currency="usd")
    crm.define_attribute("core.partner", "motto", "string")
    crm.define_attribute("core.partner", "account_manager", "reference", target="core.user")
    crm.define_attribute("core.partner", "parent_client", "reference", target="core.partner")
    return crm


@pytest.fixture
def world(attrs, open_crm):
    crm = attrs
    wholesale = crm.create("core.access_group", {"name": "Оптовые"})
    retail = crm.create("core.access_group", {"name": "Розничные"})
    crm.create("core.user", {"login": "volkov", "name": "Волков", "roles": "manager"})
    crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": retail.id})
    hidden = crm.create("core.partner", {"name": "Дальстрой", "access_group": wholesale.id,
                                         "employees": "500", "tier": "gold", "motto": "secret"})
    own = crm.create("core.partner", {"name": "Протон", "access_group": retail.id, "employees": "20",
                                      "tier": "silver"})
    return {"crm": crm, "hidden": hidden, "own": own, "retail": retail, "volkov": open_crm(user="volkov")}


def test_values_of_every_kind_are_coerced_stored_and_read_back(attrs):
    crm = attrs
    user = crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    head = crm.create("core.partner", {"name": "Холдинг"})
    p = crm.create("core.partner", {"name": "Протон", "employees": "1 200", "tier": " gold ", "since": "01.02.2020",
                                    "vip": "да", "budget": "10,5", "motto": "  Вперёд  ",
                                    "account_manager": user.id, "parent_client": head.code})
    got = crm.attribute_values("core.partner", [p.id])[p.id]
    assert got == {"employees": decimal.Decimal(1200), "tier": "gold", "since": dt.date(2020, 2, 1), "vip": True,
                   "budget": decimal.Decimal("10.50"), "motto": "Вперёд", "account_manager": user.id,
                   "parent_client": head.id}
    crm.update("core.partner", p.id, {"employees": "", "vip": "no"})
    got = crm.attribute_values("core.partner", [p.id])[p.id]
    assert "employees" not in got and got["vip"] is False
    history = [(c.field, c.old, c.new) for c in crm.history("core.partner", p.id) if c.field]
    assert ("employees", "1200", None) in history and ("vip", "True", "False") in history


def test_bad_values_are_refused_together_and_nothing_is_written(attrs):
    crm = attrs
    before = crm.count("core.partner")
    with pytest.raises(ValidationError) as exc:
        crm.create("core.partner", {"name": "", "employees": "many", "tier": "bronze", "since": "1800-01-01",
                                    "vip": "perhaps", "budget": "1e400", "motto": "x" * 501,
                                    "account_manager": 999999, "parent_client": "NO-SUCH-CODE"})
    errors = exc.value.errors
    assert set(errors) >= {"name", "employees", "tier", "since", "vip", "budget", "motto", "account_manager",
                           "parent_client"}
    assert "unallowed value" in " ".join(errors["tier"]) and "max length is 500" in errors["motto"]
    assert "does not exist" in " ".join(errors["account_manager"])
    assert crm.count("core.partner") == before
    from crmkit.kernel.models import AttributeValue
    assert AttributeValue.select().count() == 0


def test_an_attribute_named_like_a_built_in_field_is_refused(attrs):
    for name in ("name", "inn", "access_group", "access_group_id", "id", "deletion_mark", "save", "limit",
                 "subject", "employees", "Bad-Name", "a__b", "1st"):
        with pytest.raises(ValidationError) as exc:
            attrs.define_attribute("core.partner", name, "string")
        assert "name" in exc.value.errors, name
    with pytest.raises(ValidationError) as exc:
        attrs.define_attribute("core.partner", "colour", "choice")
    assert "choices" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        attrs.define_attribute("core.partner", "owner2", "reference", target="no.such")
    assert "target" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        attrs.define_attribute("core.partner", "weight", "kilograms")
    assert "kind" in exc.value.errors


def test_only_an_administrator_defines_or_removes(world):
    volkov = world["volkov"]
    with pytest.raises(AccessDenied):
        volkov.define_attribute("core.partner", "x", "string")
    with pytest.raises(AccessDenied):
        volkov.act("core.add_attribute", entity="core.partner", name="x", kind="string")
    with pytest.raises(AccessDenied):
        volkov.remove_attribute("core.partner", "tier")


def test_filter_and_sort_like_built_in_fields(world):
    crm = world["crm"]
    crm.create("core.partner", {"name": "Малый", "employees": "3"})
    assert [p.name for p in crm.find("core.partner", employees__ge=decimal.Decimal(20), order_by="employees")] == \
        ["Протон", "Дальстрой"]
    assert [p.name for p in crm.find("core.partner", order_by="-employees")][:3] == ["Дальстрой", "Протон", "Малый"]
    typed = crm.parse_filters("core.partner", {"employees__lt": "100", "tier__in": "gold,silver"})
    assert [p.name for p in crm.find("core.partner", **typed)] == ["Протон"]
    assert crm.count("core.partner", tier__isnull=True) == 1
    with pytest.raises(ValidationError) as exc:
        crm.parse_filters("core.partner", {"employees__ge": "lots"})
    assert "employees__ge" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        crm.find("core.partner", no_such__eq=1)
    assert "employees" in str(exc.value)   # the attributes are among the known fields


def test_an_attribute_filter_never_reveals_hidden_rows(world):
    volkov, hidden = world["volkov"], world["hidden"]
    assert volkov.find("core.partner", employees__ge=100) == []
    assert volkov.count("core.partner", tier="gold") == 0
    assert volkov.count("core.partner", motto__isnull=False) == 0
    assert [p.name for p in volkov.find("core.partner", order_by="-employees")] == ["Протон"]
    assert volkov.attribute_values("core.partner", [hidden.id]) == {}
    # a reference to a hidden record is refused, as for a built-in reference
    with pytest.raises(ValidationError) as exc:
        volkov.update("core.partner", world["own"].id, {"parent_client": hidden.id})
    assert exc.value.errors["parent_client"] == [f"{hidden.id!r} does not exist"]
    with pytest.raises(ValidationError):
        volkov.update("core.partner", world["own"].id, {"parent_client": hidden.code})
    with pytest.raises(NotFound):
        volkov.update("core.partner", hidden.id, {"tier": "silver"})
    assert world["crm"].attribute_values("core.partner", [hidden.id])[hidden.id]["tier"] == "gold"


def test_cli_add_list_show_list_export_remove(world, cli):
    own = world["own"]
    out = cli("attributes", "add", "core.partner", "region_code", "string", "--label-ru", "Код региона")
    assert out.exit_code == 0, out.output
    assert cli("update", "core.partner", own.code, "region_code=77", "employees=25").exit_code == 0
    listed = json.loads(cli("attributes", "list", "core.partner", "--format", "json").output)
    assert [a["name"] for a in listed][-1] == "region_code"
    shown = cli("show", "core.partner", own.code, lang="ru").output
    assert "Код региона: 77" in shown and "Число сотрудников: 25" in shown
    doc = json.loads(cli("show", "core.partner", own.code, "--format", "json").output)[0]
    assert doc["region_code"] == "77" and doc["employees"] == "25"
    rows = json.loads(cli("list", "core.partner", "--where", "employees__gt=21", "--format", "json").output)
    assert [r["name"] for r in rows] == ["Дальстрой", "Протон"] or [r["name"] for r in rows] == ["Протон", "Дальстрой"]
    hidden_view = json.loads(cli("list", "core.partner", "--where", "employees__gt=21", "--format", "json",
                                 user="volkov").output)
    assert [r["name"] for r in hidden_view] == ["Протон"]
    assert hidden_view[0]["employees"] == "25"     # the attribute filtered on is a column of the list
    exported = cli("export", "core.partner", user="volkov").output
    assert "region_code" in exported.splitlines()[0] and "secret" not in exported and "Дальстрой" not in exported
    refused = cli("attributes", "add", "core.partner", "inn", "string")
    assert refused.exit_code != 0 and "built-in field" in refused.output
    assert cli("attributes", "remove", "core.partner", "region_code").exit_code != 0   # needs --yes
    assert cli("attributes", "remove", "core.partner", "region_code", "--yes").exit_code == 0
    assert "region_code" not in cli("show", "core.partner", own.code).output


def test_segment_rules_use_attributes(world):
    from crmkit.core.segments import compute
    crm = world["crm"]
    seg = crm.create("core.segment", {"name": "Крупные", "kind": "partner", "method": "rule", "rule": json.dumps(
        {"all": [{"field": "employees", "op": "ge", "value": "100"},
                 {"field": "tier", "op": "not_in", "value": ["silver"]}]})})
    assert compute(crm, seg.id)["members"] == 1
    with pytest.raises(ValidationError) as exc:   # a rule is checked when saved
        crm.create("core.segment", {"name": "Плохой", "kind": "partner", "method": "rule", "rule": json.dumps(
            {"field": "employees", "op": "ge", "value": "lots"})})
    assert "employees" in " ".join(exc.value.errors["rule"])
    assert [p.name for p in world["volkov"].query("core.partner").where(
        world["volkov"].attribute_condition("core.partner", "employees", "ge", 100))] == []


def test_merge_carries_attributes(world):
    crm = world["crm"]
    a = crm.create("core.partner", {"name": "Ромашка", "employees": "10"})
    b = crm.create("core.partner", {"name": "Ромашка ООО", "employees": "99", "tier": "gold", "motto": "m"})
    pointing = crm.create("core.partner", {"name": "Дочка", "parent_client": b.id})
    crm.merge("core.partner", a.id, b.id, take=["motto"])
    got = crm.attribute_values("core.partner", [a.id, pointing.id])
    assert got[a.id] == {"employees": decimal.Decimal(10), "tier": "gold", "motto": "m"}
    assert got[pointing.id]["parent_client"] == a.id


def test_erasure_removes_and_export_lists_attribute_values(attrs):
    from crmkit.core.privacy import erase, export
    crm = attrs
    person = crm.create("core.partner", {"name": "Алхимов А.А.", "kind": "individual", "motto": "личное",
                                         "since": "2020-01-01"})
    out = export(crm, "core.partner", person.id)
    assert {"entity": "core.partner", "record_id": person.id, "attribute": "motto", "label": "motto",
            "value": "личное"} in out["attributes"]
    erase(crm, "core.partner", person.id)
    assert crm.attribute_values("core.partner", [person.id]) == {}
    assert not [c for c in crm.history("core.partner", person.id) if "личное" in (c.new or "") + (c.old or "")]


def test_the_action_is_the_way_in(attrs):
    result = attrs.act("core.add_attribute", entity="core.contact", name="hobby", kind="choice",
                       choices=["chess", "golf"], label_ru="Хобби")
    assert result["name"] == "hobby" and result["choices"] == "chess, golf"
    assert attrs.schema("core.contact")["hobby"]["allowed"] == ["chess", "golf"]
    with pytest.raises(ValidationError):
        attrs.act("core.add_attribute", entity="core.contact", name="x", kind="string", label=123)
    assert attrs.act("core.remove_attribute", entity="core.contact", name="hobby") == {"removed_values": 0}
    assert "hobby" not in attrs.schema("core.contact")


def test_a_filter_on_an_attribute_is_an_index_search(attrs):
    """The query plan reads the value table through its composite index
    (a range over (attribute_id, value_number, record_id)), not a scan."""
    crm = attrs
    crm.create("core.partner", {"name": "A", "employees": "5"})
    sql, params = crm.query("core.partner").where(
        __import__("crmkit.kernel.attributes", fromlist=["x"]).condition(
            crm, "core.partner", "employees", "ge", decimal.Decimal(3))).sql()
    if crm.db.__class__.__name__.startswith("Sqlite"):
        plan = " ".join(str(r[-1]) for r in crm.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
        assert "kernel_attribute_value_attribute_id_value_number_record_id" in plan, plan
    else:
        crm.db.execute_sql("SET enable_seqscan = off")
        plan = " ".join(r[0] for r in crm.db.execute_sql("EXPLAIN " + sql, params).fetchall())
        crm.db.execute_sql("SET enable_seqscan = on")
        # a tiny table may be read through (attribute_id, record_id): an index all the same
        assert "Index" in plan and "Seq Scan on kernel_attribute_value" not in plan, plan


def test_import_checks_and_stores_attributes_all_or_nothing(world, tmp_path):
    crm, hidden = world["crm"], world["hidden"]
    good = tmp_path / "good.csv"
    good.write_text("name,employees,tier,since,vip,parent_client\n"
                    f"Импорт 1,10,gold,01.02.2020,да,{hidden.code}\n"
                    "Импорт 2,,silver,,нет,\n"
                    f"Импорт 3,7,,2021-01-01,,{hidden.id}\n", encoding="utf-8")
    assert crm.import_file("core.partner", good)["written"] == 3
    rows = {p.name: p.id for p in crm.find("core.partner", name__startswith="Импорт")}
    got = crm.attribute_values("core.partner", list(rows.values()))
    assert got[rows["Импорт 1"]] == {"employees": decimal.Decimal(10), "tier": "gold", "since": dt.date(2020, 2, 1),
                                     "vip": True, "parent_client": hidden.id}
    assert got[rows["Импорт 2"]] == {"tier": "silver", "vip": False}
    assert [p.name for p in crm.find("core.partner", employees__lt=8)] == ["Импорт 3"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,employees,tier,parent_client\nПлохой 1,много,gold,\nПлохой 2,5,bronze,\n"
                   "Плохой 3,5,gold,NO-SUCH\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", bad)
    assert set(exc.value.rows) == {1, 2, 3}
    assert "employees" in exc.value.rows[1] and "tier" in exc.value.rows[2] and "parent_client" in exc.value.rows[3]
    assert crm.count("core.partner", name__startswith="Плохой") == 0


def test_import_by_a_manager_cannot_point_at_hidden_records(world, tmp_path):
    volkov, hidden = world["volkov"], world["hidden"]
    spy = tmp_path / "spy.csv"
    spy.write_text(f"name,access_group,parent_client\nШпион,{world['retail'].id},{hidden.id}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        volkov.import_file("core.partner", spy)
    assert exc.value.rows[1]["parent_client"] == [f"'{hidden.id}' does not exist"]
    spy.write_text(f"name,access_group,parent_client\nШпион,{world['retail'].id},{hidden.code}\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        volkov.import_file("core.partner", spy)


def test_poison_in_an_attribute_is_refused_like_in_a_field(attrs):
    crm = attrs
    for bad in ("\x1b[31mred", "nul\x00", "\ud800"):
        with pytest.raises(ValidationError) as exc:
            crm.create("core.partner", {"name": "P", "motto": bad})
        assert "control character" in exc.value.errors["motto"][0]
    with pytest.raises(ValidationError) as exc:
        crm.create("core.partner", {"name": "P", "employees": "1e30"})
    assert "max value" in exc.value.errors["employees"][0]
    assert crm.count("core.partner") == 0


def test_an_attributes_labels_and_choices_are_changed_and_a_held_choice_stays(world, cli, open_crm):
    crm, volkov = world["crm"], world["volkov"]
    with pytest.raises(AccessDenied):
        volkov.act("core.change_attribute", entity="core.partner", name="tier", label_ru="Класс")
    changed = crm.act("core.change_attribute", entity="core.partner", name="tier", label_ru="Класс клиента",
                      choices=["gold", "silver", "bronze"])
    assert changed["choices"] == "gold, silver, bronze" and changed["label_ru"] == "Класс клиента"
    p = crm.create("core.partner", {"name": "Бронза", "tier": "bronze"})          # the new value is valid now
    assert crm.attribute_values("core.partner", [p.id])[p.id]["tier"] == "bronze"
    with pytest.raises(ValidationError) as exc:                                 # gold and silver are held
        crm.change_attribute("core.partner", "tier", choices=["bronze"], label="Tier\x07")
    assert "'gold' is held by 1 records" in str(exc.value.errors["choices"])
    assert "'silver' is held by 1 records" in str(exc.value.errors["choices"]) and "label" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        crm.change_attribute("core.partner", "employees", choices=["1"])
    assert exc.value.errors["choices"] == ["only a choice attribute has choices"]
    with pytest.raises(NotFound):
        crm.change_attribute("core.partner", "nothing", label="x")
    assert crm.attribute_labels("core.partner")["tier"] == "tier"                 # nothing written by the refusals
    result = cli("attributes", "change", "core.partner", "tier", "--label", "Tier", lang="ru")
    assert result.exit_code == 0 and "изменен реквизит tier сущности core.partner" in result.output
    assert open_crm().attribute_labels("core.partner")["tier"] == "Tier"      # a new session reads the change


def test_a_new_session_sees_a_definition_another_process_changed(attrs, open_crm):
    """Definitions are shared by the sessions of a process, but a changed
    label (which changes neither how many definitions there are nor their
    highest id) written by another process is seen by the next session."""
    first = open_crm()
    assert first.attribute_labels("core.partner")["tier"] == "tier"
    # another process's change: a plain UPDATE, nothing of this process told
    attrs.db.execute_sql("UPDATE kernel_attribute SET label = 'Client level' WHERE name = 'tier'")
    assert open_crm().attribute_labels("core.partner")["tier"] == "Client level"
    attrs.db.execute_sql("DELETE FROM kernel_attribute WHERE name = 'motto'")
    assert "motto" not in [a.name for a in open_crm().attributes("core.partner")]
