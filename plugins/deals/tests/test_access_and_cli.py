"""Row-level access in every report and read, and the command line."""
import json
from decimal import Decimal

import pytest

from crmkit import NotFound
from crmkit_deals import api

from deals_testing import at, new_deal

pytestmark = pytest.mark.plugins("deals")
REPORTS = ("deals.funnel", "deals.efficiency", "deals.loss_reasons", "deals.forecast", "deals.primary_demand",
           "deals.managers")


@pytest.fixture
def two_clients(crm, world):
    """Каждому клиенту по сделке каждого исхода; bob sees the wholesale client only."""
    ids = dict(world)
    for client, potential in (("acme", "100.00"), ("shop", "7.00")):
        won = new_deal(crm, ids, "manual", potential, client=client, name=f"won {client}", end_date="2015-05-01")
        crm.create("deals.demand", {"deal": won.id, "product": ids["tv"], "quantity": 1, "price": potential})
        api.win(crm, won.id, at=at((3, 2)))
        lost = new_deal(crm, ids, "manual", potential, client=client, name=f"lost {client}")
        api.lose(crm, lost.id, "Высокая цена", at=at((3, 2)))
        ids[f"open_{client}"] = new_deal(crm, ids, "process", potential, client=client, name=f"open {client}").id
    return ids


def test_a_user_without_access_to_the_client_sees_none_of_its_deals(open_crm, crm, two_clients):
    bob, ann = open_crm(user="bob"), open_crm(user="ann")
    for report in REPORTS:
        mine, everything = bob.report(report).render("json"), ann.report(report).render("json")
        assert "shop" not in mine and "Лавка" not in mine and "7.0" not in mine, report
        assert "Лавка" in everything or "7.0" in everything, report
    assert json.loads(bob.report("deals.efficiency").render("json"))["sections"]["By status"] == [
        {"Status": "In work", "Number of deals": 1, "Potential sales amount": 100.0},
        {"Status": "Won", "Number of deals": 1, "Potential sales amount": 100.0},
        {"Status": "Lost", "Number of deals": 1, "Potential sales amount": 100.0}]
    with pytest.raises(NotFound):
        api.get_deal(bob, two_clients["open_shop"])
    with pytest.raises(NotFound):
        api.route_map(bob, two_clients["open_shop"])
    assert all(h.deal.client_id == two_clients["acme"] for h in bob.find("deals.stage_history"))
    assert {t.partner_id for t in bob.find("core.task")} == {two_clients["acme"]}
    assert api.probability_breakdown(bob, two_clients["open_acme"])["overall_closed"] == 2


def test_cli_create_list_show_move_win(cli, crm, world):
    r = cli("deals", "create", "name=Продажа вентиляторов", "client=Акме", "kind=Вручную", "potential=884,70",
            "currency=usd", "responsible=ann")
    assert r.exit_code == 0, r.output
    code = r.output.split()[2]
    listed = json.loads(cli("deals", "list", "--format", "json", "--kind", "Вручную").output)
    assert [(d["code"], d["name"], d["stage"], Decimal(d["potential"]), d["currency"]) for d in listed] == [
        (code, "Продажа вентиляторов", "Контакт", Decimal("884.70"), "USD")]
    assert "stage Предложение" in cli("deals", "move", code, "next").output
    assert "stage Контакт" in cli("deals", "move", code, "Контакт").output
    bad = cli("deals", "move", code, "Чужой этап")
    assert bad.exit_code == 1 and "not a stage of kind" in bad.output
    shown = json.loads(cli("deals", "show", code, "--format", "json").output)
    assert [(r["stage"], r["state"]) for r in shown["route_map"]] == [
        ("Контакт", "current"), ("Предложение", "done"), ("Исполнение", "ahead")]
    assert [h["stage"] for h in shown["stage_history"]] == ["Контакт", "Предложение", "Контакт"]
    text = cli("deals", "show", code, lang="ru").output
    assert "Карта маршрута" in text and "История этапов" in text
    assert cli("deals", "win", code).exit_code == 0
    assert json.loads(cli("deals", "list", "--status", "won", "--format", "json").output)[0]["code"] == code


def test_cli_lose_needs_a_reason_and_complete_moves_a_process(cli, crm, world):
    code = new_deal(crm, world, "process", name="Телевизоры").code
    missing = cli("deals", "lose", code)
    assert missing.exit_code == 2 and "--reason" in missing.output
    done = cli("deals", "complete", code, "--result", "позвонили", user="ann")
    assert done.exit_code == 0 and "stage Предложение" in done.output
    assert cli("deals", "move", code, "next").exit_code == 1
    assert "lost" in cli("deals", "lose", code, "--reason", "Высокая цена").output
    assert crm.get("deals.deal", code).loss_reason.name == "Высокая цена"


def test_cli_kinds_and_stages(cli, crm):
    r = cli("deals", "kind", "add", "Сервис", "--process", "process", "--stage", "Заявка", "--stage", "Выезд")
    assert r.exit_code == 0, r.output
    r = cli("deals", "kind", "add-stage", "Сервис", "Акт", "--route-point", "Подписать акт",
            "--task", "Подписать акт по сделке {{ deal }}", "--days", "3")
    assert "number 3" in r.output
    stages = json.loads(cli("deals", "kind", "stages", "Сервис", "--format", "json").output)
    assert [(s["sequence"], s["stage"], s["route_point"]) for s in stages] == [
        (1, "Заявка", ""), (2, "Выезд", ""), (3, "Акт", "Подписать акт")]
    bad = cli("deals", "kind", "add-stage", "Сервис", "Ещё", "--task", "{{ deal.__class__ }")
    assert bad.exit_code == 1 and "tasks" in bad.output
    kinds = json.loads(cli("deals", "kind", "list", "--format", "json").output)
    assert kinds == [{"id": 1, "name": "Сервис", "process": "process", "stages": "Заявка → Выезд → Акт"}]
    assert cli("deals", "kind", "remove-stage", "Сервис", "Акт").output.strip() == "removed 1"
    assert "Заявка" in cli("deals", "stage", "list").output
