"""deals.recompute_probabilities: every open deal at once, equal to the
deal-by-deal breakdown, within the user's access, through crm.act, the
CLI and the HTTP API's generic action route alike."""
import json

import pytest

from crmkit import AccessDenied, ValidationError
from crmkit_deals import api

from deals_testing import new_deal
from test_reports_small import small  # noqa: F401  (the fixture)

pytestmark = pytest.mark.plugins("deals")


def _open(crm):
    return {d.name: d for d in crm.find("deals.deal", status="in_work")}


def test_every_open_deal_gets_the_breakdowns_probability(crm, small):  # noqa: F811
    expected = {name: api.probability_breakdown(crm, d.id)["probability"] for name, d in _open(crm).items()}
    assert set(expected) == {"d3", "d5"} and None not in expected.values()
    before = {name: (d.probability, d.probability_method) for name, d in _open(crm).items()}
    assert before == {"d3": (50, "manual"), "d5": (10, "manual")}
    done = crm.act("deals.recompute_probabilities")
    assert done == {"open_deals": 2, "changed": 2, "won": 2, "closed": 3}
    after = {name: (d.probability, d.probability_method) for name, d in _open(crm).items()}
    assert after == {name: (p, "statistics") for name, p in expected.items()}
    changes = {(c.field, c.old, c.new) for c in crm.history("deals.deal", small["d3"]) if c.action == "update"}
    assert {("probability", "50", str(expected["d3"])), ("probability_method", "manual", "statistics")} <= changes
    # a second run finds nothing to change; the forecast weighs with the stored figures
    assert crm.act("deals.recompute_probabilities")["changed"] == 0
    by_month = crm.report("deals.forecast")["By close month"]
    assert list(by_month["Average probability, %"])[1] == expected["d3"]


def test_keep_manual_leaves_hand_set_probabilities(crm, small):  # noqa: F811
    api.refresh_probability(crm, small["d3"])
    crm.update("deals.deal", small["d3"], {"probability": 5})     # stale, still by statistics
    done = crm.act("deals.recompute_probabilities", keep_manual=True)
    assert done["open_deals"] == 1 and done["changed"] == 1
    assert _open(crm)["d5"].probability == 10 and _open(crm)["d5"].probability_method == "manual"
    assert _open(crm)["d3"].probability == api.probability_breakdown(crm, small["d3"])["probability"]


def test_only_deals_the_user_sees_from_the_statistics_they_see(crm, open_crm, small):  # noqa: F811
    bob = open_crm(user="bob")       # wholesale only: Лавка's d3 and d4 are not his
    expected = api.probability_breakdown(bob, _open(crm)["d5"].id)["probability"]
    done = bob.act("deals.recompute_probabilities")
    assert done == {"open_deals": 1, "changed": 1, "won": 1, "closed": 2}
    assert (_open(crm)["d5"].probability, _open(crm)["d3"].probability) == (expected, 50)


def test_refused_without_the_update_verb_and_on_bad_input(crm, open_crm, small):  # noqa: F811
    crm.create("core.user", {"login": "reader", "name": "Читатель", "roles": "readonly"})
    with pytest.raises(AccessDenied):
        open_crm(user="reader").act("deals.recompute_probabilities")
    with pytest.raises(ValidationError) as exc:
        crm.act("deals.recompute_probabilities", keep_manual="maybe", colour="red")
    assert set(exc.value.errors) == {"keep_manual", "colour"}
    assert {d.probability_method for d in _open(crm).values()} == {"manual"}     # nothing written


def test_no_closed_deals_changes_nothing(crm, world):
    new_deal(crm, world, "manual", probability=40)
    done = crm.act("deals.recompute_probabilities")
    assert done["changed"] == 0 and done["note"] == "no closed deals to learn from"
    assert crm.find("deals.deal")[0].probability == 40


def test_the_cli_runs_the_action(crm, cli, small):  # noqa: F811
    out = cli("deals", "probabilities", "recompute", "--format", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"open_deals": 2, "changed": 2, "won": 2, "closed": 3}
    out = cli("deals", "probabilities", "recompute", "--keep-manual", lang="ru")
    assert out.exit_code == 0 and out.output.startswith("Изменено сделок в работе: 0 из 2"), out.output
