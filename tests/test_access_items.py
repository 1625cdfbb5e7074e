"""Issue 15's access items, each by its class: subjects (11), segments (8),
the consent ledger (10), mailing status and preview (12, 16), unique
values (13) and the fields that decide visibility (14). The differential
test (tests/adversarial/test_differential_access.py) covers the figures."""
import json

import peewee as pw
import pytest

from crmkit import AccessDenied, NotFound, ValidationError
from crmkit.kernel.validation import assigned_unique_fields

pytestmark = pytest.mark.plugins("deals", "marketing", "claims", "notify_email")


@pytest.fixture
def world(crm, open_crm):
    mine = crm.create("core.access_group", {"name": "Оптовые"}).id
    other = crm.create("core.access_group", {"name": "Сетевые"}).id
    for login, roles, group in (("spya", "manager,marketer", mine), ("ro", "readonly", mine)):
        user = crm.create("core.user", {"login": login, "name": login, "roles": roles})
        crm.create("core.user_access", {"user": user.id, "access_group": group})
    own = crm.create("core.partner", {"name": "Свой", "is_client": True, "access_group": mine})
    hidden = crm.create("core.partner", {"name": "Чужой", "is_client": True, "access_group": other})
    child = crm.create("core.partner", {"name": "Дочка", "head": hidden.id, "access_group": mine, "is_client": False})
    grandchild = crm.create("core.partner", {"name": "Внучка", "head": child.id, "access_group": mine,
                                     "is_client": False})
    kind = crm.find("deals.kind", limit=1)
    deal = crm.create("deals.deal", {"name": "чужая сделка", "client": hidden.id,
                                     **({"kind": kind[0].id} if kind else {})})
    return {"crm": crm, "mine": mine, "other": other, "own": own, "hidden": hidden, "child": child,
            "grandchild": grandchild, "deal": deal, "spya": open_crm(user="spya"), "ro": open_crm(user="ro")}


# -- 11: visibility follows the subject, for every entity with one --------------

def _subject_entities(crm):
    return [name for name, spec in sorted(crm.registry.entities.items())
            if "subject_type" in spec.model._meta.fields]


def test_records_about_a_hidden_subject_are_hidden_for_every_entity(world):
    crm, spya = world["crm"], world["spya"]
    subject = ("deals.deal", world["deal"].id)
    made = {}
    made["core.interaction"] = crm.create("core.interaction", {"kind": "call", "direction": "incoming",
                                          "date": "2015-10-21", "partner": world["own"].id,
                                          "topic": "о чужой сделке", "subject": subject})
    made["core.task"] = crm.create("core.task", {"title": "t", "partner": world["own"].id, "subject": subject})
    made["core.note"] = crm.create("core.note", {"title": "n", "partner": world["own"].id, "subject": subject})
    made["core.reminder"] = crm.create("core.reminder", {"remind_at": "2015-10-20T10:00:00", "description": "r",
                                       "partner": world["own"].id, "user": spya.actor.id, "subject": subject})
    # a record about a record that is itself hidden only by its subject (two levels)
    made["core.note 2"] = crm.create("core.note", {"title": "n2", "partner": world["own"].id,
                                                   "subject": ("core.task", made["core.task"].id)})
    covered = {k.split()[0] for k in made}
    # every entity with a subject reference is exercised, or reachable by the same kernel rule
    assert {"core.interaction", "core.task", "core.note", "core.reminder"} <= covered
    for name, record in made.items():
        entity = name.split()[0]
        assert record.id not in {r.id for r in spya.find(entity, include_marked=True)}, name
        with pytest.raises(NotFound):
            spya.get(entity, record.id)
    for entity in _subject_entities(crm):   # the rule is in the kernel filter, for every such entity
        cond = spya.visible(entity)
        assert cond is not None and "subject_type" in spya.query(entity).sql()[0], entity
    # and nobody can hang a new record off the hidden deal
    with pytest.raises(ValidationError) as exc:
        spya.create("core.note", {"title": "x", "partner": world["own"].id, "subject": subject})
    assert "subject" in exc.value.errors


def test_reminder_due_shows_the_others_when_one_subject_is_hidden(world, cli):
    crm, spya = world["crm"], world["spya"]
    crm.create("core.reminder", {"remind_at": "2015-10-20T10:00:00", "description": "о чужой",
                                 "user": spya.actor.id, "subject": ("deals.deal", world["deal"].id)})
    crm.create("core.reminder", {"remind_at": "2015-10-20T11:00:00", "description": "своё",
                                 "user": spya.actor.id, "partner": world["own"].id})
    out = cli("reminder", "due", "--format", "json", user="spya")
    assert out.exit_code == 0, out.output
    assert [r["description"] for r in json.loads(out.output)] == ["своё"]


def test_partner_tree_under_a_hidden_head(world, cli):
    out = cli("partner", "tree", world["grandchild"].code, "--format", "json", user="spya")
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["name"].strip() for r in rows] == ["Дочка", "Внучка"]
    assert "Чужой" not in out.output
    out = cli("partner", "history", world["child"].code, user="spya")
    assert out.exit_code == 0, out.output


# -- 8: segments are computed and changed only within the user's view -----------

def test_segment_compute_and_remove_stay_in_the_users_view(world, cli):
    crm, spya = world["crm"], world["spya"]
    from crmkit.core.segments import add_members, compute, current_members
    rule = crm.create("core.segment", {"name": "клиенты", "kind": "partner", "method": "rule",
                                       "rule": '{"field": "is_client", "op": "eq", "value": true}'})
    assert compute(crm, rule.id)["members"] == 2                     # the administrator: both clients
    out = cli("segment", "compute", str(rule.id), user="spya")
    assert "1 members (+0 -0)" in out.output                        # the spy: his one, nothing removed
    assert current_members(rule.id) == {world["own"].id, world["hidden"].id}
    crm.update("core.partner", world["own"].id, {"is_client": False})
    assert compute(spya, rule.id) == {"segment": "клиенты", "members": 0, "added": 0, "removed": 1}
    assert current_members(rule.id) == {world["hidden"].id}          # the hidden member stays
    manual = crm.create("core.segment", {"name": "ручной", "kind": "partner", "method": "manual"})
    add_members(crm, manual.id, [world["own"].id, world["hidden"].id])
    out = cli("segment", "remove", str(manual.id), str(world["hidden"].id), user="spya")
    assert out.output.strip() == "removed 0"
    assert current_members(manual.id) == {world["own"].id, world["hidden"].id}
    out = cli("segment", "members", str(manual.id), "--format", "json", user="spya")
    assert [r["name"] for r in json.loads(out.output)] == ["Свой"]


# -- 10: the consent ledger ---------------------------------------------------------

def test_consent_ledger_rows_without_a_partner_follow_their_address(world, cli, open_crm):
    crm = world["crm"]
    from crmkit_marketing import consent
    crm.create("core.contact_info", {"partner": world["hidden"].id, "kind": "email", "value": "boss@hidden.example"})
    crm.create("core.contact_info", {"partner": world["own"].id, "kind": "email", "value": "me@own.example"})
    consent.opt_out(crm, "email", address="boss@hidden.example", method="unsubscribe link")
    consent.opt_out(crm, "email", address="me@own.example", method="unsubscribe link")
    consent.opt_out(crm, "email", address="stranger@nowhere.example", method="unsubscribe link")
    out = cli("marketing", "consents", "--format", "json", user="spya")
    assert sorted(r["address"] for r in json.loads(out.output)) == ["me@own.example"]
    crm.create("core.user", {"login": "madmin", "name": "m", "roles": "marketer,marketing_admin"})
    crm.create("core.user_access", {"user": crm.get("core.user", "madmin").id, "access_group": world["mine"]})
    seen = {r.address for r in open_crm(user="madmin").find("marketing.consent")}
    assert seen == {"me@own.example", "stranger@nowhere.example"}   # never the hidden partner's
    assert len(crm.find("marketing.consent")) == 3


# -- 12, 16: mailing status and preview -----------------------------------------------

def _mailing(crm, world):
    group = crm.create("marketing.mailing_group", {"name": "рассылки", "mode": "forced", "send_email": True})
    template = crm.create("marketing.template", {"name": "t", "purpose": "mailing", "group": group.id,
                                                 "email": True, "subject": "Hi", "body_text": "x"})
    seg = crm.create("core.segment", {"name": "все", "kind": "partner", "method": "rule",
                                      "rule": '{"field": "is_client", "op": "eq", "value": true}'})
    from crmkit.core.segments import compute
    compute(crm, seg.id)
    for p in (world["own"], world["hidden"]):
        crm.create("core.contact_info", {"partner": p.id, "kind": "email", "value": f"p{p.id}@x.example"})
    return crm.create("marketing.mailing", {"name": "m", "group": group.id, "template": template.id,
                                            "audience": "segment", "segment": seg.id})


def test_mailing_status_counts_only_visible_recipients(world):
    crm, spya = world["crm"], world["spya"]
    from crmkit_marketing.mailings import send, status
    mailing = _mailing(crm, world)
    assert send(crm, mailing.id)["recipients"] == 2
    assert status(spya, mailing.id)["recipients"] == 1
    assert status(spya, mailing.id)["queued"] == 1


def test_mailing_preview_needs_the_right_to_send(world, cli):
    crm = world["crm"]
    mailing = _mailing(crm, world)
    out = cli("marketing", "mailing", "preview", str(mailing.id), user="ro")
    assert out.exit_code != 0 and "may not update" in out.output
    out = cli("marketing", "mailing", "preview", str(mailing.id), "--format", "json", user="spya")
    assert out.exit_code == 0 and [r["partner"] for r in json.loads(out.output)] == ["Свой"]


# -- 13: unique values never tell that a hidden record holds them ----------------------

def _unique_fields(crm):
    return [(name, field) for name, spec in sorted(crm.registry.entities.items())
            for field in sorted(assigned_unique_fields(spec))]


def test_every_unique_field_under_access_is_assigned_for_non_administrators(world, tmp_path):
    """For every unique field of every entity with row-level access, a
    non-administrator's value is refused the same way whether a hidden
    record holds it or nobody does, on create and on import; so "is already
    used" never answers for a record the user may not see."""
    crm, spya = world["crm"], world["spya"]
    cases = _unique_fields(crm)
    assert {("core.partner", "code"), ("core.interaction", "number"), ("deals.deal", "code")} <= set(cases)
    for entity, field in cases:
        taken = crm.model(entity).select(getattr(crm.model(entity), field)).where(
            getattr(crm.model(entity), field).is_null(False)).scalar() or "00-00000001"
        answers = []
        for value in (taken, "ZZ-99999999"):
            try:
                spya.create(entity, {field: value})
            except (ValidationError, AccessDenied) as exc:
                answers.append(str(exc).replace(str(value), "<v>"))
            else:
                answers.append("created")
        assert answers[0] == answers[1] and "already used" not in answers[0], (entity, field, answers)
        assert "read-only" in answers[0] or "may not" in answers[0], (entity, field, answers)
    # the administrator still sets them, and is told when one is taken
    with pytest.raises(ValidationError) as exc:
        crm.create("core.partner", {"name": "x", "code": world["hidden"].code})
    assert "already used" in str(exc.value)
    # import: the same refusal, whole file, nothing written
    path = tmp_path / "p.csv"
    for code in (world["hidden"].code, "ZZ-99999999"):
        path.write_text(f"name,code\nновый,{code}\n", encoding="utf-8")
        before = crm.count("core.partner", include_marked=True)
        with pytest.raises(ValidationError) as exc:
            spya.import_file("core.partner", path)
        assert "read-only" in str(exc.value) and "already used" not in str(exc.value)
        assert crm.count("core.partner", include_marked=True) == before


# -- 14: the fields that decide who sees a record ------------------------------------

def test_fields_that_decide_visibility_cannot_widen_or_move_it(world):
    crm, spya = world["crm"], world["spya"]
    own = world["own"]
    with pytest.raises(ValidationError) as exc:                     # clearing the group
        spya.update("core.partner", own.id, {"access_group": None})
    assert "access_group" in exc.value.errors
    with pytest.raises(ValidationError):                            # another group
        spya.update("core.partner", own.id, {"access_group": world["other"]})
    assert crm.get("core.partner", own.id).access_group_id == world["mine"]
    assert spya.update("core.partner", own.id, {"access_group": world["mine"]})   # his own: fine
    # every reference that decides visibility must point at a visible record
    deal = spya.create("deals.deal", {"name": "своя", "client": own.id,
                                      **({"kind": world["deal"].kind_id} if world["deal"].kind_id else {})})
    moves = [("deals.deal", deal.id, {"client": world["hidden"].id}),
             ("core.partner", world["child"].id, {"head": world["hidden"].id})]
    contact = spya.create("core.contact", {"partner": own.id, "name": "К"})
    moves.append(("core.contact", contact.id, {"partner": world["hidden"].id}))
    note = spya.create("core.note", {"title": "n", "partner": own.id})
    moves.append(("core.note", note.id, {"subject": ("deals.deal", world["deal"].id)}))
    for entity, rid, change in moves:
        before = crm.get(entity, rid)
        with pytest.raises(ValidationError):
            spya.update(entity, rid, change)
        after = crm.get(entity, rid)
        assert {f: getattr(after, f + "_id", getattr(after, f, None)) for f in change if f != "subject"} == \
            {f: getattr(before, f + "_id", getattr(before, f, None)) for f in change if f != "subject"}
    # the access group of every partner-path root is the only group field
    roots = [s.name for s in crm.registry.entities.values() if s.partner_path == "self"]
    assert roots == ["core.partner"]
    assert all(not isinstance(f, pw.ForeignKeyField) or f.rel_model is not crm.model("core.access_group")
               for name, spec in crm.registry.entities.items() if name not in ("core.partner", "core.user_access")
               for f in spec.model._meta.fields.values())


# -- 9: analysis figures are of the user's view ---------------------------------------

@pytest.mark.plugins("deals", "marketing", "claims", "analysis")
def test_analysis_of_a_view_that_holds_everything_is_the_stored_run(crm, open_crm):
    """Re-ranked for a restricted user, the classification is the stored one
    when that user happens to see every partner; with one group, the shares
    of the ranked clients are of that group alone (they sum to 100 %)."""
    with crm.transaction():
        for _ in crm.call_in_order("crmkit_load_demo", crm=crm):
            pass
    groups = [g.id for g in crm.find("core.access_group")]
    for login, mine in (("all", groups), ("one", groups[:1])):
        user = crm.create("core.user", {"login": login, "name": login, "roles": "analyst"})
        for g in mine:
            crm.create("core.user_access", {"user": user.id, "access_group": g})
    everything, one = open_crm(user="all"), open_crm(user="one")
    assert not everything.sees_everything()
    for report in ("analysis.abc_xyz_clients", "analysis.abc_xyz_products", "analysis.matrix",
                   "analysis.abc_changes", "analysis.xyz_changes", "analysis.history"):
        assert everything.report(report).render("json") == crm.report(report).render("json"), report
    frame = one.report("analysis.abc_xyz_clients").frame
    ranked = frame[frame["abc"].isin(["A", "B", "C"]) & frame["share"].notna()]
    assert len(ranked) and abs(ranked["share"].astype(float).sum() - 100) < 0.05
    assert set(frame["code"]) < set(crm.report("analysis.abc_xyz_clients").frame["code"])
    # the stored rows' whole-base fields are withheld, a client's own figures are not
    row = one.find("analysis.client_class", limit=1)[0]
    assert row.share is None and row.cumulative_share is None and row.abc_class is None
    assert one.find("analysis.run", limit=1)[0].items is None


def test_entities_only_administrators_write_refuse_every_role(crm, open_crm, cli, tmp_path):
    """Reference data every figure depends on (exchange rates, sales targets, users and
    groups): a role's wildcard grant (manager: core.*, deals.*) does not reach them."""
    admin_written = sorted(crm.registry.admin_writes & set(crm.registry.entities))
    assert {"core.currency_rate", "deals.target", "core.user"} <= set(admin_written)
    crm.create("core.user", {"login": "mgr", "name": "M", "roles": "manager,marketer,claims_officer,analyst"})
    mgr = open_crm(user="mgr")
    for entity in admin_written:
        assert mgr.can("read", entity) or entity.startswith("core.user")
        for verb in ("create", "update", "delete"):
            assert not mgr.can(verb, entity), (verb, entity)
    with pytest.raises(AccessDenied) as exc:
        mgr.create("core.currency_rate", {"currency": "USD", "date": "2015-10-21", "rate": "65.5"})
    assert "administrator" in str(exc.value)
    path = tmp_path / "rates.csv"
    path.write_text("currency,date,rate\nUSD,2015-10-21,65.5\n", encoding="utf-8")
    result = cli("import", "core.currency_rate", str(path), user="mgr")
    assert result.exit_code != 0 and crm.count("core.currency_rate") == 0
    crm.create("core.currency_rate", {"currency": "USD", "date": "2015-10-21", "rate": "65.5"})
    assert mgr.count("core.currency_rate") == 1
