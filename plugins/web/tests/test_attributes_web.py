"""Additional attributes through a real server: the API's documents,
filters, writes and OpenAPI document, and the web's forms and card, all
from the registry and the merged schema, with no page code of their own."""
from __future__ import annotations

import re

import pytest

import crmkit
from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.testing import Client, make_token
from crmkit_web.ui.testing import PASSWORD, WebClient


@pytest.fixture(scope="module")
def site(web_url, start_server):
    from crmkit.core.passwords import set_password
    crm = crmkit.open(web_url)
    wholesale = crm.create("core.access_group", {"name": "Оптовые"})
    retail = crm.create("core.access_group", {"name": "Розничные"})
    for login, roles in (("boss", "administrator"), ("volkov", "manager")):
        crm.create("core.user", {"login": login, "name": login.title(), "roles": roles})
        set_password(crm, login, PASSWORD)
    crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": retail.id})
    crm.define_attribute("core.partner", "employees", "number", label="Employees", label_ru="Число сотрудников")
    crm.define_attribute("core.partner", "tier", "choice", choices=["gold", "silver"], label_ru="Уровень")
    crm.define_attribute("core.partner", "since", "date", label_ru="Клиент с")
    hidden = crm.create("core.partner", {"name": "Дальстрой", "access_group": wholesale.id, "employees": "500",
                                         "tier": "gold"})
    own = crm.create("core.partner", {"name": "Протон", "access_group": retail.id, "employees": "20"})
    tokens = {login: make_token(crm, login) for login in ("boss", "volkov")}
    crm.close()
    server = start_server(web_url)
    api = f"{server.base}/api/v1"
    return {"url": web_url, "base": server.base, "hidden": hidden.id, "own": own.id, "retail": retail.id,
            **{login: Client(api, token) for login, token in tokens.items()}}


def test_api_documents_filters_and_writes_carry_attributes(site):
    boss, volkov = site["boss"], site["volkov"]
    r = boss.get(f"/core.partner/{site['hidden']}")
    assert r.status == 200 and r.json["employees"] == "500" and r.json["tier"] == "gold"
    assert r.json["since"] is None
    r = boss.get("/core.partner", params={"employees__ge": "100", "fields": "name,employees"})
    assert [d["name"] for d in r.json["data"]] == ["Дальстрой"] and set(r.json["data"][0]) == \
        {"id", "name", "employees"}
    r = boss.post("/core.partner", {"name": "Новый", "employees": "7", "tier": "silver", "since": "2020-05-01"})
    assert r.status == 201, r.body
    assert r.json["since"] == "2020-05-01" and r.json["employees"] == "7"
    r = boss.post("/core.partner", {"name": "Плохой", "employees": "many", "tier": "bronze"})
    assert r.status == 422 and {"employees", "tier"} <= set(r.json["errors"])
    assert boss.get("/core.partner", params={"name": "Плохой"}).json["data"] == []
    # the filter narrows the user's view, never widens it
    assert volkov.get("/core.partner", params={"tier": "gold"}).json["data"] == []
    seen = [d["name"] for d in volkov.get("/core.partner", params={"employees__ge": "1"}).json["data"]]
    assert sorted(seen) == ["Новый", "Протон"]   # "Новый" has no access group: everyone sees it
    assert volkov.get(f"/core.partner/{site['hidden']}").status == 404


def test_openapi_document_lists_attributes_and_follows_new_ones(site):
    doc = Client(site["boss"].base).get("/openapi.json").json
    partner = doc["components"]["schemas"]["core_partner"]
    assert "employees" in partner["properties"] and "tier" in doc["components"]["schemas"]["core_partner_create"][
        "properties"]
    params = [p["name"] for p in doc["paths"]["/core.partner"]["get"]["parameters"]]
    assert "employees" in params and "since" in params
    crm = crmkit.open(site["url"], migrate=False)
    crm.define_attribute("core.partner", "okved", "string")
    crm.close()
    doc = Client(site["boss"].base).get("/openapi.json").json
    assert "okved" in doc["components"]["schemas"]["core_partner"]["properties"]


def _client(site, login):
    c = WebClient(site["base"])
    assert c.sign_in(login).status == 302
    return c


def test_web_form_and_card_show_and_save_attributes(site):
    c = _client(site, "boss")
    page = c.get("/e/core.partner/new", headers={"Accept-Language": "ru"}).text
    assert 'name="employees"' in page and 'name="tier"' in page and 'type="date"' in page
    assert "Число сотрудников" in page
    saved = c.submit("/e/core.partner/new", fields={"name": "Из формы", "kind": "company", "employees": "42",
                                                   "tier": "gold", "since": "2021-03-04"})
    assert saved.status == 200 and "Из формы" in saved.text, saved.text[:500]
    assert "42" in saved.text and "gold" in saved.text
    key = re.search(r'/e/core\.partner/(\d+)/edit', saved.text).group(1)
    edit = c.get(f"/e/core.partner/{key}/edit").text
    assert re.search(r'name="employees"[^>]*value="42"|value="42"[^>]*name="employees"', edit)
    bad = c.submit(f"/e/core.partner/{key}/edit", fields={"name": "Из формы", "kind": "company",
                                                         "employees": "сорок", "tier": "gold"})
    assert bad.status == 422 and "wrong type" in bad.text
    crm = crmkit.open(site["url"], migrate=False)
    assert crm.attribute_values("core.partner", [int(key)])[int(key)]["employees"] == 42
    crm.close()


def test_web_list_filters_by_attribute_within_access(site):
    c = _client(site, "volkov")
    assert "Дальстрой" not in c.get("/e/core.partner/?tier=gold").text
    assert "Протон" in c.get("/e/core.partner/?employees__ge=10").text
    boss = _client(site, "boss")
    assert "Дальстрой" in boss.get("/e/core.partner/?tier=gold").text


def _pages(client, params):
    seen, url, params = [], "/core.partner", {**params, "limit": "2"}
    for _ in range(20):
        r = client.get(url, params=params)
        assert r.status == 200, r.body
        seen += [(d["name"], d["employees"]) for d in r.json["data"]]
        if not r.json["next"]:
            return seen
        url, params = r.json["next"].split("/api/v1", 1)[1], None
    raise AssertionError("the pages never ended")


def test_api_sorts_and_pages_by_an_attribute_within_access(site):
    """``order_by`` takes an additional attribute: keyset pages in its order
    (NULLs last ascending, first descending, ties by id), every row once,
    and only rows the user may see."""
    crm = crmkit.open(site["url"])
    made = []
    for name, employees, group in (("Квант 1", "30", None), ("Квант 2", None, None), ("Квант 3", "5", None),
                                   ("Квант 4", "30", None), ("Квант 5", "1000", "wholesale"),
                                   ("Квант 6", None, site["retail"]), ("Квант 7", "5", site["retail"])):
        row = {"name": name, "employees": employees}
        if group == "wholesale":
            row["access_group"] = crm.find("core.access_group", name="Оптовые")[0].id
        elif group:
            row["access_group"] = group
        made.append((crm.create("core.partner", {k: v for k, v in row.items() if v is not None}).id, name,
                     employees))
    crm.close()

    def expected(desc, hidden=()):
        rows = [(i, n, e) for i, n, e in made if n not in hidden]
        known = sorted((r for r in rows if r[2] is not None), key=lambda r: (-float(r[2]) if desc else float(r[2]),
                                                                              r[0]))
        unknown = [r for r in rows if r[2] is None]
        return [(n, e) for _, n, e in (unknown + known if desc else known + unknown)]

    params = {"name__contains": "Квант", "fields": "name,employees"}
    assert _pages(site["boss"], {**params, "order_by": "employees"}) == expected(False)
    assert _pages(site["boss"], {**params, "order_by": "-employees"}) == expected(True)
    assert _pages(site["volkov"], {**params, "order_by": "-employees"}) == expected(True, hidden={"Квант 5"})
    r = site["boss"].get("/core.partner", params={"order_by": "headcount"})
    assert r.status == 422 and "employees" in r.json["errors"]["order_by"][0]
