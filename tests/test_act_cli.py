"""``crmkit act``: every declared action from a terminal, through the same
``crm.act`` as the API and the web, with the same checks."""
import json

import pytest

from crmkit.core.models import User, Segment


def _partners(crm):
    return [crm.create("core.partner", {"name": name}) for name in ("Дальстрой", "Ромашка", "Протон")]


def _users(crm):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    crm.create("core.user", {"login": "reader", "name": "Читатель", "roles": "readonly"})


def test_act_lists_only_the_actions_the_user_may_run(crm, cli):
    _users(crm)
    admin = {a["action"] for a in json.loads(cli("act", "--format", "json").output)}
    assert set(crm.registry.actions) == admin                      # an administrator: every action
    mine = json.loads(cli("act", "--format", "json", user="reader").output)
    reader = crm.as_user("reader")
    assert {a["action"] for a in mine} == {a.name for a in crm.registry.actions.values() if reader.may_act(a)}
    assert "core.preferences" in {a["action"] for a in mine}
    assert not {"core.deliver_outbox", "core.add_attribute"} & {a["action"] for a in mine}
    row = next(a for a in mine if a["action"] == "core.preferences")
    assert row["parameters"] == "lang, time_zone" and row["record"] is False
    assert "Мои настройки" in cli("act", user="reader", lang="ru").output    # titles in the user's language


def test_act_sets_own_preferences_and_refuses_bad_ones_writing_nothing(crm, cli):
    _users(crm)
    out = cli("act", "core.preferences", "lang=ru", "time_zone=Europe/Moscow", "--format", "json", user="orlov")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == [{"lang": "ru", "time_zone": "Europe/Moscow"}]
    out = cli("act", "core.preferences", "lang=xx", "time_zone=Mars/Olympus", user="orlov")
    assert out.exit_code == 1 and "lang" in out.output and "time_zone" in out.output
    out = cli("act", "core.preferences", "colour=red", user="orlov")
    assert out.exit_code == 1 and "colour" in out.output
    user = User.get(User.login == "orlov")
    assert (user.lang, user.time_zone) == ("ru", "Europe/Moscow")
    assert [c.field for c in crm.history("core.user", user.id) if c.action == "update"] == ["lang", "time_zone"]


def test_act_on_a_record_by_code_with_a_list_parameter(crm, cli):
    head, shop, other = _partners(crm)
    seg = crm.create("core.segment", {"name": "VIP"})
    out = cli("act", "core.add_members", str(seg.id), f"ids={head.id}", f"ids={shop.id}", "--format", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == [{"added": 2}]
    out = cli("act", "core.remove_members", str(seg.id), f"ids={shop.id}")
    assert out.exit_code == 0 and "1" in out.output
    from crmkit.core.segments import members_query
    assert [p.id for p in members_query(crm, seg.id)] == [head.id]
    out = cli("act", "core.add_members", "VIP", f"ids={other.id}")          # a name only one segment has
    assert out.exit_code == 0, out.output
    assert Segment.get_by_id(seg.id) is not None


def test_act_refuses_what_the_user_may_not_do_and_says_what_is_wrong(crm, cli):
    _users(crm)
    head = _partners(crm)[0]
    seg = crm.create("core.segment", {"name": "VIP"})
    out = cli("act", "core.add_members", str(seg.id), f"ids={head.id}", user="reader")
    assert out.exit_code == 1 and "core.add_members" in out.output
    out = cli("act", "core.deliver_outbox", user="orlov")
    assert out.exit_code == 1 and "administrator" in out.output
    out = cli("act", "core.add_memebrs", str(seg.id))
    assert out.exit_code == 1 and "core.add_members" in out.output            # did you mean
    out = cli("act", "core.add_members", f"ids={head.id}")
    assert out.exit_code == 1 and "id" in out.output                          # the action needs a record
    out = cli("act", "core.preferences", "somebody")
    assert out.exit_code == 1 and "takes no record" in out.output
    out = cli("act", "core.add_members", "1", "2", f"ids={head.id}")
    assert out.exit_code == 1 and "one record" in out.output
    out = cli("act", "core.add_members", str(seg.id), "ids=abc")
    assert out.exit_code == 1 and "ids" in out.output
    from crmkit.core.segments import members_query
    assert list(members_query(crm, seg.id)) == []


def test_every_action_has_its_title_and_description_in_russian(crm):
    """What the act listing and the web's action buttons and forms say."""
    from crmkit.kernel.i18n import translate
    left = {s.name: [t for t in (s.title or s.name, s.description) if t and translate(t, "ru", context=s.name) == t]
            for s in crm.registry.actions.values()}
    assert {name: texts for name, texts in left.items() if texts} == {}
