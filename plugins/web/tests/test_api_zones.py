"""The API in the token user's zone, through a real server: a moment sent
without an offset is a local time of the user's zone, every moment comes
back as ISO 8601 with that zone's offset, and a report's period is made of
the user's local days."""
from __future__ import annotations

import datetime as dt

import crmkit

from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.testing import Client, make_token

UTC = dt.timezone.utc


def test_api_reads_and_gives_local_times(web_url, start_server):  # noqa: F811
    crm = crmkit.open(web_url)
    crm.create("core.user", {"login": "msk", "name": "Москва", "roles": "manager", "time_zone": "Europe/Moscow"})
    crm.create("core.user", {"login": "utc", "name": "UTC", "roles": "manager", "time_zone": "UTC"})
    tokens = {login: make_token(crm, login) for login in ("msk", "utc")}
    crm.close()
    server = start_server(web_url)
    msk, utc = (Client(f"{server.base}/api/v1", tokens[k]) for k in ("msk", "utc"))

    made = msk.post("/core.task", {"title": "Позвонить", "due": "2015-11-01T10:00:00"})
    assert made.status == 201, made
    assert made.json["due"] == "2015-11-01T10:00:00+03:00"
    assert utc.get(f"/core.task/{made.json['id']}").json["due"] == "2015-11-01T07:00:00+00:00"
    with_offset = msk.post("/core.task", {"title": "x", "due": "2015-11-01T10:00:00+00:00"})
    assert with_offset.json["due"] == "2015-11-01T13:00:00+03:00"

    call = msk.post("/core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-04-06T00:30:00"})
    assert call.status == 201, call
    day = {"date_from": "2015-04-06", "date_to": "2015-04-06"}
    counts = {k: sum(row["count"] for row in client.get("/reports/core.interactions", params=day)
                     .json["sections"]["by kind"]) for k, client in (("msk", msk), ("utc", utc))}
    assert counts == {"msk": 1, "utc": 0}       # 06.04 00:30 in Moscow is 05.04 in UTC
