"""The signed-in user's preferences page (``/preferences``) through a real
server and a cookie-keeping HTTP client: linked from the header, CSRF
checked, an unknown zone or language refused beside its field with nothing
written, and the next page in the chosen language and zone. It runs the
``core.preferences`` action, which writes only the acting user's own row.
And the header's count of the user's reminders due, linked to their list.
SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

import crmkit
from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.ui.testing import WebClient, load_demo


@pytest.fixture(scope="module")
def site(web_url, start_server):
    load_demo(web_url)
    crm = crmkit.open(web_url, migrate=False)
    partner = crm.find("core.partner", name="Протон")[0]
    orlov = crm.get("core.user", "orlov")
    call = crm.create("core.interaction", {"kind": "call", "direction": "outgoing", "partner": partner.id,
                                           "topic": "Звонок о поставке", "responsible": orlov.id,
                                           "date": dt.datetime(2026, 1, 15, 0, 30, tzinfo=dt.timezone.utc)})
    crm.update("core.user", "orlov", {"lang": "", "time_zone": "Europe/Moscow"})
    crm.close()
    server = start_server(web_url, env={"CRMKIT_TZ": "Europe/Moscow"})
    return {"url": web_url, "base": server.base, "call": call.id}


def user(site, login):
    crm = crmkit.open(site["url"], migrate=False)
    try:
        u = crm.get("core.user", login)
        return u.lang, u.time_zone
    finally:
        crm.close()


def logged(site, login="orlov"):
    """The changes of ``login``'s language and zone in their history (who, field, old, new)."""
    crm = crmkit.open(site["url"], migrate=False)
    try:
        return [(h.user, h.field, h.old, h.new) for h in crm.history("core.user", login)
                if h.field in ("lang", "time_zone") and h.user == login]
    finally:
        crm.close()


def signed_in(site, login="orlov"):
    c = WebClient(site["base"])
    assert c.sign_in(login).status == 302
    return c


EN = {"Accept-Language": "en"}


def test_the_header_links_the_preferences_page(site):
    c = signed_in(site)
    home = c.get("/", headers=EN)
    assert 'href="/preferences"' in home.text and ">Preferences<" in home.text
    page = c.get("/preferences", headers=EN)
    assert page.status == 200 and page.csrf()
    assert '<label for="pref-lang">Language</label>' in page.text and '<label for="pref-zone">Time zone</label>' in page.text
    assert 'value="Europe/Moscow"' in page.text and '<option value="Asia/Vladivostok">' in page.text
    assert WebClient(site["base"]).get("/preferences", follow=False).status == 302     # needs a session


def test_without_the_csrf_token_or_from_another_site_nothing_is_written(site):
    c = signed_in(site)
    before = user(site, "orlov")
    assert c.post("/preferences", {"lang": "ru", "time_zone": "Asia/Tokyo"}).status == 403
    assert c.post("/preferences", {"lang": "ru", "time_zone": "Asia/Tokyo", "csrf_token": "forged"}).status == 403
    token = c.get("/preferences").csrf()
    cross = c.post("/preferences", {"lang": "ru", "time_zone": "Asia/Tokyo", "csrf_token": token},
                   headers={"Origin": "https://evil.example"})
    assert cross.status == 403
    assert user(site, "orlov") == before


def test_an_unknown_zone_or_language_is_refused_beside_its_field(site):
    c = signed_in(site)
    before = user(site, "orlov")
    r = c.submit("/preferences", fields={"lang": "ru", "time_zone": "Mars/Olympus"})
    assert r.status == 422 and 'id="err-time_zone"' in r.text and "unknown time zone" in r.text
    assert 'value="Mars/Olympus"' in r.text                              # what was typed is kept
    r = c.submit("/preferences", fields={"lang": "de", "time_zone": "Asia/Tokyo"})
    assert r.status == 422 and 'id="err-lang"' in r.text
    assert user(site, "orlov") == before                                 # nothing written
    assert logged(site) == []


def test_saved_preferences_take_effect_on_the_next_page(site):
    c = signed_in(site)
    card = f"/e/core.interaction/{site['call']}"
    assert "15.01.2026" not in c.get(card, headers=EN).text              # English, Moscow: 2026-01-15 03:30
    assert "2026-01-15 03:30" in c.get(card, headers=EN).text
    r = c.submit("/preferences", fields={"lang": "ru", "time_zone": "Asia/Vladivostok"}, follow=False)
    assert r.status == 302 and r.header("location").startswith("/preferences")
    assert user(site, "orlov") == ("ru", "Asia/Vladivostok")
    saved = c.get(r.header("location"), headers=EN)
    assert "Сохранено" in saved.text and 'lang="ru"' in saved.text
    page = c.get(card, headers=EN)                                       # the user's language wins over the browser's
    assert "15.01.2026 10:30" in page.text and 'lang="ru"' in page.text
    other = signed_in(site)                                              # a new session starts in it too
    assert 'lang="ru"' in other.get("/", headers=EN).text
    assert logged(site)[-2:] == [("orlov", "lang", "", "ru"), ("orlov", "time_zone", "Europe/Moscow", "Asia/Vladivostok")]
    # back to the browser's language and the operator's zone
    r = c.submit("/preferences", fields={"lang": "", "time_zone": ""})
    assert r.status == 200 and user(site, "orlov") == ("", "")
    assert 'lang="en"' in c.get("/", headers=EN).text
    assert "2026-01-15 03:30" in c.get(card, headers=EN).text            # CRMKIT_TZ, Moscow


def test_a_user_changes_only_their_own_row(site):
    before = user(site, "petrov_s")
    c = signed_in(site, "orlov")
    c.submit("/preferences", fields={"lang": "en", "time_zone": "Asia/Yekaterinburg", "login": "petrov_s"})
    assert user(site, "petrov_s") == before
    assert user(site, "orlov") == ("en", "Asia/Yekaterinburg")
    crm = crmkit.open(site["url"], migrate=False)
    orlov = crm.as_user("orlov")
    with pytest.raises(crmkit.AccessDenied):                             # users stay admin-written
        orlov.update("core.user", "orlov", {"time_zone": "Asia/Tokyo"})
    assert orlov.act("core.preferences", None, time_zone="Asia/Tokyo") == {"lang": "en", "time_zone": "Asia/Tokyo"}
    with pytest.raises(crmkit.ValidationError) as refused:
        orlov.act("core.preferences", None, time_zone="Asia/Tokio")
    assert "time_zone" in refused.value.errors
    crm.close()
    assert user(site, "orlov") == ("en", "Asia/Tokyo")


# -- the header's count of reminders due -------------------------------------------------
def test_the_header_counts_the_users_due_reminders_and_links_them(site):
    import re
    crm = crmkit.open(site["url"], migrate=False)
    now = crmkit.utcnow()
    orlov, fedorov = crm.get("core.user", "orlov"), crm.get("core.user", "fedorov")
    for user, offset, done, text in ((orlov, -3600, False, "Перезвонить Протону"),
                                     (orlov, -60, False, "Отправить КП"),
                                     (orlov, 3 * 86400, False, "Через три дня"),
                                     (orlov, -7200, True, "Уже сделано"),
                                     (fedorov, -3600, False, "Чужое напоминание")):
        crm.create("core.reminder", {"user": user.id, "remind_at": now + dt.timedelta(seconds=offset),
                                     "description": text, "done": done})
    expected = crm.as_user("orlov").count("core.reminder", user=orlov.id, done=False, remind_at__le=now)
    crm.close()
    assert expected >= 2
    c = signed_in(site)
    home = c.get("/", headers=EN)
    found = re.search(r'<a class="due some" href="([^"]+)">Reminders due: <span class="count">(\d+)</span>', home.text)
    assert found and int(found.group(2)) == expected, home.text[:3000]
    listed = c.get(found.group(1).replace("&amp;", "&"), headers=EN)
    assert "Перезвонить Протону" in listed.text and "Отправить КП" in listed.text
    assert "Через три дня" not in listed.text and "Уже сделано" not in listed.text
    assert "Чужое напоминание" not in listed.text
    crm = crmkit.open(site["url"], migrate=False)
    petrov = crm.as_user("petrov_s")
    theirs = petrov.count("core.reminder", user=petrov.actor.id, done=False, remind_at__le=crmkit.utcnow())
    crm.close()
    ru = signed_in(site, "petrov_s").get("/", headers={"Accept-Language": "ru"})
    said = re.search(r'<a class="due[^"]*" href="[^"]+">Напоминания к сроку: <span class="count">(\d+)</span>', ru.text)
    assert said and int(said.group(1)) == theirs
