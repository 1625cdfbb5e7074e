"""Exchange rates (core.currency_rate): typed, imported, loaded from a
provider through ``crmkit_currency_rates``; bad input refused whole."""
import datetime as dt
from decimal import Decimal

import pytest

from crmkit import PluginMeta, ValidationError, hookimpl

pytestmark = pytest.mark.plugins()
DAY = dt.date(2024, 1, 10)


class Provider:
    """A provider plugin answering for source ``test`` with the rows it is given."""
    PLUGIN = PluginMeta(name="testrates", requires=("core",))

    def __init__(self, rows):
        self.rows, self.calls = rows, []

    @hookimpl
    def crmkit_currency_rates(self, crm, source, day, content):
        if source != "test":
            return None
        self.calls.append((day, content))
        return self.rows


def _rates(crm):
    return sorted((r.currency, r.date, r.rate, r.multiplier, r.source) for r in crm.find("core.currency_rate"))


def test_a_rate_is_typed_with_its_multiplier(crm):
    r = crm.create("core.currency_rate", {"currency": "jpy", "date": "2024-01-10", "rate": "62.0327",
                                          "multiplier": 100})
    assert (r.currency, r.rate, r.multiplier) == ("JPY", Decimal("62.032700"), 100)
    assert _rates(crm) == [("JPY", DAY, Decimal("62.032700"), 100, "")]


@pytest.mark.parametrize("payload, field, fragment", [
    ({"rate": "0"}, "rate", "min value"),
    ({"rate": "-1.5"}, "rate", "min value"),
    ({"currency": "XYZ"}, "currency", "unknown currency code 'XYZ'"),
    ({"currency": "US1"}, "currency", "regex"),
    ({"multiplier": 0}, "multiplier", "min value"),
    ({"date": "2024-13-01"}, "date", ""),
])
def test_bad_rates_are_refused_naming_the_field(crm, payload, field, fragment):
    with pytest.raises(ValidationError) as exc:
        crm.create("core.currency_rate", {"currency": "USD", "date": "2024-01-10", "rate": "89.6876", **payload})
    assert field in exc.value.errors and fragment in str(exc.value.errors[field])
    assert _rates(crm) == []


def test_one_rate_per_currency_and_date(crm):
    crm.create("core.currency_rate", {"currency": "USD", "date": "2024-01-10", "rate": "89.6876"})
    with pytest.raises(ValidationError) as exc:
        crm.create("core.currency_rate", {"currency": "usd", "date": "2024-01-10", "rate": "90"})
    assert "already stored" in str(exc.value.errors["date"])
    other = crm.create("core.currency_rate", {"currency": "USD", "date": "2024-01-11", "rate": "90"})
    with pytest.raises(ValidationError):
        crm.update("core.currency_rate", other.id, {"date": "2024-01-10"})


def test_rates_are_imported_from_a_file(crm, tmp_path):
    good = tmp_path / "rates.csv"
    good.write_text("currency,date,rate,multiplier\nusd,2024-01-10,89.6876,1\nJPY,2024-01-10,62.0327,100\n",
                    encoding="utf-8")
    crm.import_file("core.currency_rate", good)
    assert [r[:4] for r in _rates(crm)] == [("JPY", DAY, Decimal("62.032700"), 100),
                                            ("USD", DAY, Decimal("89.687600"), 1)]


@pytest.mark.parametrize("rows, fragment", [
    ("EUR,2024-01-10,98.2,1\nUSD,2024-01-11,0,1\n", "min value"),
    ("EUR,2024-01-10,98.2,1\nUSD,2024-01-11,-3,1\n", "min value"),
    ("EUR,2024-01-10,98.2,1\nQQQ,2024-01-11,3,1\n", "unknown currency code"),
    ("EUR,2024-01-10,98.2,1\nEUR,2024-01-10,98.3,1\n", "a second EUR rate"),
    ("EUR,2024-01-10,98.2,1\nUSD,2024-01-10,89.6876,1\n", "already stored"),
    ("EUR,2024-01-10,98.2,1\nUSD,not a date,89.6876,1\n", "date"),
])
def test_a_bad_row_imports_nothing(crm, tmp_path, rows, fragment):
    crm.create("core.currency_rate", {"currency": "USD", "date": "2024-01-10", "rate": "89.6876"})
    path = tmp_path / "rates.csv"
    path.write_text("currency,date,rate,multiplier\n" + rows, encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.currency_rate", path)
    assert list(exc.value.rows) == [2] and fragment in str(exc.value.rows[2])   # the second row
    assert [r[0] for r in _rates(crm)] == ["USD"]


def test_a_provider_loads_a_day_and_a_second_load_replaces_it(open_crm):
    provider = Provider([{"currency": "USD", "rate": "89,6876", "multiplier": "1"},
                         {"currency": "JPY", "rate": Decimal("62.0327"), "multiplier": 100}])
    crm = open_crm(extra=[provider])
    assert crm.act("core.load_rates", source="test", date="2024-01-10") == {"loaded": 2, "replaced": 0,
                                                                          "date": "2024-01-10"}
    assert provider.calls == [(DAY, None)]
    provider.rows = [{"currency": "USD", "rate": "90.1", "multiplier": 1}]
    assert crm.act("core.load_rates", source="test", date="2024-01-10")["replaced"] == 1
    assert _rates(crm) == [("JPY", DAY, Decimal("62.032700"), 100, "test"),
                           ("USD", DAY, Decimal("90.100000"), 1, "test")]


@pytest.mark.parametrize("rows, key, fragment", [
    ([{"currency": "USD", "rate": "0"}], "rate[1]", "above 0"),
    ([{"currency": "USD", "rate": "-89"}], "rate[1]", "above 0"),
    ([{"currency": "XYZ", "rate": "1"}], "currency[1]", "unknown currency code"),
    ([{"currency": "USD", "rate": "abc"}], "rate[1]", "not a number"),
    ([{"currency": "USD", "rate": "1", "multiplier": "0.5"}], "multiplier[1]", "whole number"),
    ([{"currency": "EUR", "rate": "98"}], "currency[1]", "twice"),
])
def test_a_bad_provider_row_loads_nothing(open_crm, rows, key, fragment):
    crm = open_crm(extra=[Provider([{"currency": "EUR", "rate": "98.2066"}, *rows])])
    with pytest.raises(ValidationError) as exc:
        crm.act("core.load_rates", source="test", date="2024-01-10")
    assert fragment in str(exc.value.errors[key])
    assert _rates(crm) == []


def test_an_unknown_source_is_named(open_crm):
    crm = open_crm(extra=[Provider([])])
    with pytest.raises(ValidationError) as exc:
        crm.act("core.load_rates", source="nobank", date="2024-01-10")
    assert "no installed plugin provides rates for 'nobank'" in str(exc.value.errors["source"])
    with pytest.raises(ValidationError) as exc:
        crm.act("core.load_rates", source="test", date="2024-01-10")
    assert "gave no rates" in str(exc.value.errors["source"])


def test_a_user_without_the_grant_cannot_load(open_crm, crm):
    from crmkit import AccessDenied
    crm.create("core.user", {"login": "reader", "name": "Reader", "roles": "readonly"})
    reader = open_crm(user="reader", extra=[Provider([{"currency": "USD", "rate": "1"}])])
    with pytest.raises(AccessDenied):
        reader.act("core.load_rates", source="test", date="2024-01-10")
    with pytest.raises(AccessDenied):
        reader.create("core.currency_rate", {"currency": "USD", "date": "2024-01-10", "rate": "1"})
    crm.create("core.currency_rate", {"currency": "USD", "date": "2024-01-10", "rate": "89.6876"})
    assert [r.currency for r in reader.find("core.currency_rate")] == ["USD"]   # every report reads them
