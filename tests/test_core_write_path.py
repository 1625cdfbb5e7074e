"""The one write path: validation, references, uniqueness, events, history."""
import datetime as dt

import pytest

from crmkit import ValidationError, NotFound

pytestmark = pytest.mark.plugins()


def partner(crm, **kw):
    return crm.create("core.partner", {"name": "Дальстрой", **kw})


def test_partner_gets_a_code_and_public_name(crm):
    p = partner(crm)
    assert p.code == "00-00000001"
    assert p.public_name == "Дальстрой"
    assert partner(crm, name="Дальстрой 2").code == "00-00000002"
    assert crm.get("core.partner", "00-00000002").name == "Дальстрой 2"


def test_code_numbering_continues_after_explicit_codes(crm):
    partner(crm, code="00-00000036")
    assert partner(crm, name="next").code == "00-00000037"


@pytest.mark.parametrize("data, field, fragment", [
    ({"name": "x", "kind": "alien"}, "kind", "unallowed value"),
    ({"name": "x", "registered_on": "not a date"}, "registered_on", "wrong type"),
    ({"name": "x", "is_client": "perhaps"}, "is_client", "wrong type"),
    ({"name": "x" * 201}, "name", "max length"),
    ({"name": ""}, "name", "empty"),
    ({}, "name", "required"),
    ({"name": "x", "colour": "red"}, "colour", "unknown field"),
    ({"name": "x", "id": 5}, "id", "read-only"),
    ({"name": "x", "created_at": "2015-01-01"}, "created_at", "read-only"),
    ({"name": "x", "head": 999}, "head", "does not exist"),
    ({"name": "x", "birth_date": "2000-01-01"}, "birth_date", "only individuals"),
])
def test_bad_partner_input_is_refused_and_nothing_written(crm, data, field, fragment):
    with pytest.raises(ValidationError) as exc:
        crm.create("core.partner", data)
    assert field in exc.value.errors
    assert fragment in " ".join(exc.value.errors[field])
    assert crm.count("core.partner", include_marked=True) == 0


def test_all_field_errors_come_at_once(crm):
    with pytest.raises(ValidationError) as exc:
        crm.create("core.partner", {"name": "", "kind": "alien", "bogus": 1})
    assert {"name", "kind", "bogus"} <= set(exc.value.errors)


def test_duplicate_code_refused(crm):
    partner(crm, code="00-00000010")
    with pytest.raises(ValidationError) as exc:
        partner(crm, name="other", code="00-00000010")
    assert "already used" in exc.value.errors["code"][0]


def test_holding_cycle_refused(crm):
    a = partner(crm, name="A")
    b = partner(crm, name="B", head=a.id)
    with pytest.raises(ValidationError) as exc:
        crm.update("core.partner", a.id, {"head": b.id})
    assert "head" in exc.value.errors


@pytest.mark.parametrize("kind, value, normalized", [
    ("email", "Олег <Smirnov@Dalstroy.Example>", "smirnov@dalstroy.example"),
    ("phone", "8 (914) 700-12-34", "+79147001234"),
    ("phone", "+44 20 7946 0958", "+442079460958"),
    ("web", "Example.com", "https://example.com"),
])
def test_contact_info_is_normalised(crm, kind, value, normalized):
    p = partner(crm)
    info = crm.create("core.contact_info", {"partner": p.id, "kind": kind, "value": value})
    assert info.normalized == normalized


@pytest.mark.parametrize("kind, value", [("email", "not-an-email"), ("phone", "12"), ("phone", "call me")])
def test_bad_contact_info_refused(crm, kind, value):
    p = partner(crm)
    with pytest.raises(ValidationError) as exc:
        crm.create("core.contact_info", {"partner": p.id, "kind": kind, "value": value})
    assert "value" in exc.value.errors
    assert crm.count("core.contact_info") == 0


def test_contact_info_needs_exactly_one_owner(crm):
    p = partner(crm)
    c = crm.create("core.contact", {"partner": p.id, "name": "Смирнов"})
    with pytest.raises(ValidationError):
        crm.create("core.contact_info", {"partner": p.id, "contact": c.id, "kind": "email", "value": "a@b.cd"})
    with pytest.raises(ValidationError):
        crm.create("core.contact_info", {"kind": "email", "value": "a@b.cd"})


def test_interaction_rules(crm):
    p = partner(crm)
    other = partner(crm, name="Other")
    c = crm.create("core.contact", {"partner": p.id, "name": "Смирнов Олег Иванович"})
    with pytest.raises(ValidationError) as exc:
        crm.create("core.interaction", {"kind": "call", "date": "2015-10-21T10:00:00", "partner": p.id})
    assert "direction" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-10-21",
                                        "partner": other.id, "contact": c.id})
    assert "contact" in exc.value.errors
    call = crm.create("core.interaction", {"kind": "call", "direction": "incoming",
                                           "date": "21.10.2015 00:00:00", "contact": c.id})
    assert call.partner_id == p.id  # taken from the contact
    assert call.date == dt.datetime(2015, 10, 21, tzinfo=dt.timezone.utc)
    assert call.number == "00-00000001"


def test_subject_reference_and_partner_derived_from_it(crm):
    p = partner(crm)
    call = crm.create("core.interaction", {"kind": "meeting", "date": "2015-10-22", "partner": p.id})
    task = crm.create("core.task", {"title": "Follow up", "subject": f"core.interaction:{call.id}"})
    assert (task.subject_type, task.subject_id, task.partner_id) == ("core.interaction", call.id, p.id)
    assert crm.describe(("core.interaction", call.id)).startswith("Interaction")
    assert [t.id for t in crm.related(f"core.interaction:{call.id}", "core.task")] == [task.id]
    with pytest.raises(ValidationError) as exc:
        crm.create("core.task", {"title": "x", "subject": "core.interaction:999"})
    assert "subject" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        crm.create("core.task", {"title": "x", "subject": "core.region:1"})
    assert "not a subject type" in exc.value.errors["subject"][0]


def test_update_records_changes_and_fires_once(crm):
    p = partner(crm)
    crm.update("core.partner", p.id, {"comment": "VIP", "name": "Дальстрой"})  # name unchanged
    crm.mark_deleted("core.partner", p.id)
    history = crm.history("core.partner", p.id)
    assert [(h.action, h.field, h.old, h.new) for h in history] == [
        ("create", "", None, history[0].new), ("update", "comment", "", "VIP"),
        ("mark", "deletion_mark", "False", "True")]
    assert all(h.user == "system" for h in history)


def test_deletion_needs_a_mark_and_marked_are_hidden(crm):
    p = partner(crm)
    with pytest.raises(ValidationError):
        crm.delete("core.partner", p.id)
    crm.mark_deleted("core.partner", p.id)
    assert crm.find("core.partner") == []
    assert len(crm.find("core.partner", include_marked=True)) == 1
    crm.delete("core.partner", p.id)
    with pytest.raises(NotFound):
        crm.get("core.partner", p.id)


def test_filters_and_sort_keys_are_whitelisted(crm):
    partner(crm, name="A")
    for bad in ({"name or 1=1": "x"}, {"name__raw": "x"}, {"1=1": True}):
        with pytest.raises(ValidationError):
            crm.find("core.partner", **bad)
    for order in ("name desc,(select 1)", "1=1", "x'; DROP TABLE core_partner;--"):
        with pytest.raises(ValidationError):
            crm.find("core.partner", order_by=order)
    assert crm.find("core.partner", name="x'; DROP TABLE core_partner;--") == []
    assert crm.count("core.partner") == 1


def test_reminders_are_personal(crm, open_crm):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    crm.create("core.user", {"login": "fedorov", "name": "Федоров", "roles": "manager"})
    orlov, fedorov = open_crm(user="orlov"), open_crm(user="fedorov")
    r = orlov.create("core.reminder", {"remind_at": "2015-10-20T15:30:35", "description": "Позвонить на ЛК"})
    assert r.user_id == orlov.actor.id
    assert fedorov.find("core.reminder") == []
    with pytest.raises(ValidationError):
        fedorov.create("core.reminder", {"remind_at": "2015-10-20", "description": "x", "user": orlov.actor.id})


def test_blank_optional_cells_take_defaults_in_bulk_import(crm, tmp_path):
    p = partner(crm)
    path = tmp_path / "contacts.csv"
    path.write_text(f"partner,name,position,role,birth_date,gender,comment\n{p.code},Иванов,,,,male,\n",
                    encoding="utf-8")
    assert crm.import_file("core.contact", path)["written"] == 1
    c = crm.find("core.contact")[0]
    assert (c.position, c.role, c.comment, c.birth_date, c.gender) == ("", "", "", None, "male")
