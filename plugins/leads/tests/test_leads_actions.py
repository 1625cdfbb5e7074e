"""Lead and merge actions, declared once (``crm.act``) and reached from the
CLI and through a real server over HTTP; the primary interest report
counts leads as the user may see them."""
from __future__ import annotations

import pytest

import crmkit

pytest.importorskip("crmkit_web")
from crmkit_web.testing import Client, Server, make_token  # noqa: E402


def _world(crm):
    crm.create("marketing.channel", {"name": "Сайт", "impact_type": "user"})
    crm.create("marketing.channel", {"name": "Выставки", "impact_type": "event"})
    crm.create("deals.kind", {"name": "Произвольная продажа"})
    mine = crm.create("core.access_group", {"name": "Оптовые"})
    theirs = crm.create("core.access_group", {"name": "Сетевые"})
    for login, roles, group in (("orlov", "manager", mine), ("volkov", "manager", theirs), ("boss", "administrator", None)):
        user = crm.create("core.user", {"login": login, "name": login.title(), "roles": roles})
        if group is not None:
            crm.create("core.user_access", {"user": user.id, "access_group": group.id})
    crm.create("marketing.event", {"name": "Стройэкспо 2015"})
    return mine, theirs


SITE = {"channel": "Сайт", "source": "core.user:1"}                # the site's form, orlov's (user 1)
FAIR = {"channel": "Выставки", "source": "marketing.event:1"}


def test_the_primary_interest_report_counts_the_leads_a_user_may_see(crm, open_crm):
    mine, theirs = _world(crm)
    orlov, volkov = open_crm(user="orlov"), open_crm(user="volkov")
    for n in range(3):
        orlov.act("leads.capture", lead={"company": f"Своя {n}"}, **SITE)
    volkov.act("leads.capture", lead={"company": "Чужая"}, **FAIR)
    lead = orlov.find("leads.lead")[0]
    orlov.act("leads.convert", lead.code, allow_duplicate=True)

    def table(user):
        return user.report("marketing.primary_interest").sections["Leads by source"]

    mine_table = table(orlov).set_index("primary interest channel")
    assert mine_table.loc["Сайт", ["number of leads", "qualified leads"]].tolist() == [3, 1]
    assert "Выставки" not in mine_table.index             # volkov's lead is in a group orlov does not see
    assert mine_table.iloc[-1]["conversion, %"] == pytest.approx(33.3)
    every = table(crm).set_index("primary interest channel")
    assert every.iloc[-1]["number of leads"] == 4 and every.loc["Выставки", "number of leads"] == 1


def test_disqualify_and_convert_are_actions_and_all_or_nothing(crm, open_crm, cli):
    _world(crm)
    orlov = open_crm(user="orlov")
    lead = orlov.act("leads.capture", lead={"company": "ООО Ромашка", "person": "Анна", "email": "a@romashka.ru"},
                     **SITE)
    with pytest.raises(crmkit.ValidationError) as exc:
        orlov.act("leads.convert", lead.code, deal=True, deal_kind="нет такого вида")
    assert "deal_kind" in exc.value.errors
    assert orlov.count("core.partner") == 0 and orlov.get("leads.lead", lead.code).status == "new"
    with pytest.raises(crmkit.ValidationError) as exc:
        orlov.act("leads.convert", lead.code, colour="red")        # an unknown parameter is named
    assert "colour" in exc.value.errors
    done = orlov.act("leads.convert", lead.code, deal=True, deal_kind="Произвольная продажа")
    assert done["partner"].startswith("00-") and done["deal"].startswith("00-")
    other = orlov.act("leads.capture", lead={"person": "Спамер"})
    result = cli("leads", "disqualify", other.code, "Спам", user="orlov")
    assert result.exit_code == 0, result.output
    assert orlov.get("leads.lead", other.code).status == "disqualified"
    assert [r.name for r in orlov.find("leads.disqualify_reason")] == ["Спам"]
    with pytest.raises(crmkit.AccessDenied):            # the mailbox holds every user's mail
        orlov.act("leads.from_inbox")


def test_merge_is_an_action_that_needs_its_own_grant(crm, open_crm, cli):
    mine, _ = _world(crm)
    a = crm.create("core.partner", {"name": "ООО Ромашка", "access_group": mine.id})
    b = crm.create("core.partner", {"name": "Ромашка ООО", "access_group": mine.id, "comment": "дубль"})
    orlov = open_crm(user="orlov")
    assert not orlov.may_act("core.merge_partner")
    with pytest.raises(crmkit.AccessDenied):
        orlov.act("core.merge_partner", a.id, merged=b.code)
    result = cli("duplicates", "merge", "core.partner", a.code, b.code, "--take", "comment", user="orlov")
    assert result.exit_code != 0
    result = cli("duplicates", "merge", "core.partner", a.code, b.code, "--take", "comment")
    assert result.exit_code == 0, result.output
    assert crm.get("core.partner", a.id).comment == "дубль"
    assert crm.get("core.partner", b.id, follow_merges=False).deletion_mark
    assert crm.get("core.partner", b.code).id == a.id                  # the old code resolves to the survivor


@pytest.fixture
def server(db_url, crm, tmp_path):
    _world(crm)
    tokens = {login: make_token(crm, login) for login in ("orlov", "volkov", "boss")}
    crm.close()
    server = Server(db_url, workers=1, log=tmp_path / "server.log")
    yield {login: Client(f"{server.base}/api/v1", token) for login, token in tokens.items()}
    server.stop()


def test_lead_and_merge_actions_over_http(server):
    orlov, volkov, boss = server["orlov"], server["volkov"], server["boss"]
    names = {a["name"] for a in orlov.get("/actions").json["data"]}
    assert {"leads.capture", "leads.convert", "leads.disqualify"} <= names and "core.merge_partner" not in names
    r = orlov.post("/leads.lead/actions/leads.capture",
                   {"lead": {"company": "ООО Ромашка", "person": "Анна", "email": "a@romashka.ru"}, **SITE})
    assert r.status == 200, r
    code = r.json["result"]["record"]["code"]
    assert volkov.post(f"/leads.lead/{code}/actions/leads.convert", {}).status in (403, 404)   # not his group
    r = orlov.post(f"/leads.lead/{code}/actions/leads.convert", {"deal": True, "deal_kind": "нет такого"})
    assert r.status in (400, 422) and r.header("content-type") == "application/problem+json"
    assert "deal_kind" in r.body.decode()
    r = orlov.post(f"/leads.lead/{code}/actions/leads.convert", {"deal": True, "deal_kind": "Произвольная продажа"})
    assert r.status == 200, r
    partner = r.json["result"]["partner"]
    twin = boss.post("/core.partner", {"name": "Ромашка", "kind": "company"}).json
    assert orlov.post(f"/core.partner/{partner}/actions/core.merge_partner", {"merged": twin["code"]}).status == 403
    r = boss.post(f"/core.partner/{partner}/actions/core.merge_partner", {"merged": twin["code"]})
    assert r.status == 200, r
    assert boss.get(f"/core.partner/{twin['code']}").json["code"] == partner   # the old code leads to the survivor
