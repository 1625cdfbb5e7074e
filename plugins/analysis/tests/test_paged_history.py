"""A paged report (analysis.history): the first screen is a page with the
total beside it; the rest by page or page_size=0; exports hold every row."""
import csv
import io

import pytest

from crmkit import ValidationError

from helpers import MONTHLY, partner, product, sale

pytestmark = pytest.mark.plugins("analysis")


@pytest.fixture
def history(crm):
    from crmkit_analysis.classify import run
    goods = product(crm, "P1")
    clients = [partner(crm, f"C{i:02d}") for i in range(12)]
    for i, client in enumerate(clients):
        sale(crm, client, goods, "2024-01-15", 100 + i)
    for as_of in ("2024-02-01", "2024-03-01"):
        run(crm, "partner", as_of=as_of, **MONTHLY)
    return crm


def test_pages_and_the_rows_section(history):
    crm = history
    everything = crm.report("analysis.history", page_size=0)
    assert len(everything.frame) == 24 and everything["rows"].iloc[0]["rows"] == 24
    first = crm.report("analysis.history", page_size=10)
    assert first.frame.to_dict("records") == everything.frame.head(10).to_dict("records")
    rows = first["rows"].iloc[0]
    assert (rows["rows"], rows["shown"], rows["page"], rows["pages"]) == (24, "1–10", 1, 3)
    assert "page=2" in rows["more"]
    last = crm.report("analysis.history", page=3, page_size=10)
    assert last.frame.to_dict("records") == everything.frame.iloc[20:].to_dict("records")
    assert last["rows"].iloc[0]["shown"] == "21–24" and last["rows"].iloc[0]["more"] == ""
    default = crm.report("analysis.history")
    assert len(default.frame) == 24 and default.params["page_size"] == 1000
    one = crm.report("analysis.history", partner="C03", page_size=1)
    assert one["rows"].iloc[0]["rows"] == 2 and list(one.frame["code"]) == ["C03"]


@pytest.mark.parametrize("bad", [{"page": 0}, {"page_size": -1}, {"page": "two"}])
def test_bad_paging_is_refused_by_name(history, bad):
    with pytest.raises(ValidationError) as err:
        history.report("analysis.history", **bad)
    assert set(bad) <= set(err.value.errors)


def test_exports_hold_every_row_unless_a_page_is_asked(history, db_url):
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    from crmkit.kernel.reports import export_params
    spec = history.registry.report("analysis.history")
    assert export_params(spec, {}, "csv") == {"page_size": 0}
    assert export_params(spec, {}, "table") == {}
    assert export_params(spec, {"page": 2}, "xlsx") == {"page": 2}
    spec_small = spec.__class__(**{**{a: getattr(spec, a) for a in ("id", "title", "build", "params")},
                                   "page_size": 5})
    assert len(history.report("analysis.history", **export_params(spec_small, {}, "csv")).frame) == 24
    out = CliRunner().invoke(build_cli(), ["--db", db_url, "report", "run", "analysis.history",
                                           "--format", "csv"])
    assert out.exit_code == 0, out.output
    main = out.output.split("# rows")[0]
    assert len([r for r in csv.reader(io.StringIO(main.split("\n", 1)[1])) if r]) == 1 + 24
    paged = CliRunner().invoke(build_cli(), ["--db", db_url, "report", "run", "analysis.history", "-p", "page_size=5",
                                             "--format", "csv"])
    assert paged.exit_code == 0 and "page=2" in paged.output


def test_a_restricted_users_history_is_their_views_classes_on_every_page(crm, open_crm):
    """A user who sees one access group: each row's ABC class is the one
    their view of that run gives (``view_classes``: the clients they see
    ranked among themselves), found by run and client on every page, and
    a lost or potential client keeps its stored class."""
    from crmkit_analysis.classify import run
    from crmkit_analysis.reports import view_classes
    mine, other = (crm.create("core.access_group", {"name": name}) for name in ("Mine", "Other"))
    goods = product(crm, "P1")
    for i in range(8):   # the other group's clients sell most: among all clients mine rank low
        client = partner(crm, f"M{i}", access_group=mine.id)
        sale(crm, client, goods, "2024-01-15", 10 + 7 * i)
        big = partner(crm, f"O{i}", access_group=other.id)
        sale(crm, big, goods, "2024-01-15", 1000 + i)
    partner(crm, "M9", access_group=mine.id)            # no sales: not ranked by either run
    lapsed = partner(crm, "M8", access_group=mine.id)   # sold before the second run's window only
    sale(crm, lapsed, goods, "2023-12-10", 50)
    for as_of in ("2024-02-01", "2024-04-01"):
        run(crm, "partner", as_of=as_of, **MONTHLY)
    user = crm.create("core.user", {"login": "one", "name": "One", "roles": "analyst"})
    crm.create("core.user_access", {"user": user.id, "access_group": mine.id})
    one = open_crm(user="one")
    whole = one.report("analysis.history", page_size=0).frame
    assert set(whole["code"]) <= {f"M{i}" for i in range(10)} and len(whole) >= 18
    expected = {}
    for r in one.query("analysis.run"):
        view = view_classes(one, "partner", r)
        expected.update({(code, r.as_of): cls for code, cls in zip(view["code"], view["abc"])})
    assert list(whole["abc"]) == [expected.get((c, d), "potential") for c, d in zip(whole["code"], whole["as_of"])]
    assert {"A", "B", "C"} <= set(whole["abc"])            # ranked among themselves, not all C
    stored = crm.report("analysis.history", page_size=0).frame
    assert "A" not in set(stored[stored["code"].str.startswith("M")]["abc"])    # among all clients, none is A
    paged = [one.report("analysis.history", page=p, page_size=5).frame for p in range(1, -(-len(whole) // 5) + 1)]
    import pandas as pd
    shown = ["code", "as_of", "abc", "xyz"]
    assert pd.concat(paged, ignore_index=True)[shown].to_dict("records") == whole[shown].to_dict("records")
