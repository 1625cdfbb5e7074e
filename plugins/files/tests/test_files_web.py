"""The Files tab and the download through a real server: listed on the
card, downloaded as an attachment (never rendered), hidden with the subject."""
from __future__ import annotations

import io

import pytest

import crmkit

pytest.importorskip("crmkit_web")
from crmkit_web.testing import Server  # noqa: E402
from crmkit_web.ui.testing import PASSWORD, WebClient  # noqa: E402

HTML = b"<!doctype html><script>alert(document.cookie)</script>"


@pytest.fixture(scope="module", params=["database", "disk"])
def site(request, tmp_path_factory):
    """The same site with contents in the database and on disk (the
    server's CRMKIT_FILES_DIR)."""
    import os
    store = str(tmp_path_factory.mktemp("store")) if request.param == "disk" else ""
    before = os.environ.get("CRMKIT_FILES_DIR")
    os.environ["CRMKIT_FILES_DIR"] = store
    try:
        yield from _site(tmp_path_factory)
    finally:
        if before is None:
            os.environ.pop("CRMKIT_FILES_DIR", None)
        else:
            os.environ["CRMKIT_FILES_DIR"] = before


def _site(tmp_path_factory):
    from crmkit.core.passwords import set_password
    from crmkit_files.store import attach
    url = f"sqlite:///{tmp_path_factory.mktemp('files-web') / 'web.db'}"
    crm = crmkit.open(url)
    wholesale = crm.create("core.access_group", {"name": "Оптовые"})
    retail = crm.create("core.access_group", {"name": "Розничные"})
    for login, roles in (("boss", "administrator"), ("volkov", "manager")):
        crm.create("core.user", {"login": login, "name": login.title(), "roles": roles})
        set_password(crm, login, PASSWORD)
    crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": retail.id})
    crm.create("core.user", {"login": "petrova", "name": "Петрова", "roles": "manager", "lang": "ru"})
    set_password(crm, "petrova", PASSWORD)
    crm.create("core.user_access", {"user": crm.get("core.user", "petrova").id, "access_group": retail.id})
    hidden = crm.create("core.partner", {"name": "Дальстрой", "access_group": wholesale.id})
    own = crm.create("core.partner", {"name": "Протон", "access_group": retail.id})
    secret = attach(crm, ("core.partner", hidden.id), "secret-plan.pdf", io.BytesIO(b"%PDF-1.4 x"))
    page = attach(crm, ("core.partner", own.id), "page.html", io.BytesIO(HTML))
    crm.close()
    from crmkit.kernel.db import database
    database.obj.close()
    server = Server(url, log=tmp_path_factory.mktemp("log") / "server.log",
                    env={"CRMKIT_FILES_MAX_BYTES": str(3 * 1024 * 1024)})
    yield {"base": server.base, "hidden": hidden.id, "own": own.id, "secret": secret.id, "page": page.id}
    server.stop()


def _client(site, login):
    c = WebClient(site["base"])
    assert c.sign_in(login).status == 302
    return c


def test_the_card_lists_files_and_downloads_them_as_attachments(site):
    c = _client(site, "volkov")
    tab = c.get(f"/e/core.partner/{site['own']}?tab=files")
    assert tab.status == 200 and "page.html" in tab.text
    got = c.get(f"/files/{site['page']}")
    assert got.status == 200 and got.body == HTML
    assert got.header("content-type") == "application/octet-stream"
    assert got.header("content-disposition").startswith("attachment;")
    assert got.header("x-content-type-options") == "nosniff"


def test_a_hidden_subjects_files_stay_hidden(site):
    c = _client(site, "volkov")
    assert c.get(f"/files/{site['secret']}").status == 404
    assert "secret-plan.pdf" not in c.get(f"/e/core.partner/{site['own']}?tab=files").text
    assert "secret-plan.pdf" not in c.get("/e/files.file/").text
    boss = _client(site, "boss")
    assert "secret-plan.pdf" in boss.get(f"/e/core.partner/{site['hidden']}?tab=files").text


def _upload(c, path, name, data, token):
    """A multipart POST as a browser sends the tab's form (with the session's cookies)."""
    import http.client
    import uuid
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(c.host, c.port, timeout=60)
    try:
        try:
            conn.request("POST", path, body=body, headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Cookie": "; ".join(f"{k}={v}" for k, v in c.cookies.items()), "Origin": c.base})
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server answered (413) before reading the whole body: read that answer
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace"), resp.getheader("location")
    finally:
        conn.close()


def test_the_tab_attaches_files_and_refuses_programs(site):
    c = _client(site, "volkov")
    tab = c.get(f"/e/core.partner/{site['own']}?tab=files")
    token = tab.csrf()
    status, _, location = _upload(c, f"/files/attach/core.partner/{site['own']}", "offer.pdf", b"%PDF-1.4 y", token)
    assert status == 302 and location.endswith("tab=files")
    assert "offer.pdf" in c.get(f"/e/core.partner/{site['own']}?tab=files").text
    status, text, _ = _upload(c, f"/files/attach/core.partner/{site['own']}", "invoice.pdf",
                              b"MZ\x90\x00" + b"\x00" * 64, token)
    assert status == 422 and "is a program" in text
    status, text, _ = _upload(c, f"/files/attach/core.partner/{site['hidden']}", "spy.pdf", b"%PDF-1.4 z", token)
    assert status in (404, 422) and "Дальстрой" not in text
    status, _, _ = _upload(c, f"/files/attach/core.partner/{site['own']}", "forged.pdf", b"%PDF-1.4", "forged")
    assert status in (400, 403)
    assert "forged.pdf" not in c.get(f"/e/core.partner/{site['own']}?tab=files").text


def test_an_upload_past_the_servers_1_mib_streams_to_the_store_up_to_the_files_limit(site):
    """The upload page takes bodies up to the files limit (3 MiB here), not
    the server's 1 MiB; a file over the limit is refused on the tab, a body
    far past it before it is read (413, saying the limit)."""
    c = _client(site, "volkov")
    token = c.get(f"/e/core.partner/{site['own']}?tab=files").csrf()
    big = b"%PDF-1.4\n" + bytes(range(256)) * (2 * 1024 * 1024 // 256)   # 2 MiB
    status, _, location = _upload(c, f"/files/attach/core.partner/{site['own']}", "big.pdf", big, token)
    assert status == 302 and location.endswith("tab=files")
    tab = c.get(f"/e/core.partner/{site['own']}?tab=files").text
    assert "big.pdf" in tab
    import re
    key = re.search(r'/files/(\d+)"[^>]*>\s*big\.pdf', tab) or re.search(r"/files/(\d+)", tab.split("big.pdf")[0][-400:])
    got = c.get(f"/files/{key.group(1)}")
    assert got.status == 200 and got.body == big
    over = big + b"\x00" * (1024 * 1024 + 10)                    # 3 MiB + 10 bytes: the form fits, the file not
    status, text, _ = _upload(c, f"/files/attach/core.partner/{site['own']}", "over.pdf", over, token)
    assert status == 422 and "larger than the limit of 3 145 728 bytes" in text
    status, text, _ = _upload(c, f"/files/attach/core.partner/{site['own']}", "huge.pdf", over * 2, token)
    assert status == 413 and "larger than the limit of" in text
    assert "over.pdf" not in c.get(f"/e/core.partner/{site['own']}?tab=files").text


def test_the_413_page_speaks_the_users_language(site):
    """A body far past the limit is refused before it is read with a page in
    the user's language (the catalogue's words, the limit as a number)."""
    c = _client(site, "petrova")
    token = c.get(f"/e/core.partner/{site['own']}?tab=files").csrf()
    huge = b"%PDF-1.4\n" + b"\x00" * (8 * 1024 * 1024)
    status, text, _ = _upload(c, f"/files/attach/core.partner/{site['own']}", "huge.pdf", huge, token)
    assert status == 413 and "запрос больше предела в 3 211 264 байт" in text, text[-600:]
    assert "larger than the limit" not in text and "Главная" in text
    missing = c.get("/e/core.partner/999999")
    assert missing.status == 404 and "не найден" in missing.text and "not found" not in missing.text
