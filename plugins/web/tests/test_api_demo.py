"""The demo base through a real server: the access matrix (every user of
the demo, every entity and every report gives over HTTP exactly what
``crmkit.open(url, user=...)`` gives in process), and actions reached
from HTTP and from the CLI alike."""
from __future__ import annotations

import json

import pytest

import crmkit
from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.testing import Client, make_token

USERS = ("orlov", "fedorov", "lazurenko", "volkov", "sokolov", "petrov_s", "analyst")


@pytest.fixture(scope="module")
def demo(web_url, start_server):
    crm = crmkit.open(web_url)
    with crm.transaction():
        for _ in crm.call_in_order("crmkit_load_demo", crm=crm):
            pass
    crm.create("core.user", {"login": "boss", "name": "Boss", "roles": "administrator"})
    tokens = {login: make_token(crm, login) for login in (*USERS, "boss")}
    registry = crm.registry
    crm.close()
    server = start_server(web_url)
    base = f"{server.base}/api/v1"
    return {"url": web_url, "registry": registry, "server": server,
            "clients": {login: Client(base, token) for login, token in tokens.items()}}


def _all_ids(client, entity):
    ids, url = [], f"/{entity}?limit=500&fields=id&include_marked=true"
    while url:
        r = client.get(url)
        if r.status != 200:
            return r.status
        ids += [d["id"] for d in r.json["data"]]
        url = r.json["next"]
    return ids


def test_every_entity_lists_what_the_kernel_shows_each_user(demo):
    registry = demo["registry"]
    crm = crmkit.open(demo["url"], migrate=False)
    try:
        for login in USERS:
            user = crm.as_user(login)
            for entity in sorted(registry.entities):
                got = _all_ids(demo["clients"][login], entity)
                if not user.can("read", entity):
                    assert got == 403, (login, entity)
                    continue
                pk = registry.entity(entity).model._meta.primary_key
                expected = [r.get_id() for r in user.query(entity, pk, include_marked=True)]
                assert sorted(got) == sorted(expected), (login, entity)
                assert len(got) == len(set(got)), (login, entity)   # pages neither repeat nor skip
    finally:
        crm.close()


def test_hidden_rows_are_404_for_every_entity(demo):
    """volkov (claims officer, groups 1 and 2) and petrov_s (read-only, no
    group): a row the kernel hides is a 404 on GET, PATCH and DELETE."""
    registry = demo["registry"]
    crm = crmkit.open(demo["url"], migrate=False)
    checked = {"petrov_s": 0, "volkov": 0}
    try:
        for login in ("petrov_s", "volkov"):
            user = crm.as_user(login)
            client = demo["clients"][login]
            for entity in sorted(registry.entities):
                if not user.can("read", entity):
                    continue
                pk = registry.entity(entity).model._meta.primary_key
                shown = {r.get_id() for r in user.query(entity, pk, include_marked=True)}
                hidden = [r.get_id() for r in crm.query(entity, pk) if r.get_id() not in shown][:3]
                for key in hidden:
                    checked[login] += 1
                    assert client.get(f"/{entity}/{key}").status == 404, (login, entity, key)
                    assert client.patch(f"/{entity}/{key}", {"comment": "x"}).status in (403, 404), (login, entity)
                    assert client.delete(f"/{entity}/{key}").status in (403, 404), (login, entity)
        assert checked["petrov_s"] > 20 and checked["volkov"] > 5, checked   # the demo hides rows from both
    finally:
        crm.close()


def test_every_report_gives_each_user_what_the_kernel_gives(demo):
    registry = demo["registry"]
    crm = crmkit.open(demo["url"], migrate=False)
    try:
        for login in USERS:
            user = crm.as_user(login)
            client = demo["clients"][login]
            listed = {r["id"] for r in client.get("/reports").json["data"]}
            assert listed == {r for r in registry.reports if user.can("read", r)}, login
            for report_id in sorted(registry.reports):
                r = client.get(f"/reports/{report_id}", params={"format": "json"})
                if not user.can("read", report_id):
                    assert r.status == 403, (login, report_id)
                    continue
                try:
                    expected = json.loads(user.report(report_id).render("json"))
                except crmkit.ValidationError as exc:
                    assert r.status == 422 and r.json["errors"] == exc.errors, (login, report_id)
                    continue
                except crmkit.AccessDenied:
                    assert r.status == 403, (login, report_id)
                    continue
                assert r.status == 200, (login, report_id, r)
                assert r.json == expected, (login, report_id)
    finally:
        crm.close()


def test_report_formats(demo):
    client = demo["clients"]["boss"]
    for fmt, media in (("csv", "text/csv"), ("html", "text/html"),
                       ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
        r = client.get("/reports/deals.funnel", params={"format": fmt, "date_from": "2015-01-01"})
        assert r.status == 200 and r.header("content-type").startswith(media), (fmt, r)
    r = client.get("/reports/deals.funnel", headers={"Accept": "text/csv"})
    assert r.header("content-type").startswith("text/csv")
    assert "script-src" not in client.get("/reports/deals.funnel?format=html").header("content-security-policy")
    r = client.get("/reports/deals.funnel", params={"date_from": "вчера"})
    assert r.status == 422 and "date_from" in r.json["errors"]
    assert client.get("/reports/deals.funnel", params={"format": "pdf"}).status == 422
    assert client.get("/reports/no.such").status == 404
    described = {r["id"]: r for r in client.get("/reports").json["data"]}
    assert described["deals.funnel"]["params"]["properties"]["date_from"]["format"] == "date"


def test_actions_from_http_and_from_the_cli(demo):
    orlov = demo["clients"]["orlov"]
    actions = {a["name"]: a for a in orlov.get("/actions").json["data"]}
    assert {"deals.move", "deals.win", "deals.lose"} <= set(actions)
    assert "core.deliver_outbox" not in actions              # administrators only
    assert actions["deals.lose"]["params"]["required"] == ["reason"]
    kinds = orlov.get("/deals.kind", params={"name": "Произвольная продажа"}).json["data"]
    deal = orlov.post("/deals.deal", {"name": "Поставка по API", "client": "00-00000036", "kind": kinds[0]["id"],
                                      "responsible": "orlov", "potential": "1500.00", "currency": "USD"})
    assert deal.status == 201, deal
    code = deal.json["code"]
    moved = orlov.post(f"/deals.deal/{code}/actions/deals.move", {"stage": "next"})
    assert moved.status == 200, moved
    assert moved.json["result"]["record"]["stage"] != deal.json["stage"]
    bad = orlov.post(f"/deals.deal/{code}/actions/deals.lose", {"reason": "", "bogus": 1})
    assert bad.status == 422 and set(bad.json["errors"]) == {"reason", "bogus"}
    assert orlov.get(f"/deals.deal/{code}").json["status"] == "in_work"      # nothing written
    lost = orlov.post(f"/deals.deal/{code}/actions/deals.lose", {"reason": "Проигрыш конкуренту"})
    assert lost.status == 200 and lost.json["result"]["record"]["status"] == "lost", lost
    assert orlov.post(f"/deals.deal/{code}/actions/deals.nothing", {}).status == 404
    assert orlov.post(f"/deals.deal/{code}/actions/claims.resolve", {"status": "in_work"}).status == 404
    reader = demo["clients"]["petrov_s"]
    assert reader.post(f"/deals.deal/{code}/actions/deals.reopen", {}).status in (403, 404)
    # the CLI runs the same action
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    out = CliRunner().invoke(build_cli(), ["--db", demo["url"], "--user", "orlov", "deals", "reopen", code])
    assert out.exit_code == 0, out.output
    assert orlov.get(f"/deals.deal/{code}").json["status"] == "in_work"
    won = orlov.post(f"/deals.deal/{code}/actions/deals.win", {}, headers={"Idempotency-Key": "win-once"})
    again = orlov.post(f"/deals.deal/{code}/actions/deals.win", {}, headers={"Idempotency-Key": "win-once"})
    assert won.status == again.status == 200 and again.header("idempotent-replayed") == "true", demo["server"].log()[-3000:]
    # an action on the entity as a whole: every open deal's probability at once, as the CLI runs it
    recomputed = orlov.post("/deals.deal/actions/deals.recompute_probabilities", {"keep_manual": True})
    assert recomputed.status == 200 and recomputed.json["result"]["changed"] == 0, recomputed
    assert reader.post("/deals.deal/actions/deals.recompute_probabilities", {}).status == 403
    bad = orlov.post("/deals.deal/actions/deals.recompute_probabilities", {"keep_manual": "maybe"})
    assert bad.status == 422 and set(bad.json["errors"]) == {"keep_manual"}



# -- bad input for every entity, through HTTP ----------------------------------------------

def _poison_cases():
    """The kernel sweep's poison values (tests/poison.py), or, until that
    list is there, the values the kernel refuses by field kind."""
    import sys
    from pathlib import Path
    root = str(Path(__file__).resolve().parents[3])
    if root not in sys.path:
        sys.path.append(root)
    try:
        from tests.poison import poison_cases
        return poison_cases
    except ImportError:
        pass
    import peewee as pw

    def fallback(spec, schema):
        for name, rules in sorted(schema.items()):
            field = spec.model._meta.fields.get(name)
            if rules.get("readonly") or field is None or isinstance(field, pw.AutoField):
                continue
            kind = rules.get("type")
            if kind == "string" and "allowed" not in rules:
                yield from ((name, v) for v in ("a\x00b", "x\ud800y"))
                if rules.get("maxlength"):
                    yield name, "я" * (rules["maxlength"] + 1)
            elif kind in ("integer", "decimal", "float"):
                yield from ((name, v) for v in ("not a number", [1], {"a": 1}))
                if "max" in rules:
                    yield name, str(rules["max"] + 1)
            elif kind in ("date", "datetime"):
                yield from ((name, v) for v in ("31.02.2015 25:61", {"a": 1}))
            elif kind == "boolean":
                yield name, "perhaps"
    return fallback


def _rounds(cases):
    """Poison values grouped into bodies: round i gives every field its i-th
    value, so one request checks that every field's problem is named."""
    per_field: dict = {}
    for name, value in cases:
        per_field.setdefault(name, []).append(value)
    depth = max((len(v) for v in per_field.values()), default=0)
    rounds = []
    for i in range(depth):
        body = {n: vals[i] for n, vals in per_field.items() if i < len(vals)}
        # an over-long value travels alone: together they would pass the
        # server's body limit and be refused (413) before any field is read
        big = {n: v for n, v in body.items() if len(json.dumps(v, default=str)) > 50_000}
        rounds.append({n: v for n, v in body.items() if n not in big})
        rounds += [{n: v} for n, v in big.items()]
    return [body for body in rounds if body]


def test_poison_values_refused_for_every_entity_and_nothing_written(demo):
    cases_of = _poison_cases()
    boss = demo["clients"]["boss"]
    crm = crmkit.open(demo["url"], migrate=False)
    problems = []
    try:
        for entity in sorted(demo["registry"].entities):
            spec = crm.registry.entity(entity)
            schema = crm.schema(entity)
            rounds = _rounds(cases_of(spec, schema)) + [{"bogus_field": 1, "id": 5}]
            before = spec.model.select().count()
            sample = boss.get(f"/{entity}", params={"limit": 1, "order_by": "-id"}).json["data"]
            for body in rounds:
                for method, url in (("POST", f"/{entity}"),) + (
                        (("PATCH", f"/{entity}/{sample[0]['id']}"),) if sample else ()):
                    tag = boss.get(url).header("etag") if method == "PATCH" else None
                    r = boss.request(method, url, body=body)
                    named = set((r.json or {}).get("errors") or {}) if r.status in (400, 409, 422) else set()
                    if "subject" in named:   # the kernel names a bad subject reference once, as "subject"
                        named |= {"subject_type", "subject_id"}
                    missing = set(body) - named - ({"id"} if method == "PATCH" else set())
                    if r.status == 413 and len(body) == 1:   # a value past the body limit: refused whole
                        missing = set()
                    elif r.status not in (400, 403, 409, 422) or missing:
                        problems.append((method, entity, r.status, sorted(missing), str(r.body[:200])))
                    if method == "PATCH":
                        assert boss.get(url).header("etag") == tag, (entity, body)   # nothing changed
            assert spec.model.select().count() == before, entity                    # nothing created
    finally:
        crm.close()
    assert not problems, [p[:4] for p in problems][:60]


# -- the OpenAPI document, checked by an independent validator and driving a client ------

def test_the_openapi_document_is_valid_openapi_3_1(demo):
    from openapi_spec_validator import validate
    anon = Client(demo["clients"]["boss"].base)
    r = anon.get("/openapi.json")           # public: no token
    assert r.status == 200
    doc = r.json
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    registry = demo["registry"]
    for entity in registry.entities:
        assert f"/{entity}" in doc["paths"] and f"/{entity}/{{key}}" in doc["paths"], entity
    for report in registry.reports:
        assert f"/reports/{report}" in doc["paths"], report
    for action in registry.actions.values():
        assert any(p.endswith(f"/actions/{action.name}") for p in doc["paths"]), action.name
    deal = doc["components"]["schemas"]["deals_deal_create"]["properties"]
    assert deal["status"]["enum"][:3] == ["in_work", "won", "lost"]
    assert deal["client"]["x-crmkit-reference"] == "core.partner"
    assert deal["probability"]["maximum"] == 100


def _resolve(doc, schema):
    while "$ref" in schema:
        node = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _example(doc, schema, refs, depth=0):
    """A small instance of ``schema``: required properties only, references
    to records that exist."""
    schema = _resolve(doc, schema)
    if "oneOf" in schema:
        return _example(doc, schema["oneOf"][0], refs, depth)
    if "x-crmkit-reference" in schema:
        return refs.get(schema["x-crmkit-reference"])
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    types = schema.get("type", "string")
    kind = next((t for t in ([types] if isinstance(types, str) else types) if t != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _example(doc, props[name], refs, depth + 1) for name in schema.get("required", [])
                if depth < 3}
    if kind == "array":
        return []
    if kind == "integer":
        return max(schema.get("minimum", 1), 1) if schema.get("maximum", 1) >= 1 else schema.get("minimum", 0)
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date":
        return "2015-06-01"
    if fmt == "date-time":
        return "2015-06-01T10:00:00+00:00"
    if fmt == "decimal":
        return "1.00"
    length = max(schema.get("minLength", 1), 3)
    return "api"[:schema.get("maxLength", length)] if length <= 3 else "a" * length


def test_a_client_driven_by_the_document_gets_only_documented_answers(demo):
    """Every operation of the document, as an administrator: GETs, then
    POSTs, PATCHes and DELETEs with bodies made from its schemas. Each
    answer's status must be one the operation documents, and each JSON
    body must match the documented schema; no 5xx."""
    import jsonschema
    boss = demo["clients"]["boss"]
    doc = boss.get("/openapi.json").json
    refs, keys = {}, {}
    for entity in demo["registry"].entities:
        rows = boss.get(f"/{entity}", params={"limit": 1, "order_by": "id"}).json["data"]
        if rows:
            refs[entity] = keys[entity] = rows[0]["id"]
    keys["core.user"] = refs["core.user"] = boss.get("/core.user/boss").json["id"]   # not marked: our token's user
    operations = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "patch", "delete"):
                operations.append((("get", "post", "patch", "delete").index(method), path, method, op, item))
    seen = set()
    for _, path, method, op, item in sorted(operations, key=lambda o: (o[0], o[1])):
        entity = path.split("/")[1]
        if "{key}" in path and entity not in keys:
            continue
        if method == "delete" and entity == "core.user":
            continue
        url = path.replace("{key}", str(keys.get(entity, "")))
        params = {p["name"]: _example(doc, p["schema"], refs) for p in op.get("parameters", []) + item.get(
            "parameters", []) if p["in"] == "query" and p.get("required")}
        body = None
        if "requestBody" in op:
            body = _example(doc, op["requestBody"]["content"]["application/json"]["schema"], refs)
        r = boss.request(method.upper(), url, body=body if body is not None or method != "post" else {},
                         params=params or None)
        assert r.status < 500, (method, url, r)
        assert str(r.status) in op["responses"], (method, url, body, r)
        seen.add((method, path))
        media = (r.header("content-type") or "").split(";")[0]
        answer = op["responses"][str(r.status)]
        answer = _resolve(doc, answer)
        if media in ("application/json", "application/problem+json") and "content" in answer:
            schema = answer["content"].get(media, {}).get("schema")
            if schema is not None:
                jsonschema.validate(r.json, {**schema, "components": doc["components"]},
                                    cls=jsonschema.Draft202012Validator)
    assert len(seen) > 0.9 * len(operations), (len(seen), len(operations))

