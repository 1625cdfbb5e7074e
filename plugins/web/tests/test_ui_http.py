"""The web pages through a real server (``crmkit serve`` on loopback) and a
real HTTP client keeping cookies, over the demo base: sign-in, sessions,
CSRF, CSP, redirects, every entity's pages, escaping, bad input, access."""
from __future__ import annotations

import re

import pytest

import crmkit
from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.ui.testing import PASSWORD, WebClient, load_demo

EVIL = '<script>alert("x")</script>" onmouseover="alert(1)'
EVIL_URL = "javascript:alert(1)"


@pytest.fixture(scope="module")
def site(web_url, start_server):
    registry = load_demo(web_url)
    crm = crmkit.open(web_url, migrate=False)
    partner = crm.create("core.partner", {"name": EVIL, "comment": EVIL_URL, "access_group": None})
    kind = crm.find("deals.kind")[0]
    deal = crm.create("deals.deal", {"name": EVIL, "client": partner.id, "kind": kind.id, "start_date": "2015-03-01"})
    crm.close()
    server = start_server(web_url)
    return {"url": web_url, "base": server.base, "registry": registry, "evil_partner": partner.id,
            "evil_deal": deal.id}


def client(site, login=None):
    c = WebClient(site["base"])
    if login:
        r = c.sign_in(login)
        assert r.status == 302, r
    return c


def open_as(site, login=None):
    crm = crmkit.open(site["url"], migrate=False)
    return crm.as_user(login) if login else crm


# -- sign-in and sessions ---------------------------------------------------
def test_pages_need_a_session_and_come_back_after_sign_in(site):
    c = WebClient(site["base"])
    r = c.get("/e/core.partner/?q=Протон", follow=False)
    assert r.status == 302 and r.header("location").startswith("/signin?next=")
    r = c.sign_in("orlov", next_path="/e/core.partner/?q=Протон")
    from urllib.parse import unquote
    assert r.status == 302 and unquote(r.header("location")) == "/e/core.partner/?q=Протон"
    assert "Протон" in c.get(unquote(r.header("location"))).text


def test_session_cookie_flags(site):
    c = WebClient(site["base"])
    c.sign_in("orlov")
    cookie = next(h for h in c.set_cookie_headers if h.startswith("crmkit_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie   # plain HTTP on loopback
    tls = WebClient(site["base"])
    page = tls.get("/signin", headers={"X-Forwarded-Proto": "https"})
    r = tls.request("POST", "/signin", form={"csrf_token": page.csrf(), "login": "orlov", "password": PASSWORD},
                    headers={"X-Forwarded-Proto": "https"}, follow=False)
    cookie = next(h for h in tls.set_cookie_headers if "crmkit_session=" in h and "signin" not in h)
    assert cookie.startswith("__Host-crmkit_session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert r.header("strict-transport-security")


def test_wrong_password_and_unknown_login_look_alike(site):
    a = client(site).sign_in("orlov", "not the password at all")
    b = client(site).sign_in("nobody-at-all", "not the password at all")
    assert a.status == b.status == 401
    assert "wrong login or password" in a.text and "wrong login or password" in b.text


def test_lockout_after_repeated_failures(site):
    from crmkit.core import passwords
    c = client(site)
    for _ in range(passwords.LOCK_AFTER):
        r = c.sign_in("petrov_s", "a wrong password here")
    assert r.status == 401 and "locked until" in r.text
    assert c.sign_in("petrov_s").status == 401      # the right password is refused while locked
    crm = open_as(site)
    passwords.unlock(crm, "petrov_s")
    crm.close()
    assert c.sign_in("petrov_s").status == 302


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", " //evil.example"])
def test_no_open_redirect_after_sign_in(site, target):
    r = client(site).sign_in("orlov", next_path=target)
    assert r.status == 302 and r.header("location") == "/"


def test_sign_out_ends_the_session_on_the_server(site):
    c = client(site, "orlov")
    stolen = dict(c.cookies)
    home = c.get("/")
    assert c.post("/signout", {"csrf_token": home.csrf()}, follow=False).status == 302
    again = WebClient(site["base"])
    again.cookies = stolen                     # the old cookie, replayed
    assert again.get("/", follow=False).status == 302


def test_sign_in_form_needs_its_token(site):
    c = WebClient(site["base"])
    c.get("/signin")
    r = c.request("POST", "/signin", form={"login": "orlov", "password": PASSWORD}, follow=False)
    assert r.status == 403 and "crmkit_session" not in c.cookies


# -- CSRF, CSP ----------------------------------------------------------------
def test_csrf_missing_wrong_or_cross_site_is_refused_and_nothing_written(site):
    c = client(site, "orlov")
    crm = open_as(site)
    before = crm.count("core.partner")
    for form, headers in (({"name": "CSRF 1"}, {}), ({"name": "CSRF 2", "csrf_token": "forged"}, {}),
                          ({"name": "CSRF 3", "csrf_token": c.get("/e/core.partner/new").csrf()},
                           {"Origin": "http://evil.example"})):
        r = c.request("POST", "/e/core.partner/new", form=form, headers=headers, follow=False)
        assert r.status == 403, r
    assert crm.count("core.partner") == before
    crm.close()


def test_every_page_has_a_csp_without_inline_script(site):
    c = client(site, "boss")
    for path in ("/", "/e/core.partner/", f"/e/core.partner/{site['evil_partner']}", "/deals/board",
                 "/reports/", "/reports/deals.funnel", "/e/deals.deal/new", "/signin"):
        r = c.get(path)
        assert r.status == 200, (path, r)
        csp = r.header("content-security-policy")
        script = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "unsafe-inline" not in script and "unsafe-eval" not in script, csp
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path      # no inline script
        assert not re.search(r"\son[a-z]+=[\"']", r.text), path  # no inline handlers
        assert r.header("x-content-type-options") == "nosniff" and r.header("cache-control") == "no-store"


# -- every entity gets list, card and form ------------------------------------
def test_every_entity_has_list_card_and_form(site):
    c = client(site, "boss")
    crm = open_as(site)
    for entity, spec in sorted(site["registry"].entities.items()):
        r = c.get(f"/e/{entity}/")
        assert r.status == 200, (entity, r)
        first = crm.query(entity, spec.model._meta.primary_key).first()
        if first is not None:
            r = c.get(f"/e/{entity}/{first.get_id()}")
            assert r.status == 200, (entity, r)
            r = c.get(f"/e/{entity}/{first.get_id()}?tab=history")
            assert r.status == 200, (entity, r)
        r = c.get(f"/e/{entity}/new")
        assert r.status == 200, (entity, r)
    crm.close()


def test_list_sort_filter_search_and_keyset_pages(site):
    c = client(site, "boss")
    up, down = c.get("/e/core.partner/?sort=name").text, c.get("/e/core.partner/?sort=-name").text
    assert up.index("Альтаир") < up.index("Протон") and down.index("Протон") < down.index("Альтаир")
    assert c.get("/e/core.partner/?sort=password").status == 200 and "cannot sort by" in \
        c.get("/e/core.partner/?sort=password").text
    assert "unknown filter" in c.get("/e/core.partner/?secret__eq=1").text
    assert "Протон" in c.get("/e/core.partner/?q=Протон").text
    assert "Альтаир" not in c.get("/e/core.partner/?q=Протон").text
    assert "Протон" not in c.get("/e/core.partner/?is_client=false").text
    # keyset pages: walking "next" visits every visible partner exactly once
    seen, path = [], "/e/core.interaction/?sort=-date"
    while path:
        page = c.get(path.replace("&amp;", "&"))
        seen += set(re.findall(r'href="/e/core\.interaction/(\d+)"', page.text))   # a row links its id and number
        nxt = re.search(r'href="([^"]+)" rel="next"', page.text)
        path = nxt.group(1) if nxt else None
    crm = open_as(site)
    assert sorted(map(int, seen)) == sorted(r.id for r in crm.find("core.interaction"))
    crm.close()


# -- escaping -----------------------------------------------------------------
def test_hostile_values_are_escaped_everywhere(site):
    c = client(site, "boss")
    pid, did = site["evil_partner"], site["evil_deal"]
    for path in ("/e/core.partner/?q=script", f"/e/core.partner/{pid}", f"/e/core.partner/{pid}?tab=contacts",
                 f"/e/core.partner/{pid}?tab=deals", f"/e/deals.deal/{did}", "/e/deals.deal/",
                 f"/e/deals.deal/{did}/edit", "/deals/board", "/e/core.contact_info/"):
        text = c.get(path).text
        assert '<script>alert("x")' not in text, path
        assert 'onmouseover="alert(1)' not in text, path
        assert 'href="javascript:' not in text, path
    assert "&lt;script&gt;" in c.get(f"/e/core.partner/{pid}").text


# -- bad input ----------------------------------------------------------------
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(site):
    c = client(site, "orlov")
    crm = open_as(site)
    before = crm.count("core.partner")
    r = c.submit("/e/core.partner/new", fields={"name": "Половинка", "kind": "robot", "registered_on": "31.02.2015",
                                                "access_group": "999999"})
    assert r.status == 422
    for field in ("kind", "registered_on", "access_group"):
        assert f'id="err-{field}"' in r.text, field
    assert 'value="Половинка"' in r.text            # what was typed stays in the form
    assert crm.count("core.partner") == before
    deal = crm.find("deals.deal", status="in_work")[0]
    r = c.submit(f"/e/deals.deal/{deal.id}", action=f"/e/deals.deal/{deal.id}/act/deals.lose", fields={})
    assert r.status == 422 and "reason" in r.text
    assert crm.get("deals.deal", deal.id).status == "in_work"
    crm.close()


def test_edit_and_mark_for_deletion(site):
    c = client(site, "boss")
    crm = open_as(site)
    p = crm.create("core.partner", {"name": "Правка"})
    r = c.submit(f"/e/core.partner/{p.id}/edit", fields={"name": "Правка 2", "kind": "company", "comment": "x"})
    assert r.status == 200 and "Правка 2" in r.text
    assert crm.get("core.partner", p.id).name == "Правка 2"
    r = c.submit(f"/e/core.partner/{p.id}", action=f"/e/core.partner/{p.id}/mark", fields={"mark": "1"})
    assert crm.get("core.partner", p.id).deletion_mark is True
    crm.close()


# -- access: a restricted user sees none of another group's partners ------------
def test_restricted_user_sees_nothing_of_another_group(site):
    crm = open_as(site)
    hidden = [p for p in crm.find("core.partner") if p.access_group_id is not None
              and p.access_group.name == "Сетевые магазины"]
    hidden_deals = [d for d in crm.find("deals.deal") if d.client_id in {p.id for p in hidden}]
    crm.close()
    assert hidden and hidden_deals
    c = client(site, "lazurenko")
    pages = ["/e/core.partner/", "/e/core.partner/?q=Электромаркет", "/e/deals.deal/", "/e/core.interaction/",
             "/e/core.contact/", "/deals/board", "/reports/deals.funnel", "/reports/deals.efficiency?detail=1",
             "/e/claims.claim/"]
    for path in pages:
        text = re.sub(r'<form class="filters".*?</form>', "", c.get(path).text, flags=re.S)  # the query typed
        for p in hidden:
            assert p.name not in text and f'href="/e/core.partner/{p.id}"' not in text, (path, p.name)
        for d in hidden_deals:
            assert d.name not in text, (path, d.name)
    for p in hidden:
        assert c.get(f"/e/core.partner/{p.id}").status == 404
    for d in hidden_deals:
        assert c.get(f"/e/deals.deal/{d.id}").status == 404


def test_report_figures_are_the_users_own(site):
    c = client(site, "lazurenko")
    crm = open_as(site, "lazurenko")
    mine = crm.report("deals.efficiency").render("csv")
    crm.close()
    got = c.get("/reports/deals.efficiency?format=csv")
    assert got.status == 200 and got.text == mine
    admin = open_as(site).report("deals.efficiency").render("csv")
    assert got.text != admin            # the restricted user's figures are not everyone's


def test_report_downloads(site):
    import io
    import json
    import openpyxl
    c = client(site, "orlov")
    page = c.get("/reports/deals.funnel")
    assert "<svg" in page.text and "Первичный контакт" in page.text and 'class="num"' in page.text
    x = c.get("/reports/deals.funnel?format=xlsx")
    assert x.status == 200 and x.header("content-type").startswith("application/vnd.openxml")
    book = openpyxl.load_workbook(io.BytesIO(x.body))
    assert book.sheetnames
    j = c.get("/reports/deals.funnel?format=json")
    assert json.loads(j.text)["report"] == "deals.funnel"
    bad = c.get("/reports/deals.funnel?date_from=yesterday")
    assert bad.status == 422 and 'id="err-date_from"' in bad.text


def test_every_report_has_a_page(site):
    c = client(site, "boss")
    for report_id in sorted(site["registry"].reports):
        r = c.get(f"/reports/{report_id}")
        assert r.status in (200, 422), (report_id, r)   # 422: a report whose parameters are required


# -- languages ------------------------------------------------------------------
def test_russian_from_the_browser_or_the_users_own_setting(site):
    c = client(site, "orlov")
    en = c.get("/e/core.partner/4")
    ru = c.get("/e/core.partner/4", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert "Records that refer to it" in en.text and "Ссылающиеся записи" in ru.text
    assert "15.01.2015" in ru.text and "2015-01-15" in en.text           # dates in the locale
    crm = open_as(site)
    crm.update("core.user", "fedorov", {"lang": "ru", "time_zone": "Asia/Vladivostok"})
    crm.close()
    f = client(site, "fedorov")                                            # the user's own language wins
    assert "Ссылающиеся записи" in f.get("/e/core.partner/4", headers={"Accept-Language": "en"}).text


# lead capture forms: test_ui_lead_forms.py (with and without the leads plugin)


def test_win_with_an_agreement_from_the_card(site):
    crm = open_as(site)
    kind = crm.find("deals.kind", name="Произвольная продажа")[0]
    proton, altair = crm.find("core.partner", name="Протон")[0], crm.find("core.partner", name="Альтаир")[0]
    own = crm.create("deals.agreement", {"name": "Договор Протон 2026", "client": proton.id})
    other = crm.create("deals.agreement", {"name": "Договор Альтаир 2026", "client": altair.id})
    deal = crm.create("deals.deal", {"name": "Поставка по договору", "client": proton.id, "kind": kind.id,
                                     "start_date": "2026-11-01"})
    c = client(site, "orlov")
    card = f"/e/deals.deal/{deal.id}"
    refused = c.submit(card, action=f"{card}/act/deals.win", fields={"agreement": str(other.id)})
    assert refused.status == 422 and "another client" in refused.text
    assert crm.get("deals.deal", deal.id).status == "in_work"
    done = c.submit(card, action=f"{card}/act/deals.win", fields={"agreement": own.name})
    assert done.status == 200
    won = crm.get("deals.deal", deal.id)
    assert won.status == "won" and won.agreement_id == own.id
    crm.close()


def test_a_long_timeline_shows_the_newest_fifty_and_links_the_rest(site):
    import html
    crm = open_as(site)
    p = crm.create("core.partner", {"name": "Timeline sixty", "access_group": None})
    for i in range(60):
        crm.create("core.interaction", {"kind": "call", "direction": "outgoing", "topic": f"Call {i:02d}",
                                        "date": f"2024-03-01T09:{i:02d}:00+00:00", "partner": p.id})
    crm.close()
    c = client(site, "orlov")
    page = c.get(f"/e/core.partner/{p.id}?tab=interactions").text
    assert len(re.findall(r'href="/e/core\.interaction/\d+"', page)) == 50
    assert "Call 59" in page and "Call 10" in page and "Call 09" not in page
    more = re.search(r'href="([^"]*)">More: 10 older<', page)
    assert more and "sort=-date" in more.group(1)
    listing = c.get(html.unescape(more.group(1)))
    assert listing.status == 200 and "Call 59" in listing.text


def test_fast_card_links_match_url_for():
    from crmkit_web.app import create_app
    from crmkit_web.ui.locale import card_url, cell_link
    from flask import url_for
    app = create_app("sqlite://", plugins=["web"])
    for root in ("", "/crm"):
        with app.test_request_context("/", base_url=f"http://x{root}"):
            for entity, key in (("core.partner", 5), ("core.interaction", "00-0001"), ("x y", "a?b&c")):
                assert card_url(entity, key) == url_for("ui.card", entity=entity, key=key)
            assert str(cell_link(('<b>"x"</b>', "core.partner", 7))) == \
                f'<a href="{root}/e/core.partner/7">&lt;b&gt;&#34;x&#34;&lt;/b&gt;</a>'
            assert str(cell_link(("<i>", None, None))) == "&lt;i&gt;"
