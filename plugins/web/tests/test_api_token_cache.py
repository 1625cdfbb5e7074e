"""A checked token is kept per worker for ``CRMKIT_TOKEN_CACHE_SECONDS``:
through a real one-worker server, a revoked token and changed roles take
effect once that time has passed (and at once with the cache off), an
expired token stops at its expiry moment even while it is kept, and wrong
tokens are never kept. The kernel's references (a unique name) reach the
API unchanged."""
from __future__ import annotations

import datetime as dt
import time

import pytest

import crmkit
from crmkit.core import models as m
from crmkit.core import tokens as tk

from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.api.auth import TokenCache
from crmkit_web.testing import Client, make_token


@pytest.fixture(scope="module")
def users(web_url):  # noqa: F811
    crm = crmkit.open(web_url)
    for login, roles in (("orlov", "manager"), ("volkov", "manager"), ("reader", "manager"),
                         ("boss", "administrator")):
        crm.create("core.user", {"login": login, "name": login.title(), "roles": roles})
    yield crm
    crm.close()


def _until(check, seconds):
    """Poll ``check()`` until it is true or ``seconds`` have passed; its last value."""
    ends = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() >= ends:
            return value
        time.sleep(0.05)


def test_revocation_and_roles_take_effect_after_the_cache_lifetime(users, web_url, start_server):  # noqa: F811
    crm = users
    orlov, reader = make_token(crm, "orlov"), make_token(crm, "reader")
    server = start_server(web_url, workers=1, env={"CRMKIT_TOKEN_CACHE_SECONDS": "3"})
    api = f"{server.base}/api/v1"
    c, r = Client(api, orlov), Client(api, reader)
    assert c.get("/core.partner").status == 200
    assert r.post("/core.partner", {"name": "Пока можно"}).status == 201
    revoked_at = time.monotonic()
    tk.revoke(crm, tk.listing(crm, "orlov")[0]["id"])
    crm.update("core.user", "reader", {"roles": "readonly"})
    assert c.get("/core.partner").status == 200           # still kept by the worker: the documented delay
    assert _until(lambda: c.get("/core.partner").status == 401, 10)
    assert time.monotonic() - revoked_at >= 2.0
    time.sleep(max(0.0, revoked_at + 3.2 - time.monotonic()))   # the reader's entry was kept before the change
    assert r.post("/core.partner", {"name": "Уже нельзя"}).status == 403
    assert r.get("/core.partner", params={"name": "Уже нельзя"}).json["data"] == []


def test_without_the_cache_revocation_is_immediate(users, web_url, start_server):  # noqa: F811
    crm = users
    secret = make_token(crm, "volkov")
    server = start_server(web_url, workers=1, env={"CRMKIT_TOKEN_CACHE_SECONDS": "0"})
    c = Client(f"{server.base}/api/v1", secret)
    assert c.get("/core.partner").status == 200
    tk.revoke(crm, tk.listing(crm, "volkov")[0]["id"])
    assert c.get("/core.partner").status == 401


def test_expiry_is_exact_while_the_token_is_kept(users, web_url, start_server):  # noqa: F811
    crm = users
    secret = make_token(crm, "orlov", expires_days=1)
    server = start_server(web_url, workers=1, env={"CRMKIT_TOKEN_CACHE_SECONDS": "60"})
    ends = crmkit.utcnow() + dt.timedelta(seconds=3)
    m.ApiToken.update(expires_at=ends).where(m.ApiToken.token_hash == tk.digest(secret)).execute()
    c = Client(f"{server.base}/api/v1", secret)
    assert c.get("/core.partner").status == 200
    time.sleep(max(0.0, (ends - crmkit.utcnow()).total_seconds()) + 0.1)
    assert c.get("/core.partner").status == 401            # long before the 60 s of the cache


def test_the_cache_is_bounded_and_ends_entries():
    cache = TokenCache(seconds=0.2, max_entries=3)
    now = crmkit.utcnow()
    for i in range(10):
        cache.put(f"d{i}", ("actor", None), None, now)
    assert len(cache._entries) == 3 and cache.get("d9") == ("actor", None) and cache.get("d0") is None
    cache.put("soon", ("actor", None), now + dt.timedelta(seconds=0.05), now)
    time.sleep(0.1)
    assert cache.get("soon") is None                        # the token's own expiry comes first
    time.sleep(0.15)
    assert cache.get("d9") is None                          # then the cache's lifetime
    cache.put("past", ("actor", None), now - dt.timedelta(seconds=1), now)
    assert cache.get("past") is None
    off = TokenCache(seconds=0)
    off.put("d", ("actor", None), None, now)
    assert off.get("d") is None


def test_bad_cache_setting_is_refused_naming_it(monkeypatch, web_url):  # noqa: F811
    from crmkit_web.app import create_app
    monkeypatch.setenv("CRMKIT_TOKEN_CACHE_SECONDS", "soon")
    with pytest.raises(crmkit.ValidationError) as err:
        create_app(web_url)
    assert "CRMKIT_TOKEN_CACHE_SECONDS" in err.value.errors


def test_references_are_read_as_the_kernel_reads_them(users, web_url, start_server):  # noqa: F811
    crm = users
    secret = make_token(crm, "boss")
    crm.create("core.partner", {"name": "Единственный"})
    crm.create("core.partner", {"name": "Двойник"})
    crm.create("core.partner", {"name": "Двойник"})
    server = start_server(web_url, workers=1)
    c = Client(f"{server.base}/api/v1", secret)
    made = c.post("/core.contact", {"partner": "Единственный", "name": "Смирнов"})   # a unique name
    assert made.status == 201, made
    assert c.get(f"/core.partner/{made.json['partner']}").json["name"] == "Единственный"
    again = c.post("/core.contact", {"partner": {"id": made.json["partner"]}, "name": "Петров"})  # sent back expanded
    assert again.status == 201 and again.json["partner"] == made.json["partner"]
    r = c.post("/core.contact", {"partner": "Двойник", "name": "Иванов", "bogus": 1})
    assert r.status == 422 and set(r.json["errors"]) == {"partner", "bogus"}
    assert "several records" in r.json["errors"]["partner"][0]
    assert c.get("/core.contact", params={"name": "Иванов"}).json["data"] == []
