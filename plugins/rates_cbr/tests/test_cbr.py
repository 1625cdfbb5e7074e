"""The Central Bank of Russia's daily bulletin: a stored sample parsed,
loaded through the ``core.load_rates`` action and ``crmkit rates load``,
and fetched from a real HTTP server on loopback (never the bank itself)."""
import datetime as dt
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins("rates_cbr")
SAMPLE = Path(__file__).with_name("XML_daily_sample.xml")   # a bulletin in the bank's format (windows-1251)
DAY = dt.date(2024, 1, 10)


def _rates(crm):
    return {r.currency: (r.date, r.rate, r.multiplier, r.source) for r in crm.find("core.currency_rate")}


def test_the_sample_is_parsed_with_nominals_and_decimal_commas():
    from crmkit_rates_cbr.bulletin import parse
    rows = parse(SAMPLE.read_bytes())
    assert len(rows) == 7 and {r["date"] for r in rows} == {DAY}
    by_code = {r["currency"]: (r["rate"], r["multiplier"]) for r in rows}
    assert by_code["USD"] == ("89.6876", "1") and by_code["JPY"] == ("62.0327", "100")
    assert parse(SAMPLE.read_bytes().decode("cp1251")) == rows      # text as the CLI gives it


def test_the_action_loads_the_bulletin_of_its_own_date(crm):
    content = SAMPLE.read_bytes().decode("cp1251")
    result = crm.act("core.load_rates", source="cbr", date="2024-01-14", content=content)   # a Sunday
    assert result == {"loaded": 7, "replaced": 0, "date": "2024-01-14"}
    rates = _rates(crm)
    assert rates["USD"] == (DAY, Decimal("89.687600"), 1, "cbr")
    assert rates["KZT"] == (DAY, Decimal("19.720900"), 100, "cbr")


def test_the_cli_loads_a_stored_file(cli, crm):
    out = cli("rates", "load", "cbr", "--file", SAMPLE, "--date", "2024-01-10")
    assert out.exit_code == 0, out.output
    assert "7 rates of 2024-01-10 loaded from cbr (0 updated)" in out.output
    assert _rates(crm)["EUR"][1] == Decimal("98.206600")


def _bulletin(valutes, date="10.01.2024"):
    return (f'<?xml version="1.0" encoding="windows-1251"?><ValCurs Date="{date}" name="Foreign Currency Market">'
            + "".join(f"<Valute ID='R{i}'><CharCode>{c}</CharCode><Nominal>{n}</Nominal><Value>{v}</Value></Valute>"
                      for i, (c, n, v) in enumerate(valutes)) + "</ValCurs>")


GOOD = ("USD", 1, "89,6876")


@pytest.mark.parametrize("content, field, fragment", [
    (_bulletin([GOOD, ("EUR", 1, "0,0000")]), "rate[1]", "above 0"),
    (_bulletin([GOOD, ("EUR", 1, "-98,2066")]), "rate[1]", "above 0"),
    (_bulletin([GOOD, ("XYZ", 1, "1,0")]), "currency[1]", "unknown currency code 'XYZ'"),
    (_bulletin([GOOD, ("EUR", 0, "98,2066")]), "multiplier[1]", "above 0"),
    (_bulletin([GOOD, ("EUR", 1, "")]), "content", "has no Value"),
    (_bulletin([GOOD], date="2024-01-10"), "content", "not a DD.MM.YYYY date"),
    (_bulletin([]), "content", "no Valute"),
    (_bulletin([GOOD])[:-5], "content", "malformed XML"),
    ("<html><body>Service unavailable</body></html>", "content", "not <ValCurs>"),
    ('<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaa">]><ValCurs Date="10.01.2024">&a;</ValCurs>',
     "content", "document type declaration"),
])
def test_a_bad_bulletin_loads_nothing(crm, content, field, fragment):
    crm.create("core.currency_rate", {"currency": "CNY", "date": "2024-01-09", "rate": "12.5"})
    with pytest.raises(ValidationError) as exc:
        crm.act("core.load_rates", source="cbr", date="2024-01-10", content=content)
    assert fragment in str(exc.value.errors[field])
    assert list(_rates(crm)) == ["CNY"]


def test_the_cli_names_the_problem_of_a_bad_file(cli, crm, tmp_path):
    bad = tmp_path / "rates.xml"
    bad.write_text(_bulletin([GOOD, ("EUR", 1, "0")]), encoding="cp1251")
    out = cli("rates", "load", "cbr", "--file", bad)
    assert out.exit_code != 0 and "rate[1]" in out.output and "above 0" in out.output
    assert _rates(crm) == {}


@pytest.fixture
def bank(monkeypatch):
    """The bank's address answered by a server on loopback with the sample."""
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            body = SAMPLE.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml; charset=windows-1251")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CRMKIT_CBR_URL", f"http://127.0.0.1:{server.server_address[1]}/scripts/XML_daily.asp")
    yield asked
    server.shutdown()
    server.server_close()


def test_the_bulletin_is_fetched_for_the_day_asked(crm, bank):
    assert crm.act("core.load_rates", source="cbr", date="2024-01-10")["loaded"] == 7
    assert bank == ["/scripts/XML_daily.asp?date_req=10/01/2024"]


def test_an_unreachable_bank_is_a_clear_error(crm, monkeypatch):
    monkeypatch.setenv("CRMKIT_CBR_URL", "http://127.0.0.1:9/XML_daily.asp")
    with pytest.raises(ValidationError) as exc:
        crm.act("core.load_rates", source="cbr", date="2024-01-10")
    assert "could not be fetched" in str(exc.value.errors["source"])
    assert _rates(crm) == {}


def test_an_oversized_file_is_refused_unread(cli, crm, tmp_path):
    """A file far larger than any bulletin: only its first 2 MB are read, and refused."""
    big = tmp_path / "huge.xml"
    with big.open("wb") as f:
        f.write(SAMPLE.read_bytes()[:-len(b"</ValCurs>")])
        f.write(b" " * 3_000_000)
    out = cli("rates", "load", "cbr", "--file", big)
    assert out.exit_code != 0 and "content" in out.output and "2000000" in out.output
    assert _rates(crm) == {}
