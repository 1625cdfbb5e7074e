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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
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
    hidden = crm.create("core.partner", {"name": "Дальстрой", "access_group": wholesale.id})
    own = crm.create("core.partner", {"name": "Протон", "access_group": retail.id})
    secret = attach(crm, ("core.partner", hidden.id), "secret-plan.pdf", io.BytesIO(b"%PDF-1.4 x"))
    page = attach(crm, ("core.partner", own.id), "page.html", io.BytesIO(HTML))
    crm.close()
    from crmkit.kernel.db import database
    database.obj.close()
    server = Server(url, log=tmp_path_factory.mktemp("log") / "server.log")
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
