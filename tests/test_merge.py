"""Merging duplicate partners and contacts: every reference of every
installed plugin moves to the survivor, in one transaction, through the
acting user's access; the merged record stays marked and resolves."""
import decimal

import peewee as pw
import pytest

import crmkit
from crmkit.kernel.merge import _models, _subject_pairs
from crmkit.kernel.models import Change


@pytest.fixture
def demo(crm):
    with crm.transaction():
        for _ in crm.call_in_order("crmkit_load_demo", crm=crm):
            pass
    return crm


def references_to(crm, entity, record_id):
    """Every row of every table that points at the record (foreign keys and
    subject references), found independently of the merge's own walk."""
    model = crm.model(entity)
    found = {}
    for other in _models():
        for field in other._meta.fields.values():
            if isinstance(field, pw.ForeignKeyField) and field.rel_model is model:
                n = other.select().where(field == record_id).count()
                if n and not (other is model and field.name == "head"):
                    found[f"{other._meta.table_name}.{field.name}"] = n
        for type_field, id_field in _subject_pairs(other):
            n = other.select().where((type_field == entity) & (id_field == record_id)).count()
            if n:
                found[f"{other._meta.table_name}.{id_field.name}"] = n
    if entity == "core.partner":
        Outbox = crm.db.execute_sql("SELECT COUNT(*) FROM kernel_outbox WHERE partner_id = %s"
                                    .replace("%s", crm.db.param), (record_id,)).fetchone()[0]
        if Outbox:
            found["kernel_outbox.partner_id"] = Outbox
    return found


def _richest_pair(crm):
    """Two clients that share the most kinds of references (so unique keys collide)."""
    scores = {}
    P = crm.model("core.partner")
    for pid, in P.select(P.id).tuples():
        scores[pid] = len(references_to(crm, "core.partner", pid))
    a, b = sorted(scores, key=lambda p: (-scores[p], p))[:2]
    return a, b


def _class_values(crm):
    if "analysis.abc_xyz_clients" not in crm.registry.reports:
        return {}
    from crmkit_analysis.models import ClientClass as CC
    return {(run, p): v for run, p, v in CC.select(CC.run, CC.partner, CC.value).tuples()}


def test_merge_moves_every_reference_of_every_plugin(demo):
    crm = demo
    a, b = _richest_pair(crm)
    before_b = references_to(crm, "core.partner", b)
    assert len(before_b) >= 5, before_b      # deals, interactions, sales ... point at it
    before_a = references_to(crm, "core.partner", a)
    classes = _class_values(crm)
    deals_before = {p: crm.count("deals.deal", client=p) for p in (a, b)} if "deals.deal" in crm.registry.entities else {}
    b_code = crm.get("core.partner", b).code

    survivor = crm.merge("core.partner", a, b)

    assert survivor.id == a
    assert references_to(crm, "core.partner", b) == {}
    after_a = references_to(crm, "core.partner", a)
    for place, n in before_b.items():
        assert place in after_a, place
    assert sum(after_a.values()) <= sum(before_a.values()) + sum(before_b.values())
    # the merged record stays, marked, and its code resolves to the survivor
    merged = crm.get("core.partner", b, follow_merges=False)
    assert merged.deletion_mark is True
    assert crm.get("core.partner", b_code).id == a
    assert [c.action for c in crm.history("core.partner", a)][-1] == "merge"
    assert [c.action for c in Change.select().where((Change.entity == "core.partner")
                                                    & (Change.record_id == b))
            .order_by(Change.id)][-1] == "merged"
    # the survivor's figures are the sum of both
    if deals_before:
        assert crm.count("deals.deal", client=a) == deals_before[a] + deals_before[b]
    if classes:
        after = _class_values(crm)
        for (run, p), value in classes.items():
            if p == a and (run, b) in classes and value is not None:
                assert after[(run, a)] == value + (classes[(run, b)] or decimal.Decimal(0))
        assert not any(p == b for (_, p) in after)


def test_merge_takes_chosen_fields_and_refuses_bad_choices(crm):
    a = crm.create("core.partner", {"name": "Ромашка", "comment": "old"})
    b = crm.create("core.partner", {"name": "ООО Ромашка", "comment": "from the exhibition",
                                    "inn": "7707083893"})
    with pytest.raises(crmkit.ValidationError) as exc:
        crm.merge("core.partner", a.id, b.id, take=["code"])
    assert "unique" in str(exc.value.errors["take"])
    with pytest.raises(crmkit.ValidationError):
        crm.merge("core.partner", a.id, a.id)
    kept = crm.merge("core.partner", a.id, b.id, take=["comment", "inn"])
    assert (kept.name, kept.comment, kept.inn) == ("Ромашка", "from the exhibition", "7707083893")
    with pytest.raises(crmkit.ValidationError):        # merged once, not twice
        crm.merge("core.partner", a.id, b.id)


def test_merge_needs_its_own_grant_and_visible_records(crm, open_crm):
    group = crm.create("core.access_group", {"name": "Оптовые"})
    other = crm.create("core.access_group", {"name": "Сетевые"})
    user = crm.create("core.user", {"login": "mgr", "name": "Manager", "roles": "manager"})
    crm.create("core.user_access", {"user": user.id, "access_group": group.id})
    mine = crm.create("core.partner", {"name": "Мой", "access_group": group.id})
    mine2 = crm.create("core.partner", {"name": "Мой 2", "access_group": group.id})
    hidden = crm.create("core.partner", {"name": "Чужой", "access_group": other.id})
    manager = open_crm(user="mgr")
    with pytest.raises(crmkit.AccessDenied) as exc:
        manager.merge("core.partner", mine.id, mine2.id)
    assert "it needs the role administrator" in str(exc.value)   # names who may (the role granting 'm')
    from crmkit import PluginMeta, RoleSpec, hookimpl

    class Merger:
        PLUGIN = PluginMeta(name="merger_role", requires=("core",))

        @staticmethod
        @hookimpl
        def crmkit_register_roles(register):
            register(RoleSpec("merger", {"core.partner": "m"}))

    User = crm.model("core.user")   # a role this session does not know: set it directly
    User.update(roles="manager,merger").where(User.login == "mgr").execute()
    merger = open_crm(user="mgr", extra=[Merger])
    with pytest.raises(crmkit.NotFound):
        merger.merge("core.partner", mine.id, hidden.id)
    assert crm.get("core.partner", hidden.id).deletion_mark is False
    merger.merge("core.partner", mine.id, mine2.id)
    assert crm.get("core.partner", mine2.id, follow_merges=False).deletion_mark is True


def test_merge_is_all_or_nothing(crm):
    from crmkit import hookimpl

    a = crm.create("core.partner", {"name": "A"})
    b = crm.create("core.partner", {"name": "B"})
    crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-10-21T10:00:00",
                                    "partner": b.id})

    class Failing:
        @staticmethod
        @hookimpl
        def crmkit_records_merged(crm, entity, survivor, merged):
            raise crmkit.ValidationError({"_": "a plugin refused"})

    crm.pm.register(Failing, name="failing-merge")
    try:
        with pytest.raises(crmkit.ValidationError):
            crm.merge("core.partner", a.id, b.id)
    finally:
        crm.pm.unregister(name="failing-merge")
    assert crm.count("core.interaction", partner=b.id) == 1
    assert crm.get("core.partner", b.id, follow_merges=False).deletion_mark is False
    assert crm.get("core.partner", b.id).id == b.id


def test_contacts_merge_too(crm):
    p = crm.create("core.partner", {"name": "Дальстрой"})
    c1 = crm.create("core.contact", {"partner": p.id, "name": "Анна Петрова"})
    c2 = crm.create("core.contact", {"partner": p.id, "name": "Петрова Анна"})
    crm.create("core.contact_info", {"contact": c2.id, "kind": "email", "value": "anna@dalstroy.ru"})
    crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-10-21T10:00:00",
                                    "partner": p.id, "contact": c2.id})
    crm.merge("core.contact", c1.id, c2.id)
    assert references_to(crm, "core.contact", c2.id) == {}
    assert crm.count("core.contact_info", contact=c1.id) == 1
