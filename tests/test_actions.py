"""Actions: registered once through ``crmkit_register_actions``, run by
``crm.act`` with their parameters checked, the record's visibility and the
verb required, and the whole run in one transaction."""
import pytest

import crmkit
from crmkit import AccessDenied, NotFound, StartupError, ValidationError

from . import hookcheck

pytestmark = pytest.mark.plugins()


@pytest.fixture
def hc(open_crm):
    hookcheck.CALLS.clear()
    crm = open_crm(extra=[hookcheck])
    hookcheck.Thing.create_table()
    return crm


def test_act_checks_params_then_runs_in_a_transaction(hc):
    thing = hc.create("hookcheck.thing", {"name": "old"})
    assert hc.act("hookcheck.rename", thing.id, name="new").name == "new"
    with pytest.raises(ValidationError) as exc:
        hc.act("hookcheck.rename", thing.id, name="", bogus=1)
    assert set(exc.value.errors) == {"name", "bogus"}
    with pytest.raises(RuntimeError):
        hc.act("hookcheck.rename", thing.id, name="halfway", fail="yes")   # strings coerced, as from the CLI
    assert hc.get("hookcheck.thing", thing.id).name == "new"                # the write inside was undone
    with pytest.raises(NotFound):
        hc.act("hookcheck.rename", 999, name="x")
    with pytest.raises(NotFound):
        hc.act("hookcheck.nothing", thing.id)
    with pytest.raises(ValidationError):
        hc.act("hookcheck.rename", None, name="x")
    assert [a.name for a in hc.actions("hookcheck.thing")] == ["hookcheck.rename"]


def test_act_requires_the_verb(hc, open_crm):
    thing = hc.create("hookcheck.thing", {"name": "old"})
    hc.create("core.user", {"login": "reader", "name": "Reader", "roles": "readonly"})
    reader = open_crm(user="reader", extra=[hookcheck])
    with pytest.raises(AccessDenied):
        reader.act("hookcheck.rename", thing.id, name="mine")
    assert not reader.may_act("hookcheck.rename") and reader.actions("hookcheck.thing") == []
    bot = open_crm(user="hookcheck-bot", extra=[hookcheck])
    assert bot.act("hookcheck.rename", thing, name="bot's").name == "bot's"   # a record is looked up again
    assert [kw["actor"] for n, kw in hookcheck.CALLS if n == "action_run"] == ["hookcheck-bot"]


def test_an_action_must_be_named_for_its_plugin_and_entity(tmp_path):
    import types
    bad = types.SimpleNamespace(PLUGIN=crmkit.PluginMeta(name="badaction", requires=("core",)))

    @crmkit.hookimpl
    def crmkit_register_actions(register):
        register(crmkit.ActionSpec("badaction.go", "no.such_entity", lambda crm, record: None))

    bad.crmkit_register_actions = crmkit_register_actions
    with pytest.raises(StartupError, match="unknown entity"):
        crmkit.open(f"sqlite:///{tmp_path}/x.db", plugins=[], extra=[bad])
