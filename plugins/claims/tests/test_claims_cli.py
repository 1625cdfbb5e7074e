import json

import pytest

from claims_fixtures import base

pytestmark = pytest.mark.plugins("claims")


def test_register_plan_resolve_show_through_the_cli(crm, cli):
    ids = base(crm)
    partner = crm.get("core.partner", ids["wholesale"]).code
    result = cli("claims", "register", "name=Претензия по качеству товара", f"client={partner}",
                 "cause=Испорченный товар", "responsible=volkov", "guilty_department=Отдел закупок",
                 "guilty_employee=petrov", "contact=Кузнецов", "registered_at=04.05.2015",
                 "planned_end=2015-05-14T18:00:00", user="volkov")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "registered claim 00-00000001"
    assert cli("claims", "plan", "add", "00-00000001", "Экспертиза товара", "--task", "--due", "2015-05-08",
               user="volkov").output.strip().startswith("added stage 1 with task 00-")
    refused = cli("claims", "resolve", "00-00000001", "satisfied", user="volkov")
    assert refused.exit_code == 1 and "status" in refused.output and "open stage" in refused.output
    assert cli("claims", "plan", "complete", "00-00000001", "1", "--result", "Брак подтвержден",
               user="volkov").output.strip() == "stage 1: done"
    done = cli("claims", "resolve", "00-00000001", "satisfied", "--decision", "Вернуть деньги",
               "--compensation", "1500.00", "--currency", "RUB", "--end", "2015-05-12T18:00:09+03:00",
               user="volkov")
    assert done.output.strip() == "claim 00-00000001: satisfied"
    shown = json.loads(cli("claims", "show", "00-00000001", "--format", "json", user="volkov").output)
    assert shown["claim"]["status"] == "satisfied" and shown["claim"]["compensation"] == "1500.00"
    assert shown["claim"]["cause"] == "Испорченный товар" and shown["claim"]["contact"] == "Кузнецов"
    assert shown["claim"]["actual_end"] == "2015-05-12T15:00:09+00:00"
    assert [(s["position"], s["title"], s["done"], s["result"]) for s in shown["plan"]] == [
        (1, "Экспертиза товара", True, "Брак подтвержден")]
    assert [(h["old_status"], h["new_status"], h["login"]) for h in shown["history"]] == [
        (None, "registered", "volkov"), ("registered", "satisfied", "volkov")]
    table = cli("claims", "show", "00-00000001", user="volkov", lang="ru").output
    assert "План проекта" in table and "История статусов" in table and "Удовлетворена" in table


def test_list_json_overdue_and_remind(crm, cli):
    ids = base(crm)
    for who in ("wholesale", "retail"):
        crm.create("claims.claim", {"name": f"Претензия {who}", "client": ids[who],
                                    "responsible": ids["users"]["volkov"], "registered_at": "2015-05-04T00:00:00",
                                    "planned_end": "2015-05-14T18:00:00"})
    rows = json.loads(cli("claims", "list", "--format", "json", user="volkov").output)
    assert [(r["code"], r["name"], r["status"]) for r in rows] == [
        ("00-00000002", "Претензия retail", "registered"), ("00-00000001", "Претензия wholesale", "registered")]
    assert [r["code"] for r in json.loads(cli("claims", "list", "--format", "json", user="orlov").output)] == [
        "00-00000001"]
    assert json.loads(cli("claims", "list", "--status", "satisfied", "--format", "json").output) == []
    overdue = json.loads(cli("claims", "overdue", "--at", "2015-06-01T00:00:00", "--format", "json").output)
    assert [r["code"] for r in overdue] == ["00-00000001", "00-00000002"]
    assert cli("claims", "overdue", "--at", "2015-05-01T00:00:00").output.strip() == "(nothing)"
    reminded = json.loads(cli("claims", "remind", "--at", "2015-06-01T00:00:00", "--format", "json").output)
    assert [r["result"] for r in reminded] == ["reminded", "reminded"]
    assert crm.count("core.reminder", user=ids["users"]["volkov"]) == 2


def test_bad_cli_input_names_the_field_and_writes_nothing(crm, cli):
    ids = base(crm)
    partner = crm.get("core.partner", ids["wholesale"]).code
    result = cli("claims", "register", "name=Претензия", f"client={partner}", "cause=Нет такой причины")
    assert result.exit_code == 1 and "cause" in result.output
    result = cli("claims", "register", "name=Претензия", f"client={partner}", "registered_at=2015-05-04",
                 "planned_end=2015-05-01")
    assert result.exit_code == 1 and "planned_end" in result.output
    result = cli("claims", "register", "name=Претензия", f"client={partner}", "compensation=-5")
    assert result.exit_code == 1 and "compensation" in result.output
    assert crm.count("claims.claim") == 0
    result = cli("claims", "overdue", "--at", "завтра")
    assert result.exit_code == 1 and "at" in result.output
    # a user without access to the client cannot register a claim for it
    retail = crm.get("core.partner", ids["retail"]).code
    result = cli("claims", "register", "name=Претензия", f"client={retail}", user="orlov")
    assert result.exit_code == 1
    assert crm.count("claims.claim") == 0


def test_report_runs_through_the_generic_report_command(crm, cli):
    ids = base(crm)
    crm.create("claims.claim", {"name": "Претензия", "client": ids["wholesale"], "cause": ids["cause"]})
    out = json.loads(cli("report", "run", "claims.by_cause", "--format", "json").output)
    assert out["sections"]["main"][0]["cause"] == "Испорченный товар"
    assert out["sections"]["main"][0]["claims"] == 1
