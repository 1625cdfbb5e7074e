"""The calendar feed over real HTTP: ``GET /ics/<secret>.ics`` serves the
user's iCalendar (read back with the icalendar library); a wrong, rotated or
malformed secret is the same bare 404; the secret never reaches the log."""
from __future__ import annotations

import datetime as dt
import http.client

import icalendar
import pytest

import crmkit
from crmkit.core import calendar

from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.plugins("web")
AT = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.timezone.utc)


def _get(server, path):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def test_feed_by_secret_url(web_url, start_server):  # noqa: F811
    crm = crmkit.open(web_url)
    crm.create("core.user", {"login": "cal_orlov", "name": "Орлов", "roles": "manager"})
    crm.create("core.user", {"login": "cal_volkov", "name": "Волков", "roles": "manager"})
    client = crm.create("core.partner", {"name": "Ромашка"})
    ids = {login: crm.get("core.user", login).id for login in ("cal_orlov", "cal_volkov")}
    mine = crm.create("core.interaction", {"kind": "meeting", "date": AT, "partner": client.id, "done": False,
                                           "topic": "Договор", "responsible": ids["cal_orlov"]})
    crm.create("core.interaction", {"kind": "meeting", "date": AT, "partner": client.id, "done": False,
                                    "topic": "Not for Orlov", "responsible": ids["cal_volkov"]})
    old = crm.act("core.calendar_url", login="cal_orlov")["path"]
    path = crm.act("core.calendar_url", login="cal_orlov")["path"]
    crm.close()
    server = start_server(web_url)

    status, headers, body = _get(server, path)
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"core.interaction-{mine.id}@{calendar.calendar_host()}"]
    assert "Договор" in str(events[0]["SUMMARY"]) and b"Not for Orlov" not in body

    for wrong in (old, path.replace(".ics", "x.ics"), "/ics/" + "A" * 43 + ".ics", "/ics/%00.ics", "/ics/x.ics"):
        status, headers, body = _get(server, wrong)
        assert (status, body) == (404, b"Not found\n"), wrong
    server.stop()
    secret = path[len("/ics/"):-len(".ics")]
    log = server.log()
    assert "/ics/…" in log and secret not in log     # logged, with the secret cut out
