"""A partner's duplicate keys come from its own contact information and from
its contact persons'. Every path that moves a contact to another partner, or
a piece of contact information to another partner or contact, or takes it
away (update, bulk import update and upsert, merge, deletion) reindexes the
owner it left as well as the one it joined: afterwards the keys are found
under the new partner and not under the old."""
import pandas as pd
import pytest

pytestmark = pytest.mark.plugins("core")

EMAIL, PHONE = "ivan@granit-stroy.ru", "+7 916 111-22-33"


def _keys(pid):
    from crmkit.kernel.models import MatchKey
    return {(k.rule, k.key) for k in MatchKey.select().where((MatchKey.entity == "core.partner")
                                                             & (MatchKey.record_id == pid))}


def _paired(crm, rule):
    from crmkit.kernel.duplicates import candidate_pairs
    pairs = candidate_pairs(crm, "core.partner", [rule])
    return {(int(a), int(b)) for a, b in zip(pairs["a"], pairs["b"])}


@pytest.fixture
def world(crm):
    """OLD has contact Иван with a work email and phone; OTHER has a
    colleague's email of the same domain and the same phone; NEW has a
    contact of its own and nothing the rules key on."""
    old = crm.create("core.partner", {"name": "Альфа"})
    new = crm.create("core.partner", {"name": "Бета"})
    other = crm.create("core.partner", {"name": "Гамма"})
    ivan = crm.create("core.contact", {"partner": old.id, "name": "Иван"})
    petr = crm.create("core.contact", {"partner": new.id, "name": "Пётр"})
    infos = [crm.create("core.contact_info", {"contact": ivan.id, "kind": "email", "value": EMAIL}),
             crm.create("core.contact_info", {"contact": ivan.id, "kind": "phone", "value": PHONE})]
    crm.create("core.contact_info", {"partner": other.id, "kind": "email", "value": "office@granit-stroy.ru"})
    crm.create("core.contact_info", {"partner": other.id, "kind": "phone", "value": "8 (916) 111 22 33"})
    w = {"old": old.id, "new": new.id, "other": other.id, "ivan": ivan.id, "petr": petr.id,
         "infos": [i.id for i in infos]}
    _assert_keys_under(crm, w, w["old"])       # the starting point the moves leave
    return w


def _assert_keys_under(crm, w, owner, gone=None):
    """The contact's keys are the owner's alone: found with OTHER under it,
    not under the partner it left (``gone``)."""
    wanted = {("email_domain", "granit-stroy.ru"), ("phone", "+79161112233")}
    assert wanted <= _keys(owner)
    for rule in ("email_domain", "phone"):
        assert _paired(crm, rule) == {tuple(sorted((owner, w["other"])))}, rule
    looks = {m["id"] for m in crm.duplicates("core.partner", {"email": "sales@granit-stroy.ru",
                                                              "phone": "89161112233"})}
    assert looks == {owner, w["other"]}
    if gone is not None:
        assert not wanted & _keys(gone)
        assert gone not in looks


def _contacts_frame(crm, w, partner):
    return pd.DataFrame({"id": [str(w["ivan"])], "name": ["Иван"], "partner": [str(partner)]})


def move_by_update(crm, w):
    crm.update("core.contact", w["ivan"], {"partner": w["new"]})


def move_by_import_update(crm, w):
    summary = crm.import_frame("core.contact", _contacts_frame(crm, w, w["new"]), mode="update", key="id")
    assert summary["updated"] == 1


def move_by_import_upsert(crm, w):
    frame = pd.concat([_contacts_frame(crm, w, w["new"]),
                       pd.DataFrame({"id": [""], "name": ["Сергей"], "partner": [str(w["other"])]})])
    summary = crm.import_frame("core.contact", frame, mode="upsert", key="id")
    assert (summary["updated"], summary["inserted"]) == (1, 1)


def infos_by_update(crm, w):   # the information moves to a contact of NEW; Иван stays at OLD
    for info in w["infos"]:
        crm.update("core.contact_info", info, {"contact": w["petr"]})


def infos_by_import_update(crm, w):
    frame = pd.DataFrame({"id": [str(i) for i in w["infos"]], "contact": [str(w["petr"])] * 2})
    assert crm.import_frame("core.contact_info", frame, mode="update", key="id")["updated"] == 2


def infos_to_the_partner_by_update(crm, w):   # the contact's information becomes NEW's own
    for info in w["infos"]:
        crm.update("core.contact_info", info, {"contact": None, "partner": w["new"]})


def infos_to_the_partner_by_import(crm, w):
    frame = pd.DataFrame({"id": [str(i) for i in w["infos"]], "contact": [""] * 2,
                          "partner": [str(w["new"])] * 2})
    assert crm.import_frame("core.contact_info", frame, mode="upsert", key="id")["updated"] == 2


def merge_into_a_contact_of_new(crm, w):   # Иван merged into Пётр: his information moves to NEW
    crm.merge("core.contact", w["petr"], w["ivan"])


def merge_taking_the_partner(crm, w):   # Иван survives and takes Пётр's partner
    crm.merge("core.contact", w["ivan"], w["petr"], take=["partner"])


MOVES = [move_by_update, move_by_import_update, move_by_import_upsert, infos_by_update,
         infos_by_import_update, infos_to_the_partner_by_update, infos_to_the_partner_by_import,
         merge_into_a_contact_of_new, merge_taking_the_partner]


@pytest.mark.parametrize("move", MOVES, ids=[m.__name__ for m in MOVES])
def test_keys_follow_a_move_to_another_partner(crm, world, move):
    move(crm, world)
    _assert_keys_under(crm, world, world["new"], gone=world["old"])


def test_a_moved_partners_own_information_is_keyed_again(crm, world):
    """A partner-owned piece moved to another partner, by update and back by import."""
    other_email = next(i.id for i in crm.find("core.contact_info", partner=world["other"], kind="email"))
    crm.update("core.contact_info", other_email, {"partner": world["new"]})
    assert ("email_domain", "granit-stroy.ru") in _keys(world["new"])
    assert _paired(crm, "email_domain") == {tuple(sorted((world["old"], world["new"])))}
    crm.import_frame("core.contact_info", pd.DataFrame({"id": [str(other_email)], "partner": [str(world["other"])]}),
                     mode="update", key="id")
    assert ("email_domain", "granit-stroy.ru") not in _keys(world["new"])
    assert _paired(crm, "email_domain") == {tuple(sorted((world["old"], world["other"])))}


@pytest.mark.parametrize("what", ["contact", "contact_info"])
def test_deleted_information_takes_its_keys_with_it(crm, world, what):
    if what == "contact":
        crm.mark_deleted("core.contact", world["ivan"])
        crm.delete("core.contact", world["ivan"])     # its information goes with it (cascade)
    else:
        for info in world["infos"]:
            crm.mark_deleted("core.contact_info", info)
            crm.delete("core.contact_info", info)
    assert not {("email_domain", "granit-stroy.ru"), ("phone", "+79161112233")} & _keys(world["old"])
    assert _paired(crm, "email_domain") == set() and _paired(crm, "phone") == set()
