"""The monthly summary of the sales lines (issue 23): kept in step by every
write in its transaction, and the assortment's figures the same from it as
from the lines, for an administrator and for a user with a row filter."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmkit import ValidationError
from crmkit_analysis import models as m
from crmkit_analysis import reports, summary

from helpers import partner, product, sale

pytestmark = pytest.mark.plugins("analysis")


def _rows(crm):
    """Both summary tables as sorted tuples (dates as text)."""
    SM, SD = m.SaleMonth, m.SaleDocument
    lines = sorted((r[0], r[1], str(r[2])[:10], *r[3:7], str(r[7])[:10], None if r[8] is None else str(r[8])[:10])
                   for r in SM.select(SM.partner, SM.product, SM.month, SM.lines, SM.positive_lines,
                                      SM.revenue_cents, SM.cost_cents, SM.first_date, SM.first_positive_date)
                   .tuples())
    documents = sorted((r[0], str(r[1])[:10], *r[2:]) for r in SD.select(SD.partner, SD.month, SD.document,
                                                                        SD.revenue_cents, SD.cost_cents).tuples())
    return lines, documents


def _in_step(crm):
    """The summary as maintained equals the summary computed again from the lines."""
    kept = _rows(crm)
    with crm.transaction():
        summary.rebuild(crm.db)
    assert _rows(crm) == kept
    return kept


def _base(crm, n=400, seed=5):
    """Clients in two access groups, products, and ``n`` random lines over
    14 months (returns among them) imported as a file would be."""
    r = np.random.default_rng(seed)
    shown = crm.create("core.access_group", {"name": "Shown"})
    hidden = crm.create("core.access_group", {"name": "Hidden"})
    partners = [partner(crm, f"C{i}", access_group=(shown if i % 3 else hidden).id) for i in range(12)]
    partners.append(partner(crm, "C-free"))                         # in no group: everyone sees it
    products = [product(crm, f"G{i}") for i in range(9)]
    days = pd.to_datetime("2015-01-01") + pd.to_timedelta(r.integers(0, 420, n), unit="D")
    quantity = r.integers(1, 6, n) * np.where(r.random(n) < 0.15, -1, 1)
    price = r.integers(100, 5000, n) / 100
    frame = pd.DataFrame({
        "document": [f"D{int(x)}" for x in r.integers(0, n // 3, n)],   # a number may be used for two clients
        "date": days.strftime("%Y-%m-%d"),
        "partner": [partners[int(i)].code for i in r.integers(0, len(partners), n)],
        "product": [products[int(i)].code for i in r.integers(0, len(products), n)],
        "quantity": quantity.astype(str), "revenue": np.round(quantity * price, 2).astype(str),
        "cost": np.round(np.abs(quantity) * price * 0.7, 2).astype(str)})
    result = crm.import_frame("analysis.sale", frame)
    assert result["written"] == n
    return partners, products, shown


def _manager(crm, open_crm, group):
    user = crm.create("core.user", {"login": "ann", "name": "Ann", "roles": "manager"})
    crm.create("core.user_access", {"user": user.id, "access_group": group.id})
    return open_crm(user="ann")


def test_an_import_fills_the_summary_as_the_lines_give_it(crm):
    _base(crm)
    lines, documents = _in_step(crm)
    assert sum(row[3] for row in lines) == crm.count("analysis.sale")
    assert len(documents) == len({(p, str(d)[:7], doc) for p, d, doc in
                                  m.Sale.select(m.Sale.partner, m.Sale.date, m.Sale.document).tuples()})
    assert sum(row[3] for row in documents) == sum(row[5] for row in lines) == round(
        float(sum(s.revenue for s in m.Sale.select())) * 100)


def test_every_write_of_a_line_keeps_the_summary_in_step(crm):
    partners, products, _ = _base(crm, n=120)
    line = sale(crm, partners[0], products[0], "2015-03-10", 250, document="NEW-1")
    _in_step(crm)
    crm.update("analysis.sale", line.id, {"date": dt.date(2015, 5, 2), "partner": partners[1].id})
    moved = _in_step(crm)
    assert any(row[0] == partners[1].id and row[2] == "2015-05-01" for row in moved[0])
    crm.update("analysis.sale", line.id, {"revenue": 300, "quantity": 2})
    _in_step(crm)
    crm.mark_deleted("analysis.sale", line.id)             # a marked line counts nowhere
    _in_step(crm)
    crm.delete("analysis.sale", line.id)
    _in_step(crm)
    crm.merge("core.partner", partners[2].id, partners[3].id)
    merged = _in_step(crm)
    assert not any(row[0] == partners[3].id for row in merged[0] + merged[1])
    crm.merge("core.product", products[1].id, products[2].id)
    merged = _in_step(crm)
    assert not any(row[1] == products[2].id for row in merged[0])


def test_an_import_and_its_summary_are_all_or_nothing(crm, monkeypatch):
    partners, products, _ = _base(crm, n=60)
    before, lines_before = _rows(crm), crm.count("analysis.sale")
    bad = pd.DataFrame({"document": ["X1", "X2"], "date": ["2015-02-01", "not a date"],
                        "partner": [partners[0].code] * 2, "product": [products[0].code] * 2,
                        "quantity": ["1", "1"], "revenue": ["10", "10"]})
    with pytest.raises(ValidationError):
        crm.import_frame("analysis.sale", bad)
    assert _rows(crm) == before and crm.count("analysis.sale") == lines_before

    def broken(db, slices):
        raise RuntimeError("the summary could not be written")
    monkeypatch.setattr(summary, "refresh", broken)
    with pytest.raises(RuntimeError):
        crm.import_frame("analysis.sale", bad.iloc[:1])
    assert _rows(crm) == before and crm.count("analysis.sale") == lines_before   # the lines went with it
    with pytest.raises(RuntimeError):
        sale(crm, partners[0], products[0], "2015-02-01", 10)
    assert crm.count("analysis.sale") == lines_before


@pytest.mark.parametrize("period", [(None, None), ("2015-02-01", "2015-11-30"), ("2015-02-11", "2015-09-03"),
                                    ("2015-03-04", "2015-03-20"), ("2015-04-01", None), (None, "2015-06-15")])
def test_the_dynamics_are_the_same_from_the_summary_and_from_the_lines(crm, open_crm, period):
    _, _, shown = _base(crm)
    ann = _manager(crm, open_crm, shown)
    date_from, date_to = period
    for who in (crm, ann):
        lines = reports.dynamics(who, date_from, date_to, summary=False)
        kept = reports.dynamics(who, date_from, date_to)
        pd.testing.assert_frame_equal(kept, lines)
        assert len(kept)
    assert reports.dynamics(ann)["revenue"].sum() < reports.dynamics(crm)["revenue"].sum()   # the filter holds


def test_the_assortment_report_is_the_same_from_the_summary(crm, open_crm, monkeypatch):
    """The whole report (classes by segment too, with windows that differ,
    so the first sales are read from the summary) equals the one from the lines."""
    partners, _, shown = _base(crm)
    old = product(crm, "G-old")           # sold in the ABC window, not in the XYZ one: lost in XYZ
    sale(crm, partners[0], old, "2015-07-10", 40)
    segment = crm.create("core.segment", {"name": "Some", "kind": "partner", "method": "manual"})
    from crmkit.core.segments import add_members
    add_members(crm, segment.id, [p.id for p in partners[::2]])
    from crmkit_analysis.classify import save_settings
    save_settings(crm, "product", {"abc_period": "month", "abc_periods": 6, "xyz_period": "month",
                                   "xyz_periods": 3, "xyz_subperiod": "month"})
    ann = _manager(crm, open_crm, shown)
    kept = {who: crm_.report("analysis.assortment", as_of="2015-12-01").sections
            for who, crm_ in (("admin", crm), ("ann", ann))}

    def from_lines(crm_, date_from=None, date_to=None, money=None, summary=True):
        return original(crm_, date_from, date_to, money, summary=False)
    original = reports.dynamics
    monkeypatch.setattr(reports, "dynamics", from_lines)
    from crmkit_analysis import classify
    real = classify._aggregate

    def lines_first(crm_, kind, settings, as_of, restrict, group, groups, first=True):
        # the first sales over the lines: a restrict of the lines alone, which the summary cannot take
        if restrict is None:
            restrict = lambda q: q.where(m.Sale.id > 0)   # noqa: E731
        else:
            restrict = (lambda inner: lambda q: inner(q))(restrict)
        return real(crm_, kind, settings, as_of, restrict, group, groups, first)
    monkeypatch.setattr(classify, "_aggregate", lines_first)
    for who, crm_ in (("admin", crm), ("ann", ann)):
        again = crm_.report("analysis.assortment", as_of="2015-12-01").sections
        for name in kept[who]:
            pd.testing.assert_frame_equal(kept[who][name], again[name], check_dtype=False)
    assert kept["admin"]["classes by segment"]["lost"].sum() > 0    # the first sales mattered


def test_the_demo_assortment_is_the_same_from_the_summary(crm):
    with crm.transaction():
        crm.call_in_order("crmkit_load_demo", crm=crm)
    _in_step(crm)
    pd.testing.assert_frame_equal(reports.dynamics(crm), reports.dynamics(crm, summary=False))
    dyn = crm.report("analysis.assortment").sections["dynamics"]
    assert len(dyn) and int(dyn["documents"].sum()) == len(
        {(d, str(day)[:7]) for d, day in m.Sale.select(m.Sale.document, m.Sale.date).tuples()})


@pytest.mark.parametrize("period", [(None, None), ("2015-02-01", "2015-09-30"), ("2015-02-11", "2015-09-03")])
def test_the_segments_are_the_same_from_the_summary_and_from_the_lines(crm, open_crm, monkeypatch, period):
    partners, _, shown = _base(crm)
    from crmkit.core.segments import add_members
    for name, members in (("Even", partners[::2]), ("Odd", partners[1::2]), ("Firsts", partners[:4])):
        segment = crm.create("core.segment", {"name": name, "kind": "partner", "method": "manual"})
        add_members(crm, segment.id, [p.id for p in members])
    ann = _manager(crm, open_crm, shown)
    date_from, date_to = period
    kept = {who: crm_.report("analysis.segments", date_from=date_from, date_to=date_to).frame
            for who, crm_ in (("admin", crm), ("ann", ann))}
    monkeypatch.setattr(reports, "_whole_months", lambda date_from, date_to: None)    # the lines, always
    for who, crm_ in (("admin", crm), ("ann", ann)):
        again = crm_.report("analysis.segments", date_from=date_from, date_to=date_to).frame
        pd.testing.assert_frame_equal(kept[who], again, check_dtype=False)
        assert kept[who]["documents"].sum() > 0
    assert kept["ann"]["revenue"].sum() < kept["admin"]["revenue"].sum()
