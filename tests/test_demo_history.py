"""The demo base is 2015's history (issue 20, "The demo"): loading it
notifies no customer, dates the process's tasks by the deals' own moments,
links a sales line only to a deal that sold its product, and what it shows
afterwards (mailing recipients, a won deal, an export) says what happened."""
import csv
import datetime as dt
import io
import json

import pytest

import crmkit
from crmkit.testing import run_cli

pytestmark = pytest.mark.sqlite_only   # one demo load read by subprocesses too


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'crmkit-demo.db'}"
    code, out, err = run_cli(["--db", url, "demo", "--book", folder / "book"], env={"CRMKIT_USER": ""})
    assert code == 0, err
    crm = crmkit.open(url, create=False)
    yield crm, url
    crm.close()


def test_loading_the_demo_queues_nothing(demo):
    crm, url = demo
    waiting = [m for state in ("queued", "sending", "unknown") for m in crm.outbox.messages(state=state)]
    assert waiting == []                     # no claim-status email, no SMS goes out of a history load
    [sms] = crm.outbox.messages(channel="sms")
    assert sms.state == "skipped" and sms.last_error == "SMS sending is not configured"   # as the presentation
    assert crm.find("marketing.notification_kind", code="claims.status_changed")   # set up for what comes next
    code, out, err = run_cli(["--db", url, "outbox", "deliver"], env={"CRMKIT_USER": ""})
    assert code == 0 and out.strip() == "sent=0 retry=0 failed=0 skipped=0", (out, err)


def test_a_claim_changed_after_the_load_does_notify(demo):
    crm, _ = demo
    altair = crm.find("core.partner", name="Альтаир")[0]
    sidorov = crm.find("core.contact", name="Сидоров Иван Петрович")[0]
    officer = crm.as_user("volkov")
    claim = officer.create("claims.claim", {"name": "Претензия после загрузки", "client": altair.id,
                                            "contact": sidorov.id, "cause": crm.find("claims.cause")[0].id,
                                            "responsible": crm.find("core.user", login="volkov")[0].id})
    before = len(crm.outbox.messages(channel="email", limit=1000))
    officer.update("claims.claim", claim.id, {"status": "in_work"})
    [told] = crm.outbox.messages(channel="email", limit=1000)[: len(crm.outbox.messages(channel="email")) - before]
    assert told.recipient == "sidorov@altair.example" and told.state == "queued"
    crm.outbox.skip(told.id, "test: not to be delivered with the mailing below")


def test_route_tasks_are_dated_by_the_deal(demo):
    crm, _ = demo
    tvs = crm.find("deals.deal", name="Продажа телевизоров")[0]
    T = crm.model("core.task")
    tasks = list(crm.query("core.task").where((T.subject_type == "deals.deal") & (T.subject_id == tvs.id))
                 .order_by(T.id))
    assert len(tasks) == 7
    for task in tasks:   # set and done within the deal's own March-April 2015
        assert task.state == "done", task.title
        assert dt.date(2015, 3, 3) <= task.created_at.date() <= task.done_at.date() <= dt.date(2015, 4, 6)
        assert task.changed_at == task.done_at
    assert tasks[0].created_at.date() == dt.date(2015, 3, 3)


def test_a_won_deal_has_no_current_stage_and_no_chance(demo):
    crm, url = demo
    tvs = crm.find("deals.deal", name="Продажа телевизоров")[0]
    code, out, err = run_cli(["--db", url, "deals", "show", tvs.code, "--format", "json"], env={"CRMKIT_USER": ""})
    states = [r["state"] for r in json.loads(out)["route_map"]]
    assert "current" not in states and states[-1] == "won" and states[:-1] == ["done"] * 6
    code, out, err = run_cli(["--db", url, "deals", "show", tvs.code], env={"CRMKIT_USER": ""})
    assert "Win probability: none, the deal is closed (won)" in out and "manual" not in out.split("Win probability")[1]


def test_sales_lines_belong_to_the_deal_that_sold_their_product(demo):
    crm, _ = demo
    deals_of = {}
    for demand in crm.find("deals.demand"):
        deals_of.setdefault((demand.deal.client_id, demand.product_id), set()).add(demand.deal_id)
    sales = crm.find("analysis.sale", limit=None)
    assert len(sales) > 100
    for sale in sales:   # the client's deal with that product, or none (never just the client's first deal)
        expected = deals_of.get((sale.partner_id, sale.product_id))
        assert sale.deal_id == (min(expected) if expected else None), (sale.document, sale.deal_id)


def test_mailing_recipients_follow_delivery(demo, tmp_path):
    crm, url = demo
    from crmkit_marketing import models as m
    mailing = crm.find("marketing.mailing")[0]
    crm.act("marketing.send", mailing.id)
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Controller(Accept(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        code, out, err = run_cli(["--db", url, "outbox", "deliver"],
                                 env={"CRMKIT_USER": "", "CRMKIT_SMTP_PORT": str(port), "CRMKIT_SMTP_HOST": "127.0.0.1",
                                      "CRMKIT_SMTP_SECURITY": "plain"})
    finally:
        server.stop()
    assert out.strip().startswith("sent=2 retry=0"), (out, err)   # the mailing's two, nothing of the load
    states = sorted(r.state for r in m.MailingRecipient.select().where(m.MailingRecipient.mailing == mailing.id))
    assert states.count("sent") == 2 and "queued" not in states
    code, out, err = run_cli(["--db", url, "marketing", "mailing", "preview", mailing.id], env={"CRMKIT_USER": ""})
    assert "5 of 11 recipients shown; --limit 0 shows them all" in out
    code, out, err = run_cli(["--db", url, "marketing", "mailing", "preview", mailing.id, "--limit", "0"],
                             env={"CRMKIT_USER": ""})
    assert "recipients shown" not in out


def test_export_writes_references_as_whole_numbers(demo):
    crm, _ = demo
    rows = list(csv.DictReader(io.StringIO(crm.export("deals.deal", "csv"))))
    assert any(r["stage"] == "" for r in rows) and any(r["stage"] for r in rows)   # a column with blanks
    assert all(r[c] == "" or r[c].isdigit() for r in rows for c in ("stage", "client", "kind", "responsible"))
    records = json.loads(crm.export("deals.deal", "json"))
    assert all(isinstance(r["stage"], (int, type(None))) for r in records)
