from decimal import Decimal

import pytest

from crmkit import NotFound, ValidationError

from claims_fixtures import at, base, claim

pytestmark = pytest.mark.plugins("claims")


def test_register_numbers_and_records_history(crm):
    ids = base(crm)
    officer = crm.as_user("volkov")
    first = claim(officer, ids)
    second = claim(officer, ids, who="retail")
    assert (first.code, second.code) == ("00-00000001", "00-00000002")
    assert first.status == "registered" and first.actual_end is None
    history = crm.find("claims.status_change", claim=first.id)
    assert [(h.old_status, h.new_status, h.login, h.user_id) for h in history] == [
        (None, "registered", "volkov", ids["users"]["volkov"])]


def test_final_status_refused_while_plan_stages_are_open(crm):
    ids = base(crm)
    record = claim(crm, ids)
    from crmkit_claims import api
    api.add_stage(crm, record.code, "Экспертиза товара")
    api.add_stage(crm, record.code, "Ответ клиенту")
    with pytest.raises(ValidationError) as err:
        api.set_status(crm, record.code, "satisfied", compensation="100")
    assert "status" in err.value.errors and "2 open stage" in err.value.errors["status"][0]
    stored = crm.get("claims.claim", record.id)
    assert (stored.status, stored.compensation, stored.actual_end) == ("registered", Decimal("0"), None)
    assert crm.count("claims.status_change", claim=record.id) == 1
    api.complete_stage(crm, record.code, 1, "товар испорчен")
    with pytest.raises(ValidationError):
        api.set_status(crm, record.code, "partly_satisfied")
    api.complete_stage(crm, record.code, 2)
    closed = api.set_status(crm, record.code, "partly_satisfied", decision="Скидка", compensation="1500.50",
                            currency="RUB")
    assert closed.status == "partly_satisfied" and closed.compensation == Decimal("1500.50")
    assert closed.actual_end is not None  # a final status closes the claim now
    assert [h.new_status for h in api.history(crm, record.code)] == ["registered", "partly_satisfied"]
    # the plan of a closed claim is frozen
    with pytest.raises(ValidationError) as err:
        api.add_stage(crm, record.code, "Ещё этап")
    assert "claim" in err.value.errors
    # reopening clears the end
    reopened = api.set_status(crm, record.code, "in_work")
    assert reopened.actual_end is None


def test_end_before_registration_rejected(crm):
    ids = base(crm)
    with pytest.raises(ValidationError) as err:
        claim(crm, ids, planned_end=at("2015-05-03T23:59:59"))
    assert set(err.value.errors) == {"planned_end"}
    assert crm.count("claims.claim") == 0 and crm.count("claims.status_change") == 0
    record = claim(crm, ids)
    from crmkit_claims import api
    with pytest.raises(ValidationError) as err:
        api.set_status(crm, record.id, "not_satisfied", actual_end=at("2015-05-01T10:00:00"))
    assert set(err.value.errors) == {"actual_end"}
    assert crm.get("claims.claim", record.id).status == "registered"
    with pytest.raises(ValidationError) as err:   # moving the registration after the end
        api.set_status(crm, record.id, "not_satisfied", actual_end=at("2015-05-12T18:00:09"))
        crm.update("claims.claim", record.id, {"registered_at": at("2015-05-15T00:00:00")})
    assert set(err.value.errors) == {"actual_end", "planned_end"}


BAD_INPUT = [
    ({"name": ""}, "name"),
    ({"client": None}, "client"),
    ({"status": "won"}, "status"),
    ({"compensation": "-1"}, "compensation"),
    ({"compensation": "много"}, "compensation"),
    ({"currency": "rub"}, "currency"),
    ({"registered_at": "вчера"}, "registered_at"),
    ({"actual_end": "2015-05-10T00:00:00"}, "actual_end"),   # not closed: no end
    ({"cause": 999}, "cause"),
    ({"unknown": 1}, "unknown"),
    ({"subject": "nothing.here:1"}, "subject"),
]


def test_bad_claim_input_names_the_field_and_writes_nothing(crm):
    ids = base(crm)
    for bad, field in BAD_INPUT:
        with pytest.raises(ValidationError) as err:
            claim(crm, ids, **bad)
        assert field in err.value.errors, bad
    assert crm.count("claims.claim") == 0 and crm.count("claims.status_change") == 0


def test_contact_must_belong_to_the_client(crm):
    ids = base(crm)
    with pytest.raises(ValidationError) as err:
        claim(crm, ids, who="retail", contact=ids["contact"])
    assert "contact" in err.value.errors
    assert claim(crm, ids, contact=ids["contact"]).contact_id == ids["contact"]


def test_basis_is_a_subject_reference_and_the_claim_is_a_subject(crm):
    ids = base(crm)
    call = crm.create("core.interaction", {"kind": "call", "direction": "incoming", "partner": ids["wholesale"],
                                           "date": at("2015-05-03T12:00:00"), "topic": "Жалоба"})
    from crmkit_claims import api
    record = api.register(crm, {"name": "Претензия", "basis": f"core.interaction:{call.id}",
                                "registered_at": at("2015-05-04T00:00:00")})
    # the client follows from the basis when not given
    assert (record.subject_type, record.subject_id, record.client_id) == ("core.interaction", call.id,
                                                                           ids["wholesale"])
    meeting = crm.create("core.interaction", {"kind": "meeting", "date": at("2015-05-05T10:00:00"),
                                              "topic": "Разбор претензии", "subject": f"claims.claim:{record.id}"})
    assert meeting.partner_id == ids["wholesale"]
    assert [i.id for i in crm.related(f"claims.claim:{record.id}", "core.interaction")] == [meeting.id]
    assert crm.describe(f"claims.claim:{record.id}") == "Client claim: Претензия"


def test_stage_task_and_completion_follow_each_other(crm):
    ids = base(crm)
    officer = crm.as_user("volkov")
    record = claim(officer, ids)
    from crmkit_claims import api
    stage = api.add_stage(officer, record.code, "Экспертиза", responsible=ids["users"]["orlov"],
                          due=at("2015-05-08T18:00:00"), with_task=True)
    assert (stage.position, stage.responsible_id) == (1, ids["users"]["orlov"])
    task = crm.get("core.task", stage.task_id)
    assert (task.performer_id, task.subject_type, task.subject_id, task.partner_id) == (
        ids["users"]["orlov"], "claims.claim", record.id, ids["wholesale"])
    assert task.due == at("2015-05-08T18:00:00")
    with pytest.raises(ValidationError) as err:   # one task per stage
        api.create_task(officer, stage)
    assert "task" in err.value.errors
    # the responsible completes the task (a manager, no rights on claims): the stage is done
    crm.as_user("orlov").update("core.task", task.id, {"state": "done", "result": "Товар испорчен"})
    stage = crm.get("claims.stage", stage.id)
    assert stage.done and stage.result == "Товар испорчен" and stage.done_at is not None
    # a default stage responsible is the claim's
    second = api.add_stage(officer, record.code, "Ответ клиенту")
    assert (second.position, second.responsible_id) == (2, ids["users"]["volkov"])
    with pytest.raises(ValidationError) as err:
        api.add_stage(officer, record.code, "Дубль", position=2)
    assert "position" in err.value.errors
    with pytest.raises(ValidationError) as err:
        api.add_stage(officer, record.code, "Раньше претензии", due=at("2015-05-01T00:00:00"))
    assert "due" in err.value.errors
    assert crm.count("claims.stage", claim=record.id) == 2


def test_status_history_cannot_be_written_by_hand(crm):
    ids = base(crm)
    record = claim(crm, ids)
    with pytest.raises(ValidationError):
        crm.create("claims.status_change", {"claim": record.id, "new_status": "satisfied",
                                            "at": at("2015-05-05T00:00:00")})
    assert crm.count("claims.status_change") == 1


def test_participants_are_users_or_client_contacts(crm):
    ids = base(crm)
    record = claim(crm, ids)
    crm.create("claims.participant", {"claim": record.id, "user": ids["users"]["orlov"], "role": "эксперт"})
    crm.create("claims.participant", {"claim": record.id, "contact": ids["contact"], "role": "заявитель"})
    with pytest.raises(ValidationError) as err:
        crm.create("claims.participant", {"claim": record.id, "role": "никто"})
    assert "user" in err.value.errors
    other = claim(crm, ids, who="retail")
    with pytest.raises(ValidationError) as err:
        crm.create("claims.participant", {"claim": other.id, "contact": ids["contact"]})
    assert "contact" in err.value.errors
    assert crm.count("claims.participant") == 2


def test_user_without_access_to_the_client_sees_none_of_its_claims(crm):
    ids = base(crm)
    retail = claim(crm, ids, who="retail")
    wholesale = claim(crm, ids)
    from crmkit_claims import api
    api.add_stage(crm, retail.code, "Экспертиза")
    orlov = crm.as_user("orlov")           # wholesale only
    assert [c.id for c in orlov.find("claims.claim")] == [wholesale.id]
    with pytest.raises(NotFound):
        orlov.get("claims.claim", retail.code)
    assert orlov.find("claims.stage") == [] and orlov.count("claims.status_change") == 1
    assert list(orlov.report("claims.register").frame["code"]) == [wholesale.code]
    assert orlov.report("claims.by_cause").frame["claims"].tolist() == [1]
    petrov = crm.as_user("petrov")         # no access group at all
    assert petrov.find("claims.claim") == []
    assert petrov.report("claims.register").frame.empty
    assert petrov.report("claims.resolution")["total"]["claims"].tolist() == [0]
    assert api.overdue(petrov, at("2016-01-01T00:00:00")) == []


def test_deletion_marked_claims_leave_the_reports(crm):
    ids = base(crm)
    record = claim(crm, ids)
    claim(crm, ids)
    crm.mark_deleted("claims.claim", record.id)
    assert len(crm.report("claims.register").frame) == 1
    assert crm.report("claims.by_cause").frame["claims"].tolist() == [1]


def test_compensation_sums_never_mix_currencies(crm):
    ids = base(crm)
    from crmkit_claims import api
    for amount, currency in (("100.10", "RUB"), ("200.20", "RUB"), ("30", "EUR")):
        record = claim(crm, ids)
        api.set_status(crm, record.id, "satisfied", compensation=amount, currency=currency,
                       actual_end=at("2015-05-10T00:00:00"))
    comp = crm.report("claims.by_cause")["compensation"]
    assert [(r.currency, r.compensation, r.compensated) for r in comp.itertuples()] == [
        ("EUR", Decimal("30.00"), 1), ("RUB", Decimal("300.30"), 2)]


def test_overdue_and_remind(crm):
    ids = base(crm)
    from crmkit_claims import api
    late = claim(crm, ids)                                              # planned end 14.05 18:00
    claim(crm, ids, planned_end=at("2015-06-30T18:00:00"))               # not yet due
    done = claim(crm, ids)
    api.set_status(crm, done.id, "satisfied", actual_end=at("2015-05-20T00:00:00"))
    claim(crm, ids, responsible=None)                                    # overdue, nobody to remind
    moment = at("2015-06-01T00:00:00")
    assert [c.id for c in api.overdue(crm, moment)] == [late.id, late.id + 3]
    assert api.overdue(crm, at("2015-05-14T17:00:00")) == []
    results = api.remind(crm, moment)
    assert [(c.id, note) for c, _, note in results] == [(late.id, "reminded"), (late.id + 3, "no responsible")]
    reminder = results[0][1]
    assert (reminder.user_id, reminder.subject_type, reminder.subject_id, reminder.partner_id) == (
        ids["users"]["volkov"], "claims.claim", late.id, ids["wholesale"])
    assert reminder.event_at == at("2015-05-14T18:00:00")
    assert [note for _, _, note in api.remind(crm, moment)] == ["already reminded", "no responsible"]
    # a claims officer reminds himself only
    orlov_claim = claim(crm, ids, responsible=ids["users"]["orlov"])
    notes = {c.id: note for c, _, note in api.remind(crm.as_user("volkov"), moment)}
    assert notes[orlov_claim.id] == "only an administrator may remind other users"
    assert crm.count("core.reminder") == 1


def test_personal_data_is_collected_and_erased_keeping_the_figures(crm):
    ids = base(crm)
    from crmkit_claims import api
    record = claim(crm, ids, contact=ids["contact"], description="Кузнецов жалуется на брак",
                   comment="звонил с личного номера")
    other = claim(crm, ids, who="retail", description="чужая претензия")
    crm.create("claims.participant", {"claim": record.id, "contact": ids["contact"], "comment": "заявитель"})
    api.set_status(crm, record.id, "satisfied", compensation="100", decision="Вернуть деньги Кузнецову",
                   actual_end=at("2015-05-10T00:00:00"))
    found = [r for r in crm.pm.hook.crmkit_collect_personal_data(crm=crm, partner_id=ids["wholesale"],
                                                                 contact_ids=[ids["contact"]]) if r]
    sections = {k: v for r in found for k, v in r.items()}
    assert [c["code"] for c in sections["claims"]] == [record.code]
    assert sections["claims"][0]["description"] == "Кузнецов жалуется на брак"
    assert [p["comment"] for p in sections["claim participants"]] == ["заявитель"]
    with crm.transaction():
        crm.pm.hook.crmkit_erase_personal_data(crm=crm, partner_id=ids["wholesale"], contact_ids=[ids["contact"]])
    erased = crm.get("claims.claim", record.id)
    assert (erased.description, erased.comment, erased.decision, erased.contact_id) == ("", "", "", None)
    assert (erased.status, erased.compensation, erased.cause_id) == ("satisfied", 100, ids["cause"])
    assert crm.get("claims.claim", other.id).description == "чужая претензия"
    assert crm.find("claims.participant")[0].comment == ""
    assert crm.report("claims.by_cause")["compensation"]["compensation"].tolist() == [100]


def test_status_changes_reach_other_plugins_inside_the_write(open_crm):
    import types

    import crmkit
    seen = []
    listener = types.ModuleType("claim_listener")
    listener.PLUGIN = crmkit.PluginMeta(name="claim_listener", requires=("claims",))

    @crmkit.hookimpl
    def crmkit_claim_status_changed(crm, claim, old_status, new_status):
        seen.append((claim.status, old_status, new_status))
        if new_status == "not_satisfied":
            raise RuntimeError("a listener refusing the change")

    listener.crmkit_claim_status_changed = crmkit_claim_status_changed
    crm = open_crm(extra=[listener])
    ids = base(crm)
    first = claim(crm, ids)
    crm.update("claims.claim", first.id, {"status": "in_work"})
    crm.update("claims.claim", first.id, {"name": "renamed"})           # no status change: no event
    with pytest.raises(RuntimeError):
        crm.update("claims.claim", first.id, {"status": "not_satisfied"})
    assert seen == [("in_work", "registered", "in_work"), ("not_satisfied", "in_work", "not_satisfied")]
    assert crm.get("claims.claim", first.id).status == "in_work"          # the refusal undid the write
