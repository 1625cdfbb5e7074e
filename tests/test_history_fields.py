"""A history row of several fields (``crm.record_changes`` with a tuple of
fields, as a bulk recompute writes it) reads back everywhere as the rows per
field it stands for: ``crm.history``, ``crmkit history`` (text and JSON),
the web card's timeline, and an erasure scrubs it as it scrubs those rows."""
import json

import pytest

pytestmark = pytest.mark.plugins("core", "web")


@pytest.fixture
def pair(crm):
    """Two partners with the same changes: one written a row per field, one
    as a row of both fields."""
    apart = crm.create("core.partner", {"name": "Раздельно"}).id
    together = crm.create("core.partner", {"name": "Вместе"}).id
    crm.record_changes("core.partner", "kind", [apart], ["company"], "individual")
    crm.record_changes("core.partner", "comment", [apart], [None], ["к «Альфе»"])
    crm.record_changes("core.partner", ("kind", "comment"), [together], [("company", None)],
                       ("individual", "к «Альфе»"))
    return apart, together


def _updates(rows):
    return [(c.action, c.field, c.old, c.new, c.user) for c in rows if c.action == "update"]


def test_history_gives_a_row_per_field(crm, pair):
    apart, together = pair
    assert _updates(crm.history("core.partner", together)) == _updates(crm.history("core.partner", apart)) == [
        ("update", "kind", "company", "individual", "system"), ("update", "comment", None, "к «Альфе»", "system")]
    from crmkit.kernel.models import Change    # stored as one row
    assert Change.select().where((Change.record_id == together) & (Change.action == "update")).count() == 1


def test_cli_and_web_show_the_same(crm, cli, pair):
    apart, together = pair

    def shown(rid, fmt):
        out = cli("history", "core.partner", str(rid), "--format", fmt)
        assert out.exit_code == 0, out.output
        if fmt == "json":
            return [{k: v for k, v in row.items() if k != "at"} for row in json.loads(out.output)
                    if row["action"] == "update"]
        return [line.split(None, 2)[-1] for line in out.output.splitlines() if "omment" in line or "ind" in line]
    for fmt in ("json", "table"):
        assert shown(together, fmt) == shown(apart, fmt) and shown(apart, fmt)
    import flask
    from crmkit_web.ui.entities import history
    spec = crm.registry.entity("core.partner")
    with flask.Flask(__name__).app_context():
        web = [[{k: v for k, v in row.items() if k != "at"} for row in history(crm, spec, crm.get("core.partner", rid))
                if row["field"]] for rid in (apart, together)]
    assert web[0] == web[1] and [row["new"] for row in web[0]] == ["individual", "к «Альфе»"]


@pytest.mark.parametrize("fields", [None, ["comment"], ["name"]])
def test_an_erasure_scrubs_the_fields_it_names(crm, pair, fields):
    apart, together = pair
    crm.scrub_history("core.partner", [apart, together], fields)
    assert _updates(crm.history("core.partner", together)) == _updates(crm.history("core.partner", apart))
    erased = {c.field for c in crm.history("core.partner", together)
              if c.action == "update" and "[erased]" in (c.old, c.new)}
    assert erased == ({"kind", "comment"} if fields is None else set(fields) & {"kind", "comment"})
    comment = next(c for c in crm.history("core.partner", together) if c.field == "comment")
    assert comment.old is None      # nothing there before: nothing to erase


def test_bad_fields_are_refused(crm, pair):
    for fields in (("kind", "a,b"), ("kind", ""), ()):
        with pytest.raises(ValueError):
            crm.record_changes("core.partner", fields, [pair[0]], [("x", "y")], ("x", "y"))
    with pytest.raises(ValueError):
        crm.record_changes("core.partner", ("kind", "comment"), [pair[0]], [("x",)], ("x", "y"))
