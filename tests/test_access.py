"""Row-level access: a user outside a partner's access group gets nothing
and changes nothing, on every path."""
import json

import pytest

from crmkit import AccessDenied, NotFound, ValidationError

pytestmark = pytest.mark.plugins()


@pytest.fixture
def world(crm, open_crm):
    wholesale = crm.create("core.access_group", {"name": "Оптовые покупатели"})
    retail = crm.create("core.access_group", {"name": "Розничные покупатели"})
    for login, roles in (("orlov", "manager"), ("volkov", "manager"), ("reader", "readonly")):
        crm.create("core.user", {"login": login, "name": login, "roles": roles})
    crm.create("core.user_access", {"user": crm.get("core.user", "orlov").id, "access_group": wholesale.id})
    crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": retail.id})
    crm.create("core.user_access", {"user": crm.get("core.user", "reader").id, "access_group": wholesale.id})
    hidden = crm.create("core.partner", {"name": "Дальстрой", "access_group": wholesale.id})
    head_child = crm.create("core.partner", {"name": "Дальстрой 2", "head": hidden.id, "access_group": wholesale.id})
    own = crm.create("core.partner", {"name": "Алхимов А.А.", "kind": "individual", "access_group": retail.id})
    contact = crm.create("core.contact", {"partner": hidden.id, "name": "Смирнов"})
    crm.create("core.contact_info", {"contact": contact.id, "kind": "email", "value": "smirnov@d.example"})
    call = crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-10-21",
                                           "partner": hidden.id, "contact": contact.id, "topic": "secret"})
    task = crm.create("core.task", {"title": "Позвонить", "subject": ("core.interaction", call.id)})
    return {"hidden": hidden, "child": head_child, "own": own, "contact": contact, "call": call, "task": task,
            "volkov": open_crm(user="volkov"), "orlov": open_crm(user="orlov"), "reader": open_crm(user="reader")}


def test_get_find_count(world):
    volkov = world["volkov"]
    for entity, key in (("core.partner", world["hidden"].id), ("core.contact", world["contact"].id),
                        ("core.interaction", world["call"].id), ("core.task", world["task"].id)):
        with pytest.raises(NotFound):
            volkov.get(entity, key)
    assert [p.name for p in volkov.find("core.partner")] == ["Алхимов А.А."]
    assert volkov.find("core.contact") == [] and volkov.find("core.contact_info") == []
    assert volkov.find("core.interaction") == [] and volkov.find("core.task") == []
    assert volkov.count("core.partner") == 1
    assert world["orlov"].count("core.partner") == 2


def test_update_mark_delete_refused(world):
    volkov = world["volkov"]
    with pytest.raises(NotFound):
        volkov.update("core.partner", world["hidden"].id, {"comment": "x"})
    with pytest.raises(NotFound):
        volkov.mark_deleted("core.interaction", world["call"].id)
    with pytest.raises((NotFound, AccessDenied)):
        volkov.delete("core.partner", world["hidden"].id)
    assert world["orlov"].get("core.partner", world["hidden"].id).comment == ""


def test_cannot_attach_to_or_move_into_foreign_partner(world):
    volkov = world["volkov"]
    with pytest.raises(ValidationError) as exc:
        volkov.create("core.contact", {"partner": world["hidden"].id, "name": "spy"})
    assert "partner" in exc.value.errors
    with pytest.raises(ValidationError):
        volkov.create("core.task", {"title": "x", "subject": ("core.interaction", world["call"].id)})
    wholesale = world["hidden"].access_group_id
    with pytest.raises(ValidationError) as exc:
        volkov.update("core.partner", world["own"].id, {"access_group": wholesale})
    assert "access_group" in exc.value.errors


def test_reports_and_exports_filtered(world):
    volkov = world["volkov"]
    frame = volkov.report("core.interactions").frame
    assert frame["count"].sum() == 0 if len(frame) else True
    exported = json.loads(volkov.export("core.partner", "json"))
    assert [p["name"] for p in exported] == ["Алхимов А.А."]
    assert "Дальстрой" not in volkov.export("core.contact", "csv")
    assert world["orlov"].report("core.interactions").frame["count"].sum() == 1


def test_roles_limit_verbs(world):
    reader = world["reader"]
    assert reader.get("core.partner", world["hidden"].id)
    with pytest.raises(AccessDenied):
        reader.create("core.partner", {"name": "x"})
    with pytest.raises(AccessDenied):
        reader.update("core.partner", world["hidden"].id, {"comment": "x"})


def test_non_admin_cannot_grant_roles_or_groups(world):
    orlov = world["orlov"]
    me = orlov.actor.id
    with pytest.raises(AccessDenied):
        orlov.update("core.user", me, {"roles": "administrator"})
    with pytest.raises(AccessDenied):
        orlov.create("core.user_access", {"user": me, "access_group": world["own"].access_group_id})
    with pytest.raises(AccessDenied):
        orlov.create("core.user", {"login": "evil", "name": "x", "roles": "administrator"})


def test_unknown_user_refused(open_crm):
    with pytest.raises(AccessDenied):
        open_crm(user="nobody")


def test_cli_paths_filtered(world, cli):
    out = cli("list", "core.partner", "--format", "json", user="volkov")
    assert [p["name"] for p in json.loads(out.output)] == ["Алхимов А.А."]
    out = cli("show", "core.partner", str(world["hidden"].id), user="volkov")
    assert out.exit_code == 1 and "not found" in out.output
    out = cli("export", "core.interaction", user="volkov")
    assert "secret" not in out.output
    out = cli("partner", "history", str(world["own"].id), "--format", "json", user="volkov")
    assert json.loads(out.output) == []


def test_reference_probe_is_per_user_and_follows_new_groups(world, crm, open_crm):
    """The reference check's SQL is reused per user: one user's access never
    answers for another's, and a user given a group sees its partners next
    time the user is loaded."""
    hidden, own = world["hidden"].id, world["own"].id
    orlov, volkov = world["orlov"], world["volkov"]
    for _ in range(2):                      # the second time from the reused statement
        assert orlov.create("core.contact", {"partner": hidden, "name": "свой"}).partner_id == hidden
        with pytest.raises(ValidationError) as exc:
            volkov.create("core.contact", {"partner": hidden, "name": "чужой"})
        assert list(exc.value.errors) == ["partner"]
        assert volkov.create("core.contact", {"partner": own, "name": "свой"}).partner_id == own
        with pytest.raises(ValidationError):
            orlov.create("core.contact", {"partner": own, "name": "чужой"})
    wholesale = crm.get("core.partner", hidden).access_group_id
    crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": wholesale})
    assert open_crm(user="volkov").create("core.contact", {"partner": hidden, "name": "теперь свой"}).id
