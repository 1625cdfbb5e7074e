"""The entity endpoints through a real gunicorn server and a real HTTP
client: CRUD, keyset pages, filters, fields, references by code and
expanded, ETag / If-Match, Idempotency-Key, problem documents, tokens,
security headers."""
from __future__ import annotations

import datetime as dt

import pytest

import crmkit

from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.testing import Client, make_token

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


@pytest.fixture(scope="module")
def world(web_url, start_server):
    crm = crmkit.open(web_url)
    wholesale = crm.create("core.access_group", {"name": "Оптовые покупатели"})
    retail = crm.create("core.access_group", {"name": "Розничные покупатели"})
    for login, roles in (("boss", "administrator"), ("orlov", "manager"), ("volkov", "manager"),
                         ("reader", "readonly")):
        crm.create("core.user", {"login": login, "name": login.title(), "roles": roles})
    for login, group in (("orlov", wholesale), ("volkov", retail), ("reader", wholesale)):
        crm.create("core.user_access", {"user": crm.get("core.user", login).id, "access_group": group.id})
    hidden = crm.create("core.partner", {"name": "Дальстрой", "access_group": wholesale.id,
                                         "manager": crm.get("core.user", "orlov").id})
    tokens = {login: make_token(crm, login) for login in ("boss", "orlov", "volkov", "reader")}
    expired = make_token(crm, "orlov", expires_days=1)
    from crmkit.core import models as m
    m.ApiToken.update(expires_at=crmkit.utcnow() - dt.timedelta(seconds=1)).where(
        m.ApiToken.token_hash == __import__("crmkit.core.tokens", fromlist=["digest"]).digest(expired)).execute()
    revoked = make_token(crm, "volkov")
    from crmkit.core import tokens as tk
    tk.revoke(crm, tk.listing(crm, "volkov")[0]["id"])
    crm.close()
    server = start_server(web_url)
    base = f"{server.base}/api/v1"
    return {"server": server, "url": web_url, "hidden": hidden.id, "wholesale": wholesale.id,
            "expired": expired, "revoked": revoked,
            **{login: Client(base, token) for login, token in tokens.items()},
            "anon": Client(base), "tokens": tokens}


def test_a_token_is_required_and_never_echoed(world):
    anon = world["anon"]
    for client in (anon, anon.as_token("crmk_" + "x" * 43), anon.as_token(world["expired"]),
                   anon.as_token(world["revoked"])):
        r = client.get("/core.partner")
        assert r.status == 401, r
        assert r.header("content-type") == "application/problem+json"
        assert r.header("www-authenticate", "").startswith("Bearer")
        assert (client.token or "@@") not in r.body.decode()
    r = anon.get("/core.partner", headers={"Authorization": "Basic Ym9zczpwYXNz"})
    assert r.status == 401
    assert world["boss"].get("/core.partner").status == 200
    # tokens appear nowhere in the server's log
    log = world["server"].log()
    for token in (*world["tokens"].values(), world["expired"], world["revoked"]):
        assert token not in log


def test_create_read_update_delete(world):
    boss = world["boss"]
    r = boss.post("/core.partner", {"name": "Протон", "kind": "company", "comment": "первый"})
    assert r.status == 201, r
    doc = r.json
    assert doc["name"] == "Протон" and doc["code"].startswith("00-")
    assert r.header("location").endswith(f"/api/v1/core.partner/{doc['id']}")
    tag = r.header("etag")
    assert boss.get(f"/core.partner/{doc['code']}").json["id"] == doc["id"]     # by code
    got = boss.get(f"/core.partner/{doc['id']}")
    assert got.status == 200 and got.header("etag") == tag
    assert boss.get(f"/core.partner/{doc['id']}", headers={"If-None-Match": tag}).status == 304
    r = boss.patch(f"/core.partner/{doc['id']}", {"comment": "второй"}, headers={"If-Match": tag})
    assert r.status == 200 and r.json["comment"] == "второй" and r.header("etag") != tag
    stale = boss.patch(f"/core.partner/{doc['id']}", {"comment": "третий"}, headers={"If-Match": tag})
    assert stale.status == 412 and stale.header("content-type") == "application/problem+json"
    assert boss.get(f"/core.partner/{doc['id']}").json["comment"] == "второй"     # nothing overwritten
    r = boss.delete(f"/core.partner/{doc['id']}")                                 # first: the deletion mark
    assert r.status == 200 and r.json["deletion_mark"] is True
    assert boss.delete(f"/core.partner/{doc['id']}").status == 204               # then for good
    assert boss.get(f"/core.partner/{doc['id']}").status == 404


def test_pages_filters_order_fields(world):
    boss = world["boss"]
    made = [boss.post("/core.region", {"name": f"Регион {i:02d}", "code": f"R{i:02d}"}).json["id"]
            for i in range(7)]
    seen, url, pages = [], "/core.region?limit=3&order_by=-name&fields=name,code", 0
    while url:
        r = boss.get(url)
        assert r.status == 200, r
        assert all(set(d) == {"id", "name", "code"} for d in r.json["data"])
        seen += [d["id"] for d in r.json["data"]]
        url = r.json["next"]
        if url:
            assert r.header("link") == f'<{url}>; rel="next"' and "cursor=" in url and "offset" not in url
        pages += 1
    assert pages == 3 and seen == list(reversed(made))
    r = boss.get("/core.region", params={"name__startswith": "Регион 0", "code__in": "R01,R03"})
    assert [d["code"] for d in r.json["data"]] == ["R01", "R03"]
    r = boss.get("/core.region", params={"id__gt": "abc", "bogus__eq": 1, "limit": "0"})
    assert r.status == 422 and {"limit"} <= set(r.json["errors"])
    r = boss.get("/core.region", params={"id__gt": "abc"})
    assert r.status == 422 and "id__gt" in r.json["errors"]
    r = boss.get("/core.region", params={"bogus": "1"})
    assert r.status == 422 and "bogus" in r.json["errors"]
    r = boss.get("/core.region", params={"order_by": "password"})
    assert r.status == 422 and "order_by" in r.json["errors"]
    assert boss.get("/core.region", params={"cursor": "not-a-cursor"}).json["errors"].keys() == {"cursor"}


def test_references_by_code_and_expanded(world):
    boss = world["boss"]
    partner = boss.post("/core.partner", {"name": "Вектор", "manager": "orlov"}).json
    assert isinstance(partner["manager"], int)
    contact = boss.post("/core.contact", {"partner": partner["code"], "name": "Смирнов"})
    assert contact.status == 201 and contact.json["partner"] == partner["id"]
    r = boss.post("/core.contact", {"partner": "00-99999999", "name": "x", "bogus": 1})
    assert r.status == 422 and set(r.json["errors"]) == {"partner", "bogus"}   # every field at once
    r = boss.get(f"/core.contact/{contact.json['id']}", params={"expand": "partner"})
    assert r.json["partner"] == {"id": partner["id"], "display": "Вектор", "code": partner["code"]}
    assert boss.get("/core.contact", params={"expand": "name"}).status == 422


def test_access_through_http(world):
    volkov, orlov, reader = world["volkov"], world["orlov"], world["reader"]
    hidden = world["hidden"]
    assert orlov.get(f"/core.partner/{hidden}").status == 200
    for r in (volkov.get(f"/core.partner/{hidden}"), volkov.patch(f"/core.partner/{hidden}", {"comment": "x"}),
              volkov.get(f"/core.partner/{hidden}", headers={"If-None-Match": "*"})):
        assert r.status == 404, r
    # a verb the role lacks is refused before the row is looked up: the answer says nothing about it
    assert volkov.post(f"/core.partner/{hidden}/actions/core.erase", {}).status == 403
    assert volkov.post("/core.partner/999999/actions/core.erase", {}).status == 403
    assert hidden not in [d["id"] for d in volkov.get("/core.partner", params={"limit": 500}).json["data"]]
    assert reader.post("/core.partner", {"name": "x"}).status == 403
    assert orlov.delete(f"/core.partner/{hidden}").status == 403
    r = volkov.post("/core.contact", {"partner": hidden, "name": "spy"})
    assert r.status == 422 and "partner" in r.json["errors"]


def test_problem_documents(world):
    boss = world["boss"]
    boss.post("/core.access_group", {"name": "Уникальная"})
    r = boss.post("/core.access_group", {"name": "Уникальная"})
    assert r.status == 409 and "name" in r.json["errors"]
    r = boss.request("POST", "/core.region", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and "body" in r.json["errors"]
    r = boss.request("POST", "/core.region", raw=b"name=x", headers={"Content-Type": "text/plain"})
    assert r.status == 415
    assert boss.post("/core.region", ["a"]).status == 400
    r = boss.request("POST", "/core.region", raw=b'{"name": ' + b'"x' * 600_000 + b'"}',
                     headers={"Content-Type": "application/json"})
    assert r.status == 413 and r.header("content-type") == "application/problem+json"
    r = boss.post("/core.region", {"name": 12, "code": ["R"], "bogus": True})
    assert r.status == 422 and set(r.json["errors"]) == {"name", "code", "bogus"}
    r = boss.request("POST", "/core.region", raw=b'{"name": "x", "code": NaN}',
                     headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert boss.get("/no.such_entity").status == 404
    assert boss.get("/core.region", params={"name": "нет такого"}).json["data"] == []
    assert not [d for d in boss.get("/core.region", params={"limit": 500}).json["data"] if d["name"] == 12]


def test_idempotency_key(world):
    boss, orlov = world["boss"], world["orlov"]
    key = {"Idempotency-Key": "create-region-once"}
    first = boss.post("/core.region", {"name": "Один раз", "code": "ONCE"}, headers=key)
    again = boss.post("/core.region", {"name": "Один раз", "code": "ONCE"}, headers=key)
    assert first.status == again.status == 201
    assert first.json == again.json and again.header("idempotent-replayed") == "true"
    assert len(boss.get("/core.region", params={"code": "ONCE"}).json["data"]) == 1
    other = boss.post("/core.region", {"name": "Другой", "code": "TWO"}, headers=key)
    assert other.status == 422 and "Idempotency-Key" in other.json["errors"]
    # keys are per user: the same key from another user is another request
    assert orlov.post("/core.partner", {"name": "Свой"}, headers=key).status == 201
    assert boss.post("/core.region", {"name": "x"}, headers={"Idempotency-Key": "\x7f" * 3}).status == 400


def test_security_headers_everywhere_and_no_cors(world):
    boss, anon = world["boss"], world["anon"]
    responses = [boss.get("/core.partner"), boss.get("/nope"), anon.get("/core.partner"), anon.get("/openapi.json"),
                 boss.post("/core.region", {"bogus": 1}), anon.get("/../../etc/passwd"),
                 boss.get("/core.partner", headers={"Origin": "https://evil.example"})]
    for r in responses:
        for name in SECURITY_HEADERS:
            assert r.header(name), (name, r)
        assert "frame-ancestors 'none'" in r.header("content-security-policy")
        assert r.header("access-control-allow-origin") is None
    assert responses[0].header("cache-control") == "no-store"


def test_one_click_unsubscribe(world):
    from crmkit_marketing.api import make_token
    crm = crmkit.open(world["url"], migrate=False)
    try:
        group = crm.create("marketing.mailing_group", {"name": "Новости", "mode": "subscription"})
        token = make_token("email", "reader@news.example", group.id)
    finally:
        crm.close()
    site = Client(world["server"].base)
    page = site.get(f"/u/{token}")
    assert page.status == 200 and b'method="post"' in page.body and page.header("content-security-policy")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert site.request("POST", f"/u/{token}", raw=b"", headers=form).status == 400
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert site.request("POST", f"/u/{tampered}", raw=b"List-Unsubscribe=One-Click", headers=form).status == 400
    crm = crmkit.open(world["url"], migrate=False)
    try:
        assert crm.count("marketing.consent", address="reader@news.example") == 0   # GET changed nothing
    finally:
        crm.close()
    done = site.request("POST", f"/u/{token}", raw=b"List-Unsubscribe=One-Click", headers=form)
    assert done.status == 200, done
    crm = crmkit.open(world["url"], migrate=False)
    try:
        entries = crm.find("marketing.consent", address="reader@news.example")
        assert [(e.action, e.group_id) for e in entries] == [("opt_out", group.id)]
    finally:
        crm.close()
    log = world["server"].log()
    assert "/u/…" in log and token not in log
