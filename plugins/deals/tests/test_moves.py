"""Stage moves in each kind, process tasks, stage history, bad input."""
import types
from decimal import Decimal

import pytest

import crmkit
from crmkit import ValidationError
from crmkit_deals import api
from crmkit_deals import models as m

from deals_testing import at, new_deal

pytestmark = pytest.mark.plugins("deals")


def history(deal_id):
    H = m.StageHistory
    return [(h.stage.name if h.stage_id else None, h.status, h.passage, h.left_at is None, h.days)
            for h in H.select().where(H.deal == deal_id).order_by(H.entered_at, H.id)]


def tasks_of(crm, deal_id):
    T = crm.model("core.task")
    return list(T.select().where((T.subject_type == "deals.deal") & (T.subject_id == deal_id)).order_by(T.id))


def test_manual_kind_moves_forward_and_back_with_dates(crm, world):
    deal = new_deal(crm, world, "manual")
    assert deal.stage_id == world["Контакт"] and deal.code.startswith("00-")
    api.move_to_stage(crm, deal.id, "Исполнение", at=at((3, 3)))
    api.move_to_stage(crm, deal.id, "previous", at=at((3, 4), 21))
    api.move_to_stage(crm, deal.id, "Контакт", at=at((3, 5)))
    assert history(deal.id) == [
        ("Контакт", "in_work", True, False, Decimal("2.00")),
        ("Исполнение", "in_work", True, False, Decimal("1.50")),
        ("Предложение", "in_work", True, False, Decimal("0.50")),
        ("Контакт", "in_work", True, True, None)]
    assert tasks_of(crm, deal.id) == []           # manual kinds set no tasks
    route = {r["stage"]: r["state"] for r in api.route_map(crm, deal.id)}
    assert route == {"Контакт": "current", "Предложение": "done", "Исполнение": "done"}


def test_bad_moves_are_rejected_and_write_nothing(crm, world):
    deal = new_deal(crm, world, "manual")
    before = history(deal.id)
    with pytest.raises(ValidationError) as exc:
        api.move_to_stage(crm, deal.id, "Чужой этап")
    assert "stage" in exc.value.errors and "not a stage of kind" in str(exc.value)
    api.move_to_stage(crm, deal.id, "Исполнение", at=at((3, 2)))
    with pytest.raises(ValidationError) as exc:
        api.move_to_stage(crm, deal.id, "next")
    assert "last stage" in str(exc.value.errors["stage"])
    assert history(deal.id) == before[:0] + [("Контакт", "in_work", True, False, Decimal("1.00")),
                                             ("Исполнение", "in_work", True, True, None)]
    flat = new_deal(crm, world, "flat")
    with pytest.raises(ValidationError) as exc:
        crm.update("deals.deal", flat.id, {"stage": world["Контакт"]})
    assert "stage" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        crm.update("deals.deal", deal.id, {"kind": world["other"]})
    assert "kind" in exc.value.errors
    assert m.Deal.get_by_id(deal.id).stage_id == world["Исполнение"]


def test_process_kind_sets_tasks_and_completing_them_moves_on(crm, world):
    deal = new_deal(crm, world, "process", name="Продажа телевизоров")
    [task] = tasks_of(crm, deal.id)
    assert (task.title, task.route_point, task.performer_id, task.state, task.partner_id) == \
        ("Связаться по сделке Продажа телевизоров", "Связаться", world["ann"], "active", world["acme"])
    assert task.due == at((3, 3))                       # entered 1 March + 2 days
    with pytest.raises(ValidationError) as exc:          # by hand: no
        api.move_to_stage(crm, deal.id, "next")
    assert "completed" in str(exc.value.errors["stage"])
    # the task done through core moves the deal on and sets the next stage's two tasks
    ann = crm.as_user("ann")
    ann.update("core.task", task.id, {"state": "done"})
    deal = m.Deal.get_by_id(deal.id)
    assert deal.stage_id == world["Предложение"]
    open_tasks = api.open_stage_tasks(crm, deal.id)
    assert [t.title for t in open_tasks] == ["Подготовить КП для Акме", "Согласовать КП по сделке Продажа телевизоров"]
    ann.update("core.task", open_tasks[0].id, {"state": "done"})
    assert m.Deal.get_by_id(deal.id).stage_id == world["Предложение"]   # one task still open
    with pytest.raises(ValidationError) as exc:          # before the last move: refused
        api.complete_stage(crm, deal.id, at=at((3, 10)))
    assert "at" in exc.value.errors
    api.complete_stage(crm, deal.id)
    assert m.Deal.get_by_id(deal.id).stage_id == world["Исполнение"]
    api.complete_stage(crm, deal.id)
    assert m.Deal.get_by_id(deal.id).stage_id == world["Исполнение"]   # the route is complete
    with pytest.raises(ValidationError) as exc:          # past the last stage
        api.complete_stage(crm, deal.id)
    assert "route is complete" in str(exc.value.errors["stage"])
    route = [(r["stage"], r["state"]) for r in api.route_map(crm, deal.id)]
    assert route == [("Контакт", "done"), ("Предложение", "done"), ("Исполнение", "current")]
    api.win(crm, deal.id)
    hist = history(deal.id)
    assert [h[:3] for h in hist] == [("Контакт", "in_work", True), ("Предложение", "in_work", True),
                                     ("Исполнение", "in_work", True), ("Исполнение", "won", False)]
    assert hist[0][4] > Decimal(3000) and hist[2][4] == Decimal("0.00") and hist[3][3] is True
    assert m.Deal.get_by_id(deal.id).closed_at is not None


def test_process_deal_starts_at_first_stage_and_loss_stops_its_tasks(crm, world):
    with pytest.raises(ValidationError) as exc:
        new_deal(crm, world, "process", stage=world["Предложение"])
    assert "first stage" in str(exc.value.errors["stage"])
    deal = new_deal(crm, world, "process")
    api.lose(crm, deal.id, "Высокая цена", at=at((3, 2)))
    assert [t.state for t in tasks_of(crm, deal.id)] == ["stopped"]
    assert m.Deal.get_by_id(deal.id).loss_reason_id == world["price"]
    with pytest.raises(ValidationError):
        api.complete_stage(crm, deal.id)
    api.reopen(crm, deal.id, at=at((3, 3)))
    deal = m.Deal.get_by_id(deal.id)
    assert (deal.status, deal.loss_reason_id, deal.closed_at) == ("in_work", None, None)
    assert [h[1] for h in history(deal.id)] == ["in_work", "lost", "in_work"]


def test_kind_without_stages_records_status_changes(crm, world):
    deal = new_deal(crm, world, "flat")
    assert deal.stage_id is None
    api.win(crm, deal.id, at=at((4, 1)))
    assert history(deal.id) == [(None, "in_work", False, False, None), (None, "won", False, True, None)]


@pytest.mark.parametrize("data, field", [
    ({"potential": "-1"}, "potential"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "US"}, "currency"),
    ({"probability": 101}, "probability"),
    ({"status": "lost"}, "loss_reason"),
    ({"end_date": "2015-02-01"}, "end_date"),
    ({"name": ""}, "name"),
])
def test_bad_deal_input_is_rejected_with_nothing_written(crm, world, data, field):
    payload = {"name": "x", "client": world["acme"], "kind": world["manual"], "start_date": "2015-03-01", **data}
    with pytest.raises(ValidationError) as exc:
        crm.create("deals.deal", payload)
    assert field in exc.value.errors
    assert m.Deal.select().count() == 0 and m.StageHistory.select().count() == 0


def test_losing_without_a_reason_writes_nothing(crm, world):
    deal = new_deal(crm, world, "manual")
    before = history(deal.id)
    with pytest.raises(ValidationError) as exc:
        api.lose(crm, deal.id, None)
    assert "loss_reason" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        api.lose(crm, deal.id, "Нет такой причины")
    assert "loss_reason" in exc.value.errors
    won = new_deal(crm, world, "flat")
    with pytest.raises(ValidationError) as exc:
        crm.update("deals.deal", won.id, {"status": "won", "loss_reason": world["price"]})
    assert "loss_reason" in exc.value.errors
    assert m.Deal.get_by_id(deal.id).status == "in_work" and history(deal.id) == before


def test_currency_is_normalised_and_agreement_must_be_the_clients(crm, world):
    deal = new_deal(crm, world, "flat", currency="eur")
    assert deal.currency == "EUR"
    theirs = crm.create("deals.agreement", {"name": "Чужое", "client": world["shop"]}).id
    general = crm.create("deals.agreement", {"name": "Общее"}).id
    with pytest.raises(ValidationError) as exc:
        crm.update("deals.deal", deal.id, {"agreement": theirs})
    assert "agreement" in exc.value.errors
    assert crm.update("deals.deal", deal.id, {"agreement": general}).agreement_id == general


def test_history_cannot_be_written_by_hand_and_backdating_is_admin_only(crm, world):
    deal = new_deal(crm, world, "manual")
    with pytest.raises(ValidationError):
        crm.create("deals.stage_history", {"deal": deal.id, "status": "won", "entered_at": at((1, 1))})
    with pytest.raises(crmkit.AccessDenied):
        api.move_to_stage(crm.as_user("ann"), deal.id, "next", at=at((3, 2)))


def test_demand_amount_and_potential_fill(crm, world):
    deal = new_deal(crm, world, "flat", potential="0")
    crm.create("deals.demand", {"deal": deal.id, "product": world["tv"], "quantity": "3", "price": "294.90"})
    crm.create("deals.demand", {"deal": deal.id, "product": world["fan"], "quantity": "2", "price": "10.005"})
    with pytest.raises(ValidationError) as exc:
        crm.create("deals.demand", {"deal": deal.id, "product": world["fan"], "quantity": "0", "price": "1"})
    assert "quantity" in exc.value.errors
    assert api.fill_potential(crm, deal.id).potential == Decimal("904.72")
    with pytest.raises(ValidationError) as exc:
        crm.create("deals.participant", {"deal": deal.id, "role": "никто"})
    assert "partner" in exc.value.errors


def test_deal_events_reach_other_plugins(open_crm):
    seen = []
    listener = types.ModuleType("deal_listener")
    listener.PLUGIN = crmkit.PluginMeta(name="deal_listener", requires=("deals",))

    @crmkit.hookimpl
    def crmkit_deal_stage_changed(crm, deal, old_stage, new_stage):
        seen.append(("stage", old_stage, new_stage))

    @crmkit.hookimpl
    def crmkit_deal_status_changed(crm, deal, old_status, new_status):
        seen.append(("status", old_status, new_status))

    listener.crmkit_deal_stage_changed = crmkit_deal_stage_changed
    listener.crmkit_deal_status_changed = crmkit_deal_status_changed
    crm = open_crm(extra=[listener])
    partner = crm.create("core.partner", {"name": "P"}).id
    kind = crm.create("deals.kind", {"name": "K"}).id
    s1, s2 = (crm.create("deals.stage", {"name": n}).id for n in ("A", "B"))
    for s in (s1, s2):
        crm.create("deals.kind_stage", {"kind": kind, "stage": s})
    deal = crm.create("deals.deal", {"name": "D", "client": partner, "kind": kind})
    api.move_to_stage(crm, deal.id, "next")
    api.win(crm, deal.id)
    assert seen == [("stage", s1, s2), ("status", "in_work", "won")]


def test_subject_description_and_related_tasks(crm, world):
    deal = new_deal(crm, world, "process", name="Продажа телевизоров")
    assert crm.describe(("deals.deal", deal.id)) == "Deal with client: Продажа телевизоров"
    assert [t.route_point for t in crm.related(f"deals.deal:{deal.id}", "core.task")] == ["Связаться"]
