"""Exchange rates through a real server: the Central Bank's bulletin loaded
by the ``core.load_rates`` action, a bad one refused whole, and a deal
report in a report currency."""
from __future__ import annotations

from pathlib import Path

import crmkit

from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.testing import Client, make_token

SAMPLE = Path(__file__).parents[2] / "rates_cbr" / "tests" / "XML_daily_sample.xml"


def test_rates_loaded_and_used_by_a_report_through_the_api(web_url, start_server):  # noqa: F811
    crm = crmkit.open(web_url)
    crm.create("core.user", {"login": "rates_boss", "name": "Курсы", "roles": "manager,administrator"})
    crm.create("core.user", {"login": "rates_reader", "name": "Читатель", "roles": "readonly"})
    client_id = crm.create("core.partner", {"name": "Валютный клиент"}).id
    tokens = {login: make_token(crm, login) for login in ("rates_boss", "rates_reader")}
    crm.close()
    server = start_server(web_url)
    boss, reader = (Client(f"{server.base}/api/v1", tokens[k]) for k in ("rates_boss", "rates_reader"))
    path = "/core.currency_rate/actions/core.load_rates"
    content = SAMPLE.read_bytes().decode("cp1251")

    bad = boss.post(path, {"source": "cbr", "date": "2024-01-10", "content": content.replace("89,6876", "0,0000")})
    assert bad.status == 422 and "above 0" in str(bad.json["errors"])
    assert reader.post(path, {"source": "cbr", "content": content}).status == 403
    assert boss.get("/core.currency_rate").json["data"] == []       # nothing written
    loaded = boss.post(path, {"source": "cbr", "date": "2024-01-10", "content": content})
    assert loaded.status == 200, loaded
    assert loaded.json["result"]["loaded"] == 7
    usd = boss.get("/core.currency_rate", params={"currency": "USD"}).json["data"]
    assert [(r["date"], r["rate"], r["multiplier"], r["source"]) for r in usd] == [
        ("2024-01-10", "89.687600", 1, "cbr")]

    deal = boss.post("/deals.deal", {"name": "Сделка в долларах", "client": client_id, "potential": "100.00",
                                     "currency": "USD", "start_date": "2024-01-15"})
    assert deal.status == 201, deal
    report = boss.get("/reports/deals.efficiency", params={"report_currency": "RUB", "date_from": "2024-01-01"})
    assert report.status == 200, report
    in_work = report.json["sections"]["By status"][0]
    assert in_work["Potential sales amount"] in ("8968.76", 8968.76)       # 100 USD x 89.6876
    missing = boss.get("/reports/deals.efficiency", params={"report_currency": "RUB", "date_from": "2023-01-01",
                                                            "currency": "USD", "date_to": "2023-12-31"})
    assert missing.status == 200    # no deal of 2023: nothing to convert
    early = boss.post("/deals.deal", {"name": "Ранняя", "client": client_id, "potential": "1", "currency": "EUR",
                                      "start_date": "2023-06-01"})
    assert early.status == 201
    refused = boss.get("/reports/deals.efficiency", params={"report_currency": "RUB"})
    assert refused.status == 422 and "no EUR exchange rate on or before 2023-06-01" in str(refused.json["errors"])
