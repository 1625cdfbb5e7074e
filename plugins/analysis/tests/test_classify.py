"""The exact definitions of ABC and XYZ on hand-computed cases."""
import datetime as dt

import pandas as pd
import peewee as pw
import pytest

from crmkit import AccessDenied, ValidationError
from crmkit_analysis import models as m
from crmkit_analysis.classify import abc_classes, check_settings, run, xyz_classes
from crmkit_analysis.periods import buckets, window

from helpers import MONTHLY, classes, partner, product, sale

pytestmark = pytest.mark.plugins("analysis")


def _abc(values, a=80, b=15):
    series = pd.Series({code: v for code, v in values.items()}, dtype=float)
    codes = pd.Series({code: code for code in values})
    return abc_classes(series, codes, a, b)["abc"].to_dict()


def test_abc_tie_is_broken_by_code():
    # 60, then two 20s: c1 comes first (before = 60 % -> A), c2 has 80 % before -> B
    assert _abc({"c3": 60, "c2": 20, "c1": 20}) == {"c3": "A", "c2": "B", "c1": "A"}


def test_abc_crossing_item_belongs_to_the_higher_class():
    # 70 then 20: the 20 takes the running share from 70 % over 80 %: still A
    assert _abc({"x": 70, "y": 20, "z": 10}) == {"x": "A", "y": "A", "z": "B"}


def test_abc_exact_lines_are_not_below_them():
    assert _abc({"a": 80, "b": 15, "c": 5}) == {"a": "A", "b": "B", "c": "C"}


def test_abc_single_dominant_client_is_a():
    assert _abc({"only": 5}) == {"only": "A"}
    assert _abc({"big": 990, "small": 10}) == {"big": "A", "small": "C"}   # 99 % before it


def test_abc_measure_at_or_below_zero_is_c_without_share():
    out = abc_classes(pd.Series({"p": 100.0, "r": -30.0, "z": 0.0}), pd.Series({"p": "p", "r": "r", "z": "z"}), 80, 15)
    assert out["abc"].to_dict() == {"p": "A", "r": "C", "z": "C"}
    assert out.loc["p", "share"] == 100 and out.loc["r", "share"] is None


def test_abc_thresholds_are_configurable():
    assert _abc({"a": 50, "b": 30, "c": 20}, a=50, b=30) == {"a": "A", "b": "B", "c": "C"}


def _xyz(rows, keys, x=10, y=25):
    long = pd.DataFrame([(item, keys.index(key), value) for item, key, value in rows],
                        columns=["item", "bucket", "value"])
    return xyz_classes(long, keys, x, y)


def test_xyz_population_cv_with_zero_filled_subperiods():
    keys = ["k1", "k2", "k3", "k4"]
    out = _xyz([("steady", k, 10) for k in keys]
               + [("edge", "k1", 9), ("edge", "k2", 11), ("edge", "k3", 9), ("edge", "k4", 11)]
               + [("once", "k4", 40)], keys)
    assert out.loc["steady", "cv"] == 0 and out.loc["steady", "xyz"] == "X"
    assert out.loc["edge", "cv"] == pytest.approx(10) and out.loc["edge", "xyz"] == "X"   # 10 % is X
    # 0, 0, 0, 40: mean 10, population std sqrt(300): CV 173.2 %
    assert out.loc["once", "cv"] == pytest.approx(173.205, abs=1e-3) and out.loc["once", "xyz"] == "Z"


def test_xyz_y_line_and_all_zero_subperiods():
    keys = ["k1", "k2"]
    out = _xyz([("y", "k1", 7.5), ("y", "k2", 12.5), ("net0", "k1", 0), ("neg", "k2", -5)], keys)
    assert out.loc["y", "cv"] == pytest.approx(25) and out.loc["y", "xyz"] == "Y"
    assert out.loc["net0", "xyz"] == "Z" and pd.isna(out.loc["net0", "cv"])
    assert out.loc["neg", "xyz"] == "Z"


def test_windows_are_whole_previous_periods():
    assert window("week", 4, dt.date(2015, 11, 2)) == (dt.date(2015, 10, 5), dt.date(2015, 11, 2))
    assert window("week", 4, dt.date(2015, 11, 1)) == (dt.date(2015, 9, 28), dt.date(2015, 10, 26))
    assert window("month", 12, dt.date(2011, 12, 9)) == (dt.date(2010, 12, 1), dt.date(2011, 12, 1))
    assert window("quarter", 1, dt.date(2015, 5, 5)) == (dt.date(2015, 1, 1), dt.date(2015, 4, 1))
    assert len(buckets("day", *window("week", 4, dt.date(2015, 11, 2)))) == 28


@pytest.mark.parametrize("values, field", [
    ({"a": 70}, "c"), ({"measure": "profit"}, "measure"), ({"x": 30}, "y"), ({"abc_periods": 0}, "abc_periods"),
    ({"xyz_subperiod": "year"}, "xyz_subperiod"), ({"colour": "red"}, "colour"), ({"a": "lots"}, "a"),
    ({"xyz_period": "month", "xyz_subperiod": "month", "xyz_periods": 1}, "xyz_periods"),
])
def test_bad_settings_name_the_field(values, field):
    with pytest.raises(ValidationError) as err:
        check_settings(values)
    assert field in err.value.errors


def _base(crm):
    ps = {code: partner(crm, code) for code in ("P1", "P2", "P3", "P4", "P5", "P6")}
    partner(crm, "P7", is_client=False)
    item = product(crm, "G1")
    for day in ("2015-01-10", "2015-02-10", "2015-03-10"):
        sale(crm, ps["P1"], item, day, 100)
    sale(crm, ps["P2"], item, "2015-03-15", 90)
    sale(crm, ps["P3"], item, "2015-02-01", 10)
    sale(crm, ps["P3"], item, "2015-02-02", -10)          # returned: measure 0
    sale(crm, ps["P4"], item, "2014-12-20", 50)           # before the window only: lost
    sale(crm, ps["P6"], item, "2015-01-05", 20)
    sale(crm, ps["P6"], item, "2015-02-05", -50)          # net negative
    return ps, item


def test_classification_in_the_database(crm):
    _base(crm)
    summary = run(crm, "partner", "2015-04-01", **MONTHLY)
    got = classes(crm, summary["run"], m.ClientClass)
    assert got == {"P1": ("A", "X"), "P2": ("A", "Z"), "P3": ("C", "Z"), "P4": ("lost", "lost"),
                   "P5": ("potential", "potential"), "P6": ("C", "Z")}    # P7 is no client and never bought
    row = m.ClientClass.get((m.ClientClass.run == summary["run"]) & (m.ClientClass.partner == crm.get("core.partner", "P2").id))
    assert float(row.value) == 90 and row.share == pytest.approx(90 / 390 * 100) and row.cumulative_share == pytest.approx(100)
    products = classes(crm, run(crm, "product", "2015-04-01", **MONTHLY)["run"], m.ProductClass)
    assert products == {"G1": ("A", "Z")}   # 100+100+100+90-50+20 spread over Jan..Mar: 120, 100, 190


def test_rerun_for_the_same_date_and_settings_replaces_it(crm, cli):
    ps, item = _base(crm)
    first = run(crm, "partner", "2015-04-01", **MONTHLY)
    sale(crm, ps["P5"], item, "2015-03-20", 5)            # a late entry
    second = run(crm, "partner", "2015-04-01", **MONTHLY)
    assert second["run"] == first["run"]
    assert m.Run.select().count() == 1
    assert m.ClientClass.select().count() == 6
    assert classes(crm, first["run"], m.ClientClass)["P5"] == ("C", "Z")
    for _ in range(2):   # the cron command, twice
        result = cli("analysis", "classify", "--kind", "partner", "--as-of", "2015-04-01", "--measure", "revenue",
                     "--abc-period", "month", "--abc-periods", "3", "--xyz-period", "month", "--xyz-periods", "3",
                     "--xyz-subperiod", "month")
        assert result.exit_code == 0, result.output
    assert m.Run.select().count() == 1 and m.ClientClass.select().count() == 6
    other = run(crm, "partner", "2015-04-01", **{**MONTHLY, "measure": "gross_profit"})
    assert other["run"] != first["run"] and m.Run.select().count() == 2


def test_measures_gross_profit_and_documents(crm):
    a, b = partner(crm, "A1"), partner(crm, "B1")
    item = product(crm, "G1")
    sale(crm, a, item, "2015-03-01", 1000, cost=990, document="S1")   # profit 10
    sale(crm, b, item, "2015-03-01", 100, cost=0, document="S2")      # profit 100
    sale(crm, b, item, "2015-03-02", 100, cost=0, document="S3")
    sale(crm, b, item, "2015-03-02", 50, cost=0, document="S3")       # same document
    by_profit = classes(crm, run(crm, "partner", "2015-04-01", **{**MONTHLY, "measure": "gross_profit"})["run"],
                        m.ClientClass)
    assert by_profit["B1"][0] == "A" and by_profit["A1"][0] == "C"   # 250 before 10: 96 %
    by_docs = run(crm, "partner", "2015-04-01", **{**MONTHLY, "measure": "documents"})
    row = m.ClientClass.get((m.ClientClass.run == by_docs["run"]) & (m.ClientClass.partner == b.id))
    assert float(row.value) == 2


def test_classification_needs_an_unrestricted_user(crm, open_crm):
    _base(crm)
    group = crm.create("core.access_group", {"name": "G"})
    user = crm.create("core.user", {"login": "ann", "name": "Ann", "roles": "analyst"})
    crm.create("core.user_access", {"user": user.id, "access_group": group.id})
    with pytest.raises(AccessDenied):
        run(open_crm(user="ann"), "partner", "2015-04-01", **MONTHLY)
    crm.create("core.user", {"login": "bob", "name": "Bob", "roles": "readonly"})
    with pytest.raises(AccessDenied):
        run(open_crm(user="bob"), "partner", "2015-04-01", **MONTHLY)
    assert m.Run.select().count() == 0


def test_history_is_not_written_by_hand(crm):
    ps, _ = _base(crm)
    summary = run(crm, "partner", "2015-04-01", **MONTHLY)
    with pytest.raises(ValidationError):
        crm.create("analysis.client_class", {"run": summary["run"], "partner": ps["P1"].id, "as_of": "2015-04-01",
                                             "abc_class": "A", "xyz_class": "X"})


def test_segment_rule_on_the_current_class(crm):
    from crmkit.core.segments import compute
    ps, _ = _base(crm)
    north = crm.create("core.region", {"code": "N", "name": "North"})
    crm.update("core.partner", ps["P2"].id, {"region": north.id})
    run(crm, "partner", "2015-04-01", **MONTHLY)
    segment = crm.create("core.segment", {"name": "A of North", "kind": "partner", "method": "rule",
                                          "rule": '{"all": [{"field": "abc_class", "op": "eq", "value": "A"}, '
                                                  f'{{"field": "region", "op": "eq", "value": {north.id}}}]}}'})
    assert compute(crm, segment.id)["members"] == 1
    with pytest.raises(ValidationError):
        crm.create("core.segment", {"name": "bad", "kind": "partner", "method": "rule",
                                    "rule": '{"field": "abc_klass", "op": "eq", "value": "A"}'})


def test_each_lookup_has_one_index_and_no_redundant_one(crm):
    """Sales and class rows are written in bulk: every index costs each row a
    write, so a column already leading a composite index has none of its own."""
    expected = {"analysis_sale": {"analysis_sale_partner_id_date", "analysis_sale_product_id_date",
                                  "analysis_sale_date", "analysis_sale_document", "analysis_sale_deal_id",
                                  "analysis_sale_manager_id"},
                "analysis_client_class": {"analysis_client_class_run_id_partner_id",
                                          "analysis_client_class_partner_id_as_of"},
                "analysis_product_class": {"analysis_product_class_run_id_product_id",
                                           "analysis_product_class_product_id_as_of"}}
    for table, names in expected.items():
        if isinstance(crm.db, pw.SqliteDatabase):
            found = {i.name for i in crm.db.get_indexes(table)}
        else:  # pg_indexes also lists a partitioned table's indexes (peewee's get_indexes does not)
            found = {name for (name,) in crm.db.execute_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,)).fetchall()}
        assert {name for name in found if not name.endswith("pkey")} == names, table
