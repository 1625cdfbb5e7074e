"""Duplicate detection: planted duplicates of every kind are found (exact
keys: all of them; similar names: precision at least 0.9), only among what
the user may see; rules are checked on create and can refuse; the key
index follows every change."""
import pytest

import crmkit

from .duplicates_base import inn10, load, plant


def _pairs(crm, rule=None):
    frame = crm.duplicate_groups("core.partner") if rule is None else None
    from crmkit.kernel.duplicates import candidate_pairs
    pairs = candidate_pairs(crm, "core.partner", [rule] if rule else None)
    return {(int(a), int(b)) for a, b in zip(pairs["a"], pairs["b"])}, frame


@pytest.mark.plugins()
def test_planted_duplicates_are_found_with_precision_and_recall(crm):
    partners, contacts, truth = plant(n_partners=600, n_each=25)
    ids = load(crm, partners, contacts)
    for rule, planted in truth.items():
        found, _ = _pairs(crm, rule)
        expected = {tuple(sorted((ids[a], ids[b]))) for a, b in planted}
        recall = len(expected & found) / len(expected)
        if rule == "name":
            precision = len(expected & found) / max(1, len(found))
            assert precision >= 0.9, (rule, precision, sorted(found - expected)[:10])
            assert recall >= 0.8, (rule, recall, sorted(expected - found)[:10])
        else:
            assert recall == 1.0, (rule, sorted(expected - found)[:10])
            assert found == expected, (rule, sorted(found - expected)[:10])   # exact keys: nothing else
    groups = crm.duplicate_groups("core.partner")
    assert set(groups.columns) >= {"group", "id", "code", "name", "reasons", "score"}
    a, b = next(iter(truth["inn"]))
    row_a = groups[groups["id"] == ids[a]].iloc[0]
    row_b = groups[groups["id"] == ids[b]].iloc[0]
    assert row_a["group"] == row_b["group"] and "inn" in row_a["reasons"]


@pytest.mark.plugins()
def test_a_user_sees_candidates_only_among_visible_records(crm, open_crm):
    mine = crm.create("core.access_group", {"name": "Оптовые"})
    theirs = crm.create("core.access_group", {"name": "Сетевые"})
    user = crm.create("core.user", {"login": "spya", "name": "Spy", "roles": "manager"})
    crm.create("core.user_access", {"user": user.id, "access_group": mine.id})
    inn = inn10(__import__("random").Random(1))
    visible = crm.create("core.partner", {"name": "Ромашка", "inn": inn, "access_group": mine.id})
    crm.create("core.partner", {"name": "ООО «Ромашка»", "inn": inn, "access_group": theirs.id})
    crm.create("core.partner", {"name": "Лютик", "access_group": mine.id})
    spy = open_crm(user="spya")
    assert spy.duplicate_groups("core.partner").empty
    assert spy.duplicates("core.partner", {"name": "Ромашка", "inn": inn}, exclude=visible.id) == []
    assert len(crm.duplicate_groups("core.partner")) == 2
    # a strict rule refuses what the user can see, and says nothing of what they cannot
    from crmkit.kernel.duplicates import configure
    configure(crm, "core.partner", "inn", mode="strict")
    with pytest.raises(crmkit.ValidationError) as exc:
        spy.create("core.partner", {"name": "Ромашка-2", "inn": inn, "access_group": mine.id})
    assert "Ромашка" in str(exc.value.errors) and "«" not in str(exc.value.errors)
    crm.update("core.partner", visible.id, {"inn": ""})
    spy.create("core.partner", {"name": "Ромашка-3", "inn": inn, "access_group": mine.id})



@pytest.mark.plugins()
def test_matching_skips_a_block_over_the_limit_by_what_the_user_sees(crm, open_crm):
    """A word shared by more records than the name rule's block limit is no
    block (as in the candidate groups); whether it is too large is counted
    over the records the user may see, so hidden partners change nothing."""
    from crmkit.kernel.duplicates import matches
    limit = next(r for r in crm.registry.rules_of("core.partner") if r.name == "name").block_limit
    mine = crm.create("core.access_group", {"name": "Оптовые"})
    theirs = crm.create("core.access_group", {"name": "Сетевые"})
    user = crm.create("core.user", {"login": "spyb", "name": "Spy", "roles": "manager"})
    crm.create("core.user_access", {"user": user.id, "access_group": mine.id})
    target = crm.create("core.partner", {"name": "Ромашкаторг", "access_group": mine.id})
    import pandas as pd
    crm.import_frame("core.partner", pd.DataFrame({"name": [f"Ромашкаторг {i}" for i in range(limit + 5)],
                                                   "access_group": theirs.id}))
    probe = {"name": "ООО Ромашкаторг"}
    assert not [m for m in matches(crm, "core.partner", probe) if m["rule"] == "name"]   # admin: too large
    spy = open_crm(user="spyb")
    found = [m["id"] for m in matches(spy, "core.partner", probe) if m["rule"] == "name"]
    assert found == [target.id]                         # the spy's block is one partner: matched


def test_only_administrators_configure_rules_and_bad_settings_are_named(crm, open_crm):
    from crmkit.kernel.duplicates import configure
    crm.create("core.user", {"login": "mgr", "name": "M", "roles": "manager"})
    with pytest.raises(crmkit.AccessDenied):
        configure(open_crm(user="mgr"), "core.partner", "name", mode="strict")
    with pytest.raises(crmkit.ValidationError) as exc:
        configure(crm, "core.partner", "nope", mode="strict")
    assert "inn" in str(exc.value.errors["rule"])
    with pytest.raises(crmkit.ValidationError) as exc:
        configure(crm, "core.partner", "name", mode="sometimes", threshold=120)
    assert set(exc.value.errors) == {"mode", "threshold"}
    configure(crm, "core.partner", "name", threshold=95)
    crm.create("core.partner", {"name": "Дальстрой Восток"})
    assert crm.duplicates("core.partner", {"name": "Дальстрой-Восток ООО"})        # 100
    assert not crm.duplicates("core.partner", {"name": "Дальстрой Вост"})         # 93: below 95 now
    configure(crm, "core.partner", "name", threshold=90)
    assert crm.duplicates("core.partner", {"name": "Дальстрой Вост"})


def test_inn_and_kpp_are_checked(crm):
    with pytest.raises(crmkit.ValidationError) as exc:
        crm.create("core.partner", {"name": "X", "inn": "7707083894", "kpp": "77A"})
    assert set(exc.value.errors) == {"inn", "kpp"}
    crm.create("core.partner", {"name": "Сбербанк", "inn": "7707083893", "kpp": "773601001"})
    crm.create("core.partner", {"name": "ИП Иванов", "inn": "500100732259"})


def test_the_key_index_follows_every_change(crm):
    from crmkit.kernel.models import MatchKey
    p = crm.create("core.partner", {"name": "Гранит Строй"})
    q = crm.create("core.partner", {"name": "Кедр"})

    def keys(pid):
        return {(k.rule, k.key) for k in MatchKey.select().where((MatchKey.entity == "core.partner")
                                                                 & (MatchKey.record_id == pid))}
    assert ("name", "гранит") in keys(p.id)
    crm.update("core.partner", p.id, {"name": "Базальт"})
    assert ("name", "гранит") not in keys(p.id) and ("name", "базальт") in keys(p.id)
    contact = crm.create("core.contact", {"partner": q.id, "name": "Иван"})
    crm.create("core.contact_info", {"contact": contact.id, "kind": "email", "value": "ivan@kedr.ru"})
    crm.create("core.contact_info", {"contact": contact.id, "kind": "phone", "value": "8 916 111-22-33"})
    assert {("email_domain", "kedr.ru"), ("phone", "+79161112233")} <= keys(q.id)
    crm.create("core.contact_info", {"partner": p.id, "kind": "email", "value": "boss@gmail.com"})
    assert not any(rule == "email_domain" for rule, _ in keys(p.id))       # a public mailbox says nothing
    crm.update("core.partner", q.id, {"kind": "individual"})
    from crmkit.core.privacy import erase
    erase(crm, "core.partner", q.id)
    assert not any(rule in ("email_domain", "phone") for rule, _ in keys(q.id))


def test_imported_partners_and_contacts_are_indexed(crm, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_text("name,inn\nАльфастрой,7707083893\nООО Альфастрой,\n", encoding="utf-8")
    crm.import_file("core.partner", str(path))
    groups = crm.duplicate_groups("core.partner")
    assert len(groups) == 2 and set(groups["reasons"]) == {"name"}


def test_an_import_is_checked_row_by_row_and_a_strict_rule_refuses_it_whole(crm, open_crm, cli, tmp_path):
    from crmkit.kernel.duplicates import configure
    mine = crm.create("core.access_group", {"name": "Оптовые"})
    theirs = crm.create("core.access_group", {"name": "Сетевые"})
    crm.create("core.user", {"login": "mgr", "name": "M", "roles": "manager"})
    crm.create("core.user_access", {"user": crm.get("core.user", "mgr").id, "access_group": mine.id})
    crm.create("core.partner", {"name": "Альфастрой", "access_group": mine.id})
    crm.create("core.partner", {"name": "Бетонстрой", "access_group": theirs.id})
    configure(crm, "core.partner", "name", mode="strict")
    before = crm.count("core.partner", include_marked=True)
    again = tmp_path / "again.csv"
    again.write_text("name\nЛютик\nАльфастрой ООО\nБетонстрой ООО\n", encoding="utf-8")
    result = cli("import", "core.partner", str(again), user="mgr")       # like a partner the importer sees
    assert result.exit_code == 1 and "row 2: name: a duplicate of Альфастрой" in result.output
    assert "Бетонстрой" not in result.output.replace("Бетонстрой ООО", "")  # a hidden one is never named
    assert crm.count("core.partner", include_marked=True) == before          # nothing imported, Лютик neither


def test_cli_finds_checks_and_merges(cli, crm):
    a = crm.create("core.partner", {"name": "Орион Трейд"})
    result = cli("create", "core.partner", "name=ООО «Орион Трейд»")
    assert result.exit_code == 0 and "looks like Орион Трейд" in result.output
    result = cli("duplicates", "find")
    assert "Орион Трейд" in result.output and "name" in result.output
    result = cli("duplicates", "check", "core.partner", "name=орион трейд")
    assert a.code in result.output
    result = cli("duplicates", "merge", "core.partner", a.code, "00-00000002")
    assert result.exit_code == 0, result.output
    assert cli("duplicates", "find").output.strip() == "(nothing)"
    assert cli("duplicates", "configure", "core.partner", "name", "--mode", "strict").exit_code == 0
    result = cli("create", "core.partner", "name=Орион-Трейд")
    assert result.exit_code == 1 and "duplicate of Орион Трейд" in result.output


def test_an_import_lists_what_it_looks_like_and_a_strict_rule_pairs_rows_of_one_file(crm, open_crm, cli, tmp_path):
    """Warn mode: the summary names each imported row like a visible record
    or like another row of the same file. Strict: two rows of one file alike
    refuse the import whole, as a row like a record already does."""
    from crmkit.kernel.duplicates import configure
    mine = crm.create("core.access_group", {"name": "Оптовые"})
    theirs = crm.create("core.access_group", {"name": "Сетевые"})
    crm.create("core.user", {"login": "imp", "name": "I", "roles": "manager"})
    crm.create("core.user_access", {"user": crm.get("core.user", "imp").id, "access_group": mine.id})
    crm.create("core.partner", {"name": "Гранитпром", "inn": "7707083893", "access_group": mine.id})
    crm.create("core.partner", {"name": "Кедрснаб", "inn": "7728168971", "access_group": theirs.id})
    path = tmp_path / "partners.csv"
    path.write_text("name,inn,access_group\nЛютик,,Оптовые\nГранитпром Плюс,7707083893,Оптовые\n"
                    "Северторг,,Оптовые\nООО «Северторг»,,Оптовые\nКедрснаб Юг,7728168971,Оптовые\n",
                    encoding="utf-8")
    result = cli("import", "core.partner", str(path), user="imp")
    assert result.exit_code == 0, result.output
    assert "row 2 looks like Гранитпром (same INN, 100)" in result.output
    assert "row 4 looks like row 3 (similar name" in result.output
    assert "Кедрснаб (" not in result.output          # like a hidden partner: nothing said of it
    summary = open_crm(user="imp").import_frame("core.partner", __import__("pandas").DataFrame(
        {"name": ["Ромашкалес"], "access_group": ["Оптовые"]}))
    assert summary["duplicates"] == {"checked": True, "pairs": 0, "shown": []}
    configure(crm, "core.partner", "name", mode="strict")
    before = crm.count("core.partner", include_marked=True)
    twins = tmp_path / "twins.csv"
    twins.write_text("name\nОрионтекс\nОрионтекс ООО\n", encoding="utf-8")
    result = cli("import", "core.partner", str(twins))
    assert result.exit_code == 1 and "row 2: _row: a duplicate of row 1 (similar name)" in result.output
    assert crm.count("core.partner", include_marked=True) == before
