"""Uploads over the API with the file's bytes as the raw body, through a real
server (``crmkit serve``) and a real HTTP client (``http.client``), on SQLite
and PostgreSQL, with contents in the database and on disk: a file of several
MiB round-trips byte for byte, one over the limit is refused (413) with
nothing written, whether it says its length or comes chunked, a hidden
subject answers 404 and a bad name is named."""
from __future__ import annotations

import hashlib
import http.client
import os
import uuid

import pytest

import crmkit

pytest.importorskip("crmkit_web")
from crmkit_web.testing import Client, Server, make_token, scratch_database  # noqa: E402

pytestmark = pytest.mark.plugins("files")

LIMIT = 3 * 1024 * 1024
PG_ENV = "CRMKIT_TEST_POSTGRES_URL"
PDF = b"%PDF-1.4\n"


def _backends():
    db = ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]
    return [(b, s) for b in db for s in ("database", "disk")]


def _database(kind, tmp_path_factory):
    return scratch_database(kind, tmp_path_factory, "crmkit_files")


@pytest.fixture(scope="module", params=_backends(), ids=lambda p: "-".join(p))
def site(request, tmp_path_factory):
    backend, storage = request.param
    url, drop = _database(backend, tmp_path_factory)
    store = tmp_path_factory.mktemp("store") / "files" if storage == "disk" else None
    before = os.environ.get("CRMKIT_FILES_DIR")
    os.environ["CRMKIT_FILES_DIR"] = str(store or "")
    server = None
    try:
        crm = crmkit.open(url, plugins=None)
        wholesale = crm.create("core.access_group", {"name": "Оптовые"})
        retail = crm.create("core.access_group", {"name": "Розничные"})
        crm.create("core.user", {"login": "volkov", "name": "Волков", "roles": "manager"})
        crm.create("core.user", {"login": "reader", "name": "Читатель", "roles": "readonly"})
        crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": retail.id})
        hidden = crm.create("core.partner", {"name": "Дальстрой", "access_group": wholesale.id})
        own = crm.create("core.partner", {"name": "Протон", "access_group": retail.id})
        tokens = {login: make_token(crm, login) for login in ("volkov", "reader")}
        crm.close()
        from crmkit.kernel.db import database
        database.obj.close()
        server = Server(url, log=tmp_path_factory.mktemp("log") / "server.log",
                        env={"CRMKIT_FILES_MAX_BYTES": str(LIMIT), "CRMKIT_FILES_DIR": str(store or "")})
        yield {"server": server, "url": url, "store": store, "hidden": hidden.id, "own": own.id,
               "api": Client(f"{server.base}/api/v1", tokens["volkov"]),
               "reader": Client(f"{server.base}/api/v1", tokens["reader"])}
    finally:
        if server is not None:
            server.stop()
        if before is None:
            os.environ.pop("CRMKIT_FILES_DIR", None)
        else:
            os.environ["CRMKIT_FILES_DIR"] = before
        from crmkit.kernel.db import database
        if database.obj is not None and not database.obj.is_closed():
            database.obj.close()
        if drop:
            drop()


def _stored(site):
    """What the database and the folder hold: (file rows, blob rows, files on disk)."""
    crm = crmkit.open(site["url"], migrate=False)
    try:
        from crmkit_files import models as m
        files = m.File.select().count()
        blobs = m.Blob.select().count()
    finally:
        crm.close()
        from crmkit.kernel.db import database
        database.obj.close()
    store = site["store"]
    on_disk = sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()
                     and p.name != ".lock") if store is not None and store.exists() else []
    return files, blobs, on_disk


def _raw(site, method, path, headers, body=b"", chunks=None, token="api"):
    """A request whose body is sent as given (or chunked), the server's answer read
    even when it answered before the body was sent whole."""
    client = site[token]
    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    try:
        try:
            conn.request(method, client.prefix + path, body=chunks if chunks is not None else body,
                         headers={"Authorization": f"Bearer {client.token}", **headers},
                         encode_chunked=chunks is not None)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        from crmkit_web.testing import Response
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def test_a_file_of_several_mib_round_trips_byte_for_byte(site):
    api = site["api"]
    data = PDF + os.urandom(2 * 1024 * 1024) + bytes(range(256)) * 2048   # 2.5 MiB, past the API's 1 MiB
    got = api.post(f"/files/core.partner/{site['own']}", raw=data,
                   headers={"Content-Type": "application/pdf"}, params={"name": "Договор.pdf", "comment": "скан"})
    assert got.status == 201, got
    result = got.json["result"]
    assert result["name"] == "Договор.pdf" and result["size"] == len(data) and result["mime"] == "application/pdf"
    assert result["sha256"] == hashlib.sha256(data).hexdigest() and result["comment"] == "скан"
    assert got.header("location").endswith(f"/api/v1/files.file/{result['id']}")
    assert api.get(f"/files.file/{result['id']}").json["subject_id"] == site["own"]
    back = api.get(f"/files.file/{result['id']}/content")
    assert back.status == 200 and back.body == data
    assert back.header("content-type") == "application/octet-stream"
    assert back.header("content-disposition").startswith("attachment;")
    if site["store"] is not None:   # on disk, by its hash, and no temporary file left behind
        digest = result["sha256"]
        assert (site["store"] / digest[:2] / digest[2:4] / digest).read_bytes() == data
        assert not any(p.startswith(".tmp/") for p in _stored(site)[2])


def test_a_file_over_the_limit_is_refused_and_nothing_is_written(site):
    before = _stored(site)
    over = PDF + b"\x00" * (LIMIT + 1 - len(PDF))
    got = _raw(site, "POST", f"/files/core.partner/{site['own']}?name=over.pdf",
               {"Content-Type": "application/pdf", "Content-Length": str(len(over))}, over)
    assert got.status == 413 and got.json["errors"]["content"] == ["is larger than the limit of 3 145 728 bytes"]
    assert _stored(site) == before
    chunked = _raw(site, "POST", f"/files/core.partner/{site['own']}?name=chunked.pdf",
                   {"Content-Type": "application/pdf"}, chunks=iter([PDF] + [b"\x01" * (256 * 1024)] * 16))
    assert chunked.status == 413 and "3 145 728" in chunked.json["detail"]
    assert _stored(site) == before
    exactly = PDF + b"\x02" * (LIMIT - len(PDF))   # the limit itself is allowed
    fits = site["api"].post(f"/files/core.partner/{site['own']}", raw=exactly, params={"name": "limit.pdf"},
                            headers={"Content-Type": "application/octet-stream"})
    assert fits.status == 201 and fits.json["result"]["size"] == LIMIT


def test_a_body_announced_past_the_limit_is_refused_before_it_is_read(site):
    """2 GB announced, nothing sent: the answer comes at once (a server that
    waited for the body would time out)."""
    client = site["api"]
    conn = http.client.HTTPConnection(client.host, client.port, timeout=20)
    try:
        conn.putrequest("POST", client.prefix + f"/files/core.partner/{site['own']}?name=huge.pdf")
        for name, value in (("Authorization", f"Bearer {client.token}"), ("Content-Type", "application/pdf"),
                            ("Content-Length", str(2 * 1024 ** 3))):
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 413 and b"larger than the limit" in resp.read()
    finally:
        conn.close()


def test_a_hidden_subject_answers_404_as_a_missing_one(site):
    before = _stored(site)
    for path in (f"/files/core.partner/{site['hidden']}", "/files/core.partner/999999", "/files/nothing.here/1"):
        got = site["api"].post(path, raw=PDF + b"spy", params={"name": "spy.pdf"},
                               headers={"Content-Type": "application/pdf"})
        assert got.status == 404, (path, got)
        assert "Дальстрой" not in got.body.decode()
    assert _stored(site) == before


def test_a_bad_name_a_program_a_form_and_a_missing_grant_are_refused_naming_them(site):
    before = _stored(site)
    api, path = site["api"], f"/files/core.partner/{site['own']}"
    for params in ({"name": "../"}, {"name": "\x01\x02"}, {}):
        bad = api.post(path, raw=PDF + b"x", params=params, headers={"Content-Type": "application/pdf"})
        assert bad.status == 422 and "name" in bad.json["errors"], (params, bad)
    long = api.post(path, raw=PDF, params={"name": "a" * 300 + ".pdf"}, headers={"Content-Type": "application/pdf"})
    assert long.status == 422 and long.json["errors"]["name"] == ["max length is 255"]
    program = api.post(path, raw=b"MZ\x90\x00" + b"\x00" * 64, params={"name": "invoice.pdf"},
                       headers={"Content-Type": "application/pdf"})
    assert program.status == 422 and "is a program" in program.json["errors"]["content"][0]
    empty = api.post(path, raw=b"", params={"name": "empty.pdf"}, headers={"Content-Type": "application/pdf"})
    assert empty.status == 422 and empty.json["errors"]["content"] == ["is empty"]
    form = api.post(path, raw=b"a=b", params={"name": "form.pdf"},
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 415 and "body" in form.json["errors"]
    denied = site["reader"].post(path, raw=PDF + b"r", params={"name": "r.pdf"},
                                 headers={"Content-Type": "application/pdf"})
    assert denied.status in (403, 404), denied
    assert api.post(path, raw=PDF, params={"name": "x.pdf"}, headers={"Authorization": "Bearer crmk_wrong"}
                    ).status == 401
    assert _stored(site) == before


def test_the_openapi_document_describes_the_upload(site):
    doc = site["api"].get("/openapi.json").json
    upload = doc["paths"]["/files/{entity}/{key}"]["post"]
    assert {p["name"] for p in upload["parameters"]} == {"entity", "key", "name", "comment"}
    assert "413" in upload["responses"] and "404" in upload["responses"]
    assert doc["paths"]["/files.file/{key}/content"]["get"]["responses"]["200"]
    attach = doc["paths"]["/files.file/actions/files.attach"]["post"]
    content = attach["requestBody"]["content"]["application/json"]["schema"]["properties"]["content"]
    assert content["type"] == "string"


def test_an_idempotency_key_makes_one_file_and_is_the_users_own(site):
    """A retried upload with its Idempotency-Key gets the first answer again,
    not a second file; the key with another body is a 422 and writes
    nothing (the body is hashed as read, never buffered: the fingerprint of
    a streamed body; before, the key was ignored and a retry made a second
    file)."""
    from crmkit_files import models as m
    api, path = site["api"], f"/files/core.partner/{site['own']}"
    data = PDF + os.urandom(1536 * 1024)   # past the API's 1 MiB
    key = {"Content-Type": "application/pdf", "Idempotency-Key": f"upload-{uuid.uuid4().hex}"}
    first = api.post(path, raw=data, headers=key, params={"name": "once.pdf"})
    assert first.status == 201, first
    before = _stored(site)
    again = api.post(path, raw=data, headers=key, params={"name": "once.pdf"})
    assert again.status == 201 and again.header("idempotent-replayed") == "true"
    assert again.json == first.json and again.header("location") == first.header("location")
    chunked = _raw(site, "POST", f"{path}?name=once.pdf", key,
                   chunks=iter([data[:700000], data[700000:]]))
    assert chunked.status == 201 and chunked.json == first.json
    assert _stored(site) == before
    other = api.post(path, raw=data + b"x", headers=key, params={"name": "once.pdf"})
    assert other.status == 422 and "Idempotency-Key" in other.json["errors"]
    renamed = api.post(path, raw=data, headers=key, params={"name": "twice.pdf"})
    assert renamed.status == 422
    assert _stored(site) == before
    crm = crmkit.open(site["url"], migrate=False)
    try:
        assert m.File.select().where(m.File.name == "once.pdf").count() == 1
    finally:
        crm.close()
        from crmkit.kernel.db import database
        database.obj.close()


def test_a_key_of_digits_that_are_not_ascii_is_a_404_not_a_server_error(site):
    before = _stored(site)
    for key in ("%C2%B2", "%D9%A1"):   # "²" and Arabic-Indic "١": digits to str.isdigit, not an id
        got = _raw(site, "POST", f"/files/core.partner/{key}?name=x.pdf", {"Content-Type": "application/pdf",
                                                                           "Content-Length": str(len(PDF))}, PDF)
        assert got.status == 404, got
        assert site["api"].get(f"/core.partner/{key}").status == 404
    assert _stored(site) == before
