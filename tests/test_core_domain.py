"""Holdings, segments, tasks and reminders, and the core CLI groups."""
import json

import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins()


@pytest.fixture
def holding(crm):
    region = crm.create("core.region", {"name": "Дальний Восток", "code": "DV"})
    head = crm.create("core.partner", {"name": "Дальстрой", "region": region.id})
    branch = crm.create("core.partner", {"name": "Дальстрой 2", "head": head.id, "region": region.id})
    shop = crm.create("core.partner", {"name": "Дальстрой 2 магазин", "head": branch.id, "is_client": False})
    other = crm.create("core.partner", {"name": "Протон"})
    for p, topic in ((head, "Головной офис"), (branch, "Филиал"), (shop, "Магазин"), (other, "Чужой")):
        crm.create("core.interaction", {"kind": "meeting", "date": "2015-10-22", "partner": p.id, "topic": topic})
    return head, branch, shop, other


def test_holding_tree_and_history(crm, holding):
    from crmkit.core.partners import holding_ids, interaction_history, tree
    head, branch, shop, other = holding
    assert sorted(holding_ids(crm, shop.id)) == sorted([head.id, branch.id, shop.id])
    assert [(d, p.name) for d, p in tree(crm, branch.id)] == [
        (0, "Дальстрой"), (1, "Дальстрой 2"), (2, "Дальстрой 2 магазин")]
    topics = {i.topic for i in interaction_history(crm, branch.id)}
    assert topics == {"Головной офис", "Филиал", "Магазин"}
    assert {i.topic for i in interaction_history(crm, branch.id, whole_holding=False)} == {"Филиал"}


def test_rule_segment_membership_is_dated(crm, holding):
    from crmkit.core.segments import compute, members_query
    head, branch, shop, other = holding
    region = head.region_id
    seg = crm.create("core.segment", {"name": "Клиенты ДВ", "kind": "partner", "method": "rule", "rule": json.dumps(
        {"all": [{"field": "is_client", "op": "eq", "value": True}, {"field": "region", "op": "eq", "value": region}]})})
    assert compute(crm, seg.id) == {"segment": "Клиенты ДВ", "members": 2, "added": 2, "removed": 0}
    assert sorted(p.name for p in members_query(crm, seg.id)) == ["Дальстрой", "Дальстрой 2"]
    crm.update("core.partner", branch.id, {"is_client": False})
    assert compute(crm, seg.id)["removed"] == 1
    assert compute(crm, seg.id) == {"segment": "Клиенты ДВ", "members": 1, "added": 0, "removed": 0}
    from crmkit.core.models import SegmentMember
    rows = list(SegmentMember.select().where(SegmentMember.member_id == branch.id))
    assert len(rows) == 1 and rows[0].removed_at is not None


@pytest.mark.parametrize("rule, fragment", [
    ({"all": [{"field": "name; DROP TABLE core_partner", "op": "eq", "value": 1}]}, "unknown field"),
    ({"all": [{"field": "name", "op": "regexp", "value": ".*"}]}, "unknown operator"),
    ({"all": []}, "non-empty"),
    ({"field": "name", "op": "eq", "value": "x", "sql": "1=1"}, "field, op and value"),
    ("not json {", "Expecting"),
])
def test_bad_rules_refused(crm, rule, fragment):
    with pytest.raises(ValidationError) as exc:
        crm.create("core.segment", {"name": "bad", "method": "rule",
                                    "rule": rule if isinstance(rule, str) else json.dumps(rule)})
    assert fragment in exc.value.errors["rule"][0]
    assert crm.count("core.segment") == 0


def test_manual_segment(crm, holding):
    from crmkit.core.segments import add_members, members_query, remove_members
    seg = crm.create("core.segment", {"name": "VIP"})
    assert add_members(crm, seg.id, [holding[0].id, holding[3].id]) == 2
    assert add_members(crm, seg.id, [holding[0].id]) == 0
    with pytest.raises(ValidationError):
        add_members(crm, seg.id, [99999])
    remove_members(crm, seg.id, [holding[3].id])
    assert [p.name for p in members_query(crm, seg.id)] == ["Дальстрой"]


def test_task_lifecycle_cli(crm, cli):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    orlov = crm.as_user("orlov")
    task = orlov.create("core.task", {"title": "Проверить демо-базу", "performer": orlov.actor.id,
                                      "due": "2015-10-22T23:59:59"})
    assert task.author_id == orlov.actor.id and task.number == "00-00000001"
    assert cli("task", "stop", task.number, user="orlov").exit_code == 0
    assert crm.get("core.task", task.id).state == "stopped"
    cli("task", "continue", task.number, user="orlov")
    out = cli("task", "done", task.number, "--result", "проверено", user="orlov")
    assert out.exit_code == 0
    done = crm.get("core.task", task.id)
    assert done.state == "done" and done.done_at is not None and done.result == "проверено"
    mine = json.loads(cli("task", "mine", "--all", "--format", "json", user="orlov").output)
    assert [t["number"] for t in mine] == ["00-00000001"]


def test_reminders_due_cli(crm, cli):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    orlov = crm.as_user("orlov")
    orlov.create("core.reminder", {"remind_at": "2015-10-20T15:30:35", "description": "Позвонить на ЛК"})
    orlov.create("core.reminder", {"remind_at": "2099-01-01T00:00:00", "description": "потом"})
    due = json.loads(cli("reminder", "due", "--format", "json", user="orlov").output)
    assert [r["description"] for r in due] == ["Позвонить на ЛК"]


def test_interaction_log_cli_and_partner_commands(crm, cli, holding):
    head, branch, shop, other = holding
    out = cli("interaction", "log", "call", "direction=incoming", f"partner={branch.code}", "topic=Звонок")
    assert out.exit_code == 0, out.output
    out = cli("partner", "history", head.code, "--format", "json")
    assert "Звонок" in {i["topic"] for i in json.loads(out.output)}
    out = cli("partner", "tree", shop.code)
    assert "Дальстрой 2 магазин" in out.output
    out = cli("interaction", "log", "call", f"partner={branch.code}")
    assert out.exit_code == 1 and "direction" in out.output


def test_generic_cli_verbs(crm, cli):
    assert cli("create", "core.partner", "name=Протон", "is_client=да").exit_code == 0
    out = cli("list", "core.partner", "--where", "name__contains=рот", "--format", "json")
    assert [p["name"] for p in json.loads(out.output)] == ["Протон"]
    assert cli("update", "core.partner", "00-00000001", "comment=важный").exit_code == 0
    assert cli("mark-deleted", "core.partner", "00-00000001").exit_code == 0
    assert json.loads(cli("list", "core.partner", "--format", "json").output) == []
    hist = json.loads(cli("history", "core.partner", "00-00000001", "--format", "json").output)
    assert [h["action"] for h in hist] == ["create", "update", "mark"]
    assert cli("delete", "core.partner", "00-00000001").exit_code == 0
    out = cli("create", "core.partner", "name=")
    assert out.exit_code == 1 and "name" in out.output
    out = cli("list", "core.partner", "--order-by", "name desc,(select 1)")
    assert out.exit_code == 1 and "cannot sort" in out.output
    out = json.loads(cli("plugins", "--format", "json").output)
    assert out[0]["name"] == "core" and "register_entities" in out[0]["hooks"]
    assert "core.partner" in cli("entities").output
