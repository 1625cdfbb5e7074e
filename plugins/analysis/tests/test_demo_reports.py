"""The presentation's figures from the demo, and access in every report."""
import pytest


from helpers import MONTHLY, partner, product, sale

pytestmark = pytest.mark.plugins("analysis")

REPORTS = ("analysis.abc_xyz_clients", "analysis.matrix", "analysis.abc_changes", "analysis.xyz_changes",
           "analysis.history", "analysis.segments", "analysis.assortment", "analysis.deal_profit",
           "analysis.abc_xyz_products")


@pytest.fixture
def demo(crm):
    with crm.transaction():
        featured = crm.call_in_order("crmkit_load_demo", crm=crm)
    return crm, featured


def _cells(frame, index_column, rows, columns):
    table = frame.set_index(index_column)
    return {(r, c): int(table.loc[r, c]) for r in rows for c in columns}


def test_demo_gives_the_presentations_distribution(demo):
    crm, featured = demo
    assert "analysis.matrix" in featured[-1]
    counts = crm.report("analysis.matrix").sections["counts"]
    got = _cells(counts, "class", ("X", "Y", "Z", "lost"), ("A", "B", "C", "lost"))
    expected = {(r, c): 0 for r in ("X", "Y", "Z", "lost") for c in ("A", "B", "C", "lost")}
    expected.update({("Z", "A"): 1, ("X", "B"): 1, ("Y", "B"): 1, ("X", "C"): 1, ("Z", "C"): 1})
    assert got == expected
    # the other 13 demo clients have bought nothing yet
    assert int(crm.report("analysis.matrix").sections["potential"]["potential"][0]) == 13
    clients = crm.report("analysis.abc_xyz_clients").frame
    assert clients.head(5)[["code", "abc", "xyz"]].values.tolist() == [
        ["00-00000001", "A", "Z"], ["00-00000010", "B", "X"], ["00-00000011", "B", "Y"],
        ["00-00000012", "C", "X"], ["00-00000035", "C", "Z"]]
    assert crm.report("analysis.matrix").render("html").count("<svg") == 1


def test_demo_gives_the_presentations_change_matrices(demo):
    crm, _ = demo
    abc = crm.report("analysis.abc_changes")
    assert abc.sections["runs"]["as_of"].tolist() == ["2015-10-26", "2015-11-02"]
    rows, cols = ("A", "B", "C", "potential", "lost"), ("A", "B", "C", "lost")
    expected = {(r, c): 0 for r in rows for c in cols}
    expected.update({("A", "A"): 1, ("B", "B"): 2, ("C", "C"): 2})
    assert _cells(abc.sections["matrix"], "previous", rows, cols) == expected
    assert set(abc.sections["cells"]["change"]) == {"unchanged"} and abc.sections["moved"].empty
    xyz = crm.report("analysis.xyz_changes")
    rows, cols = ("X", "Y", "Z", "potential", "lost"), ("X", "Y", "Z", "lost")
    expected = {(r, c): 0 for r in rows for c in cols}
    expected.update({("X", "X"): 2, ("Y", "Y"): 1, ("Z", "Z"): 2})
    assert _cells(xyz.sections["matrix"], "previous", rows, cols) == expected


def test_demo_reports_render_in_every_format_and_russian(demo):
    crm, _ = demo
    for report_id in REPORTS:
        result = crm.report(report_id)
        for fmt in ("table", "csv", "json", "html"):
            assert result.render(fmt)
    text = crm.report("analysis.matrix").render("table", lang="ru")
    assert "Матрица BCG" in text and "Потенциальные" in text
    segments = crm.report("analysis.segments").frame.set_index("segment")
    assert segments.loc["Клиенты класса A в Москве", "clients"] == 1
    assert segments.loc["Клиенты класса A в Москве", "revenue"] == 1_500_000


def _changes_setup(crm):
    ps = {c: partner(crm, c) for c in ("P1", "P2", "P3")}
    item = product(crm, "G1")
    for day in ("2015-01-10", "2015-02-10", "2015-03-10"):
        sale(crm, ps["P1"], item, day, 100)
    sale(crm, ps["P2"], item, "2015-03-15", 90)
    sale(crm, ps["P2"], item, "2015-04-15", 1000)
    sale(crm, ps["P3"], item, "2015-01-02", 5)
    from crmkit_analysis.classify import run
    run(crm, "partner", "2015-04-01", **MONTHLY)
    run(crm, "partner", "2015-05-01", **MONTHLY)
    return ps


def test_class_changes_with_better_and_worse(crm):
    _changes_setup(crm)
    abc = crm.report("analysis.abc_changes")
    moved = abc.sections["moved"].set_index("code")
    # run 1 (Jan-Mar): P1 300 A, P2 90 A (76.9 % before), P3 5 C; run 2 (Feb-Apr): P2 1090 A, P1 200 B, P3 lost
    assert moved.loc["P1", ["previous", "current", "change"]].tolist() == ["A", "B", "worse"]
    assert moved.loc["P3", ["previous", "current", "change"]].tolist() == ["C", "lost", "worse"]
    assert "P2" not in moved.index
    xyz = crm.report("analysis.xyz_changes").sections["moved"].set_index("code")
    assert xyz.loc["P1", ["previous", "current", "change"]].tolist() == ["X", "Z", "worse"]


def test_user_without_access_sees_the_partner_in_no_report(crm, open_crm):
    ps = _changes_setup(crm)
    hidden, shown = crm.create("core.access_group", {"name": "Hidden"}), crm.create("core.access_group", {"name": "Shown"})
    crm.update("core.partner", ps["P1"].id, {"access_group": hidden.id})
    crm.update("core.partner", ps["P2"].id, {"access_group": shown.id})
    user = crm.create("core.user", {"login": "ann", "name": "Ann", "roles": "manager"})
    crm.create("core.user_access", {"user": user.id, "access_group": shown.id})
    segment = crm.create("core.segment", {"name": "All", "kind": "partner", "method": "manual"})
    from crmkit.core.segments import add_members
    add_members(crm, segment.id, [p.id for p in ps.values()])
    ann = open_crm(user="ann")
    for report_id in REPORTS:
        result = ann.report(report_id)
        for name, frame in result.sections.items():
            text = frame.to_csv()
            assert "P1" not in text and "Client P1" not in text, (report_id, name)
        assert crm.report(report_id) is not None
    assert "P1" in crm.report("analysis.abc_xyz_clients").frame["code"].tolist()
    counts = ann.report("analysis.matrix").sections["counts"].set_index("class")
    assert counts["total"].sum() == 2          # P2 and P3, not P1
    assert ann.report("analysis.segments").frame["revenue"].sum() == 1095
    assert ann.count("analysis.sale") == crm.count("analysis.sale") - 3
