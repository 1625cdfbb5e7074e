"""``crmkit serve`` runs gthread workers (threads sharing one process, each
with its own database connection): requests of different users served at
the same moment by the threads of one worker each act as their own user --
roles, time zone -- and a client's keep-alive connection carries
request after request. Through a real one-worker server of four threads."""
from __future__ import annotations

import http.client
import json
import threading

import pytest

import crmkit

from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.testing import make_token

ROUNDS = 25


@pytest.fixture(scope="module")
def served(web_url, start_server):  # noqa: F811
    crm = crmkit.open(web_url)
    for login, roles, zone in (("msk", "manager", "Europe/Moscow"), ("vlad", "manager", "Asia/Vladivostok"),
                               ("ro", "readonly", "Europe/Moscow")):
        crm.create("core.user", {"login": login, "name": login.title(), "roles": roles, "time_zone": zone})
    partner = crm.create("core.partner", {"name": "Общий клиент", "kind": "company", "is_client": True})
    meeting = crm.create("core.interaction", {"kind": "call", "partner": partner.id, "topic": "Звонок", "direction": "outgoing",
                                              "date": "2024-03-01T09:00:00+00:00"})
    tokens = {login: make_token(crm, login) for login in ("msk", "vlad", "ro")}
    crm.close()
    server = start_server(web_url, workers=1, threads=4)
    return server, tokens, partner.id, meeting.id


def _conn(server):
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)


def _call(conn, method, path, token, body=None, lang="en"):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": lang}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    conn.request(method, "/api/v1" + path, body=data, headers=headers)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"null"), resp.will_close


def test_threads_of_one_worker_each_act_as_their_own_user(served):
    server, tokens, partner, meeting = served
    failures, created = [], []     # lang: each user's requests alternate Accept-Language too
    barrier = threading.Barrier(6)

    def user(login, lang):
        conn = _conn(server)
        barrier.wait()
        for i in range(ROUNDS):
            status, doc, closing = _call(conn, "GET", f"/core.interaction/{meeting}", tokens[login], lang=lang)
            want = "2024-03-01T12:00:00+03:00" if login != "vlad" else "2024-03-01T19:00:00+10:00"
            if status != 200 or doc["date"] != want:
                failures.append((login, "read", status, doc))
            status, doc, closing = _call(conn, "POST", "/core.interaction", tokens[login], lang=lang, body={
                "kind": "call", "direction": "incoming", "partner": partner, "topic": f"{login} {i}", "date": "2024-03-02T10:00:00"})
            if login == "ro":
                if status != 403:
                    failures.append((login, "write", status, doc))
            elif status != 201 or doc["date"] != ("2024-03-02T10:00:00+03:00" if login == "msk"
                                                  else "2024-03-02T10:00:00+10:00"):
                failures.append((login, "write", status, doc))
            else:
                created.append(doc["id"])
            status, doc, closing = _call(conn, "POST", "/core.interaction", tokens[login], lang=lang,
                                         body={"kind": "telepathy", "partner": partner})
            if status != (403 if login == "ro" else 422) or (status == 422 and "kind" not in doc["errors"]):
                failures.append((login, "invalid", status, doc))
            if closing:
                failures.append((login, "keep-alive", "the server closed the connection"))
                conn.close()
                conn = _conn(server)
        conn.close()

    threads = [threading.Thread(target=user, args=args) for args in
               (("msk", "en"), ("msk", "ru"), ("vlad", "en"), ("vlad", "ru"), ("ro", "en"), ("ro", "ru"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], failures[:3] + [(len(failures), sorted({f[:2] for f in failures}))]
    assert len(set(created)) == 4 * ROUNDS
    assert "gthread" in server.log()
