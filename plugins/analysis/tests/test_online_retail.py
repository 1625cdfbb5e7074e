"""The UCI Online Retail file through the kernel importer, and ABC/XYZ
checked against an independent plain-pandas computation over the raw rows.

Tests use a deterministic sample (every 11th row, 49,265 rows); the whole
file (541,909 rows) is imported by benchmarks/bench_online_retail.py, which
checks the data set's known figures.
"""
import datetime as dt
import decimal
import gzip
from pathlib import Path

import pandas as pd
import pytest

from crmkit_analysis import models as m

pytestmark = pytest.mark.plugins("analysis")

# shared/ lies beside the project's folder (the repository root is three levels up)
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "online_retail.csv.gz"
MAP = ("InvoiceNo=document,StockCode=product,Description=product_name,Quantity=quantity,"
       "InvoiceDate=date,UnitPrice=price,CustomerID=partner,Country=region")
needs_data = pytest.mark.skipif(not DATA.exists(), reason="the Online Retail file is not here")


@pytest.fixture(scope="module")
def raw():
    frame = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    return frame.iloc[::11].reset_index(drop=True)


@pytest.fixture
def sample(raw, tmp_path):
    path = tmp_path / "retail-sample.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        raw.to_csv(fh, index=False)
    return path


def _expected(raw):
    q = pd.to_numeric(raw["Quantity"])
    p = pd.to_numeric(raw["UnitPrice"])
    no_customer = raw["CustomerID"] == ""
    bad_price = p <= 0
    loaded = raw[~no_customer & ~bad_price].copy()
    loaded["revenue"] = [decimal.Decimal(a) * decimal.Decimal(b) for a, b in zip(loaded["Quantity"], loaded["UnitPrice"])]
    loaded["revenue"] = loaded["revenue"].map(lambda d: d.quantize(decimal.Decimal("0.01"), decimal.ROUND_HALF_EVEN))
    loaded["day"] = pd.to_datetime(loaded["InvoiceDate"]).dt.normalize()
    return loaded, int(no_customer.sum()), int((~no_customer & bad_price).sum())


def _independent_classes(loaded, start, end, a=80, b=15, x=10, y=25, sales_only=False):
    """ABC/XYZ by the written definitions, in plain Python/pandas; with
    ``sales_only`` over the lines of a positive quantity (cancellations
    dropped, as the data set is usually cleaned), every customer still an item."""
    counted = loaded[pd.to_numeric(loaded["Quantity"]) > 0] if sales_only else loaded
    window = counted[(counted["day"] >= pd.Timestamp(start)) & (counted["day"] < pd.Timestamp(end))]
    totals = window.groupby("CustomerID")["revenue"].sum()
    ranked = sorted(((v, c) for c, v in totals.items() if v > 0), key=lambda t: (-t[0], t[1]))
    grand = sum(v for v, _ in ranked)
    abc, before = {}, decimal.Decimal(0)
    for value, code in ranked:
        share = before / grand * 100
        abc[code] = "A" if share < a else ("B" if share < a + b else "C")
        before += value
    for code, value in totals.items():
        abc.setdefault(code, "C")
    months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(days=1), freq="M")
    by_month = (window.assign(month=window["day"].dt.to_period("M"), v=window["revenue"].astype(float))
                .pivot_table(index="CustomerID", columns="month", values="v", aggfunc="sum")
                .reindex(columns=months).fillna(0.0))
    xyz = {}
    for code, row in by_month.iterrows():
        mean = row.mean()
        cv = row.std(ddof=0) / mean * 100 if mean > 0 else None
        xyz[code] = "Z" if cv is None else ("X" if cv <= x + 1e-9 else ("Y" if cv <= y + 1e-9 else "Z"))
    earlier = set(counted.loc[counted["day"] < pd.Timestamp(start), "CustomerID"])
    everyone = set(loaded.loc[loaded["day"] < pd.Timestamp(end), "CustomerID"]) | set(loaded["CustomerID"])
    out = {}
    for code in everyone:
        fallback = "lost" if code in earlier else "potential"
        out[code] = (abc.get(code, fallback), xyz.get(code, fallback))
    return out


@needs_data
@pytest.mark.sqlite_only
def test_sample_imports_with_every_reject_reported_and_agrees_with_pandas(crm, cli, raw, sample, tmp_path):
    rejects = tmp_path / "rejects.csv"
    result = cli("import", "analysis.sale", str(sample), "--skip-invalid", "--rejects", str(rejects),
                 "--map", MAP, "--option", "create_missing=yes", "--option", "currency=GBP", "--format", "json")
    assert result.exit_code == 0, result.output
    loaded, no_customer, bad_price = _expected(raw)
    assert crm.count("analysis.sale") == len(loaded)
    assert crm.count("core.partner") == loaded["CustomerID"].nunique()
    assert crm.count("core.product") == loaded["StockCode"].nunique()
    returns = loaded[pd.to_numeric(loaded["Quantity"]) < 0]
    assert crm.count("analysis.sale", quantity__lt=0) == len(returns) > 0
    assert crm.count("analysis.sale", revenue__lt=0) == len(returns)
    stored = sum(decimal.Decimal(str(s.revenue)) for s in m.Sale.select(m.Sale.revenue))
    assert stored == sum(loaded["revenue"])
    reasons = pd.read_csv(rejects, dtype=str, keep_default_na=False)
    assert len(reasons) == no_customer + bad_price == len(raw) - len(loaded)
    assert reasons["reason"].str.contains("no customer").sum() == no_customer
    assert reasons["reason"].str.contains("price is zero|price is negative").sum() >= bad_price
    kept = set(loaded.index)
    assert reasons["row"].astype(int).tolist() == [i + 1 for i in raw.index if i not in kept]

    from crmkit_analysis.classify import run
    settings = {"abc_period": "month", "abc_periods": 6, "xyz_period": "month", "xyz_periods": 6,
                "xyz_subperiod": "month"}
    summary = run(crm, "partner", dt.date(2011, 12, 9), **settings)
    expected = _independent_classes(loaded, dt.date(2011, 6, 1), dt.date(2011, 12, 1))
    got = {r.partner.code: (r.abc_class, r.xyz_class)
           for r in m.ClientClass.select().where(m.ClientClass.run == summary["run"])}
    assert got == expected
    assert {a for a, _ in got.values()} == {"A", "B", "C", "lost", "potential"}
    assert {x for _, x in got.values()} == {"Y", "Z", "lost", "potential"}   # monthly retail: no X here


@needs_data
@pytest.mark.sqlite_only
def test_sales_only_gives_the_independent_classes_and_the_anonymous_buyer_stays_out(crm, cli, raw, sample):
    """The sample with its customer-less rows loaded on an anonymous buyer:
    a sales-only classification (returns left out) equals the plain-pandas
    one over the positive lines of the customers' rows, because the
    anonymous buyer is left out by default."""
    result = cli("import", "analysis.sale", str(sample), "--skip-invalid", "--map", MAP, "--option",
                 "create_missing=yes", "--option", "currency=GBP", "--option", "anonymous=ANON", "--format", "json")
    assert result.exit_code == 0, result.output
    loaded, no_customer, _ = _expected(raw)
    assert crm.count("analysis.sale", partner=crm.get("core.partner", "ANON").id) > 0
    from crmkit_analysis.classify import run
    settings = {"abc_period": "month", "abc_periods": 6, "xyz_period": "month", "xyz_periods": 6,
                "xyz_subperiod": "month", "returns": "sales_only"}
    summary = run(crm, "partner", dt.date(2011, 12, 9), **settings)
    assert "ANON" in summary["note"]
    got = {r.partner.code: (r.abc_class, r.xyz_class)
           for r in m.ClientClass.select().where(m.ClientClass.run == summary["run"])}
    expected = _independent_classes(loaded, dt.date(2011, 6, 1), dt.date(2011, 12, 1), sales_only=True)
    assert got == expected
    netted = _independent_classes(loaded, dt.date(2011, 6, 1), dt.date(2011, 12, 1))
    assert netted != expected     # the returns move clients between classes: the option matters here


def _write(tmp_path, text):
    path = tmp_path / "sales.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


HEAD = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def test_import_options_and_bad_input(crm, tmp_path):
    mapping = dict(pair.split("=")[::-1] for pair in MAP.split(","))
    mapping = {v: k for k, v in mapping.items()}
    good = _write(tmp_path, HEAD + "1,P1,Cup,2,2011-01-03 10:00:00,1.50,C1,United Kingdom\n"
                                   "C2,P1,Cup,-1,2011-01-04 10:00:00,1.50,C1,United Kingdom\n"
                                   "3,P2,Plate,1,2011-01-05 10:00:00,2.00,,France\n"
                                   "4,P2,Plate,x,2011-01-05 10:00:00,2.00,C2,France\n"
                                   "5,P2,Plate,1,someday,2.00,C2,France\n")
    # unknown codes without create_missing: rejected with the reason, nothing created
    summary = crm.import_file("analysis.sale", good, mapping=mapping, skip_invalid=True, options={"currency": "GBP"})
    assert summary["written"] == 0 and crm.count("core.partner") == 0
    assert "unknown product code" in str(summary["errors"][1]) and "'C1' does not exist" in str(summary["errors"][1])
    # all or nothing by default
    from crmkit import ValidationError
    with pytest.raises(ValidationError):
        crm.import_file("analysis.sale", good, mapping=mapping, options={"create_missing": "yes", "currency": "GBP"})
    assert crm.count("analysis.sale") == 0 and crm.count("core.partner") == 0
    summary = crm.import_file("analysis.sale", good, mapping=mapping, skip_invalid=True,
                              options={"create_missing": "yes", "currency": "GBP", "anonymous": "ANON"})
    assert summary["written"] == 3 and summary["rejected"] == 2
    errors = summary["errors"]
    assert "quantity is not a number" in str(errors[4]) and "date is not a date" in str(errors[5])
    anon = crm.get("core.partner", "ANON")
    assert anon.name == "Anonymous customer" and crm.count("analysis.sale", partner=anon.id) == 1
    ret = crm.find("analysis.sale", document="C2")[0]
    assert float(ret.quantity) == -1 and float(ret.revenue) == -1.5 and ret.currency == "GBP"
    assert crm.get("core.partner", "C1").region.name == "United Kingdom"
    assert crm.get("core.product", "P2").name == "Plate"
    for bad_options, field in (({"colour": "x"}, "option colour"), ({"access_group": "nope", "create_missing": "yes"},
                                                                     "option access_group")):
        path = _write(tmp_path, HEAD + "9,P9,Bowl,1,2011-01-03,1.00,C9,Spain\n")
        with pytest.raises(ValidationError) as err:
            crm.import_file("analysis.sale", path, mapping=mapping, options=bad_options)
        assert field in err.value.errors
    with pytest.raises(ValidationError) as err:
        crm.import_file("analysis.sale", good, mapping={k: v for k, v in mapping.items() if v != "quantity"})
    assert "quantity" in err.value.errors
    assert crm.count("analysis.sale") == 3 and crm.find("core.partner", code="C9") == []


def test_single_sales_lines_are_validated(crm):
    from crmkit import ValidationError
    p = crm.create("core.partner", {"code": "K1", "name": "K"})
    g = crm.create("core.product", {"code": "G", "name": "G"})
    base = {"document": "1", "date": "2015-01-01", "partner": p.id, "product": g.id, "quantity": 1, "revenue": 10}
    for change, field in (({"quantity": 0}, "quantity"), ({"revenue": -10}, "revenue"), ({"currency": "rub"}, "currency"),
                          ({"partner": 999}, "partner"), ({"date": "soon"}, "date"), ({"document": ""}, "document")):
        with pytest.raises(ValidationError) as err:
            crm.create("analysis.sale", {**base, **change})
        assert field in err.value.errors
    assert crm.count("analysis.sale") == 0
    crm.create("analysis.sale", {**base, "deal_id": 12345})   # no deals plugin here: kept as given
    assert crm.find("analysis.sale")[0].deal_id == 12345
