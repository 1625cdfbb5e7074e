"""Which run a report shows (by id, or the latest computed for a date and
settings), how returns count, the crossing-item convention as a named
setting, and the anonymous buyer left out by default."""
import json

import pandas as pd
import pytest

from crmkit import ValidationError
from crmkit_analysis import models as m
from crmkit_analysis.classify import DEFAULTS, abc_classes, check_settings, run, settings_key

from helpers import MONTHLY, classes, partner, product, sale
from test_classify import _base

pytestmark = pytest.mark.plugins("analysis")


def _abc(values, crossing):
    series = pd.Series(values, dtype=float)
    return abc_classes(series, pd.Series({k: k for k in values}), 80, 15, crossing=crossing)["abc"].to_dict()


def test_the_crossing_item_convention_is_a_setting():
    # 50, 30, 20: q's share runs from 50 % to 80 %, r's from 80 % to 100 %
    assert _abc({"p": 50, "q": 30, "r": 20}, "higher") == {"p": "A", "q": "A", "r": "B"}
    assert _abc({"p": 50, "q": 30, "r": 20}, "lower") == {"p": "A", "q": "A", "r": "C"}
    # a single dominant client: A whichever way, it is within the line only when "higher"
    assert _abc({"big": 90, "small": 10}, "lower") == {"big": "B", "small": "C"}
    with pytest.raises(ValidationError) as err:
        check_settings({"crossing": "middle", "returns": "some"})
    assert set(err.value.errors) == {"crossing", "returns"}


def test_runs_made_before_the_new_settings_keep_their_key():
    old = {k: v for k, v in DEFAULTS.items() if k not in ("returns", "crossing", "anonymous", "anonymous_buyer")}
    assert settings_key(check_settings({}))[1] == settings_key(old)[1]
    assert "returns" in json.loads(settings_key(check_settings({"returns": "sales_only"}))[0])


def test_returns_net_or_sales_only(crm):
    _base(crm)
    net = classes(crm, run(crm, "partner", "2015-04-01", **MONTHLY)["run"], m.ClientClass)
    sales_only = run(crm, "partner", "2015-04-01", **MONTHLY, returns="sales_only")
    got = classes(crm, sales_only["run"], m.ClientClass)
    # P3 sold 10 and took 10 back: net 0 (C), sales only 10; P6 sold 20, returned 50: net -30, sales only 20
    assert net["P3"][0] == "C" and net["P6"][0] == "C"
    row = {r.partner.code: float(r.value) for r in m.ClientClass.select().where(m.ClientClass.run == sales_only["run"])
           if r.value is not None}
    assert row["P3"] == 10 and row["P6"] == 20 and row["P1"] == 300
    # 300, 90, 20, 10 of 420: P2 is A (71 % before it), P6 B (92.9 % before), P3 C (97.6 %)
    assert (got["P1"][0], got["P2"][0], got["P6"][0], got["P3"][0]) == ("A", "A", "B", "C")


def test_a_report_shows_the_run_asked_for(crm):
    _base(crm)
    first = run(crm, "partner", "2015-04-01", **MONTHLY)                      # 80/15/5
    other = run(crm, "partner", "2015-04-01", **MONTHLY, a=50, b=30, c=20)     # later, other thresholds
    again = run(crm, "partner", "2015-04-01", **MONTHLY)                      # the first, computed again
    assert again["run"] == first["run"] < other["run"]

    def shown(**params):
        frame = crm.report("analysis.abc_xyz_clients", **params)["settings"]
        return dict(zip(frame["setting"], frame["value"]))

    # the latest computed for the date, not the highest id
    assert shown(as_of="2015-04-01")["run"] == str(first["run"])
    assert shown(as_of="2015-04-01", a=50, b=30, c=20)["run"] == str(other["run"])
    assert shown(run=other["run"])["ABC thresholds, %"] == "A 50 / B 30 / C 20"
    matrix = crm.report("analysis.matrix", run=other["run"])
    assert dict(zip(matrix["settings"]["setting"], matrix["settings"]["value"]))["run"] == str(other["run"])
    assert shown(a=60, b=30, c=10)["classification"] == "not run yet: crmkit analysis classify"
    product_run = run(crm, "product", "2015-04-01", **MONTHLY)["run"]
    for params, field in (({"run": 999}, "run"), ({"run": product_run}, "run"), ({"a": "lots"}, "a"),
                          ({"returns": "some"}, "returns"), ({"run": 0}, "run")):
        with pytest.raises(ValidationError) as err:
            crm.report("analysis.abc_xyz_clients", **params)
        assert field in err.value.errors, params
    assert crm.report("analysis.abc_changes", run=first["run"])["runs"]["as_of"].tolist() == ["", "2015-04-01"]


def test_the_anonymous_buyer_is_left_out_by_default(crm, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("doc,product,quantity,date,price,partner\n"
                    "1,G1,1,2015-03-02,100,K1\n2,G1,1,2015-03-03,15,K2\n"
                    "3,G1,10,2015-03-04,100,\n", encoding="utf-8")
    summary = crm.import_file("analysis.sale", str(path), mapping={"doc": "document"},
                              options={"create_missing": "yes", "anonymous": "ANON"})
    assert summary["written"] == 3
    done = run(crm, "partner", "2015-04-01", **MONTHLY)
    assert "ANON" in done["note"]
    assert classes(crm, done["run"], m.ClientClass) == {"K1": ("A", "Z"), "K2": ("B", "Z")}
    frame = crm.report("analysis.abc_xyz_clients")["settings"]
    assert dict(zip(frame["setting"], frame["value"]))["anonymous buyer"] == "ANON: left out of the classification"
    counted = run(crm, "partner", "2015-04-01", **MONTHLY, anonymous_buyer="include")
    assert classes(crm, counted["run"], m.ClientClass)["ANON"][0] == "A" and "note" not in counted
    # products still count the anonymous buyer's sales
    products = run(crm, "product", "2015-04-01", **MONTHLY)
    assert float(m.ProductClass.get(m.ProductClass.run == products["run"]).value) == 1115


def test_the_cli_takes_the_new_settings(crm, cli):
    _base(crm)
    out = cli("analysis", "classify", "--kind", "partner", "--as-of", "2015-04-01", "--returns", "sales_only",
              "--crossing", "lower", "--abc-period", "month", "--abc-periods", "3", "--xyz-period", "month",
              "--xyz-periods", "3", "--xyz-subperiod", "month", "--format", "json")
    assert out.exit_code == 0, out.output
    run_id = json.loads(out.output)[0]["run"]
    stored = json.loads(m.Run.get_by_id(run_id).settings)
    assert stored["returns"] == "sales_only" and stored["crossing"] == "lower"
    out = cli("report", "run", "analysis.abc_xyz_clients", "-p", f"run={run_id}", "--format", "csv")
    assert out.exit_code == 0 and "P1" in out.output, out.output
