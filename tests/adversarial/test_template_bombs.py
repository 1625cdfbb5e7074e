"""Template bombs (issue 15 item 3) through every template path of every
plugin.

``BOMBS`` (time, memory, recursion, output) are refused by the bounded
sandbox with a ValidationError naming the field, never an uncaught error;
every template field a user saves refuses them at save time, guarded by
``{% if record %}`` or not; a bomb stored anyway (older data, raw SQL) never
makes another user's write fail: the deal is created, its task gets a plain
title. ``TEMPLATE_CALLS`` lists every place the code renders or checks a
user template: a new one fails ``test_every_template_call_is_swept`` until it
is added to the sweep.
"""
from __future__ import annotations

import pathlib
import re

import pytest

from crmkit import ValidationError

from .conftest import INSTALLED, needs, use
from .world import World, writable_row

pytestmark = pytest.mark.plugins(*INSTALLED)

BOMBS = {
    "power": "{{ (((9**64)**64)**64)**64 }}",
    "product": "{{ 10**4000 * 10**4000 }}",
    "center": "{{ 'x'|center(10**9) }}",
    "ljust": "{{ 'x'.ljust(10**9) }}",
    "indent": "{{ ('x\\n' * 50000)|indent(50000) }}",
    "percent-star": "{{ '%*d' % (10**9, 1) }}",
    "percent-width": "{{ '%999999999d' % 1 }}",
    "brace-width": "{{ '{:>999999999}'.format(1) }}",
    "brace-nested": "{{ '{:{}}'.format(1, 10**9) }}",
    "dict-doubling": "{% set d = {'a': 'x'} %}{% for i in range(60) %}"
                     "{% set _ = d.update({'a': d.a ~ d.a}) %}{% endfor %}{{ d.a|length }}",
    "list-doubling": "{% set l = [1] %}{% for i in range(60) %}{% set _ = l.extend(l) %}{% endfor %}",
    "concat": "{% set s = 'x' * 100000 %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s }}",
    "replace": "{{ ('x' * 100000).replace('', 'yyyyyyyyyy') }}",
    "join": "{{ (['x' * 100000] * 100000)|join }}",
    "batch": "{{ [1]|batch(10**9, 0)|list }}",
    "recursive-macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}",
    "recursive-loop": "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "nested-loops": "{% set l = range(10000)|list %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}",
    "deep-parentheses": "{{" + "(" * 5000 + "1" + ")" * 5000 + "}}",
    "output": "{% for i in range(10000) %}{{ 'x' * 100 }}{% endfor %}",
}
GUARDED = {f"guarded-{k}": "{% if record %}" + v + "{% endif %}"
           for k, v in BOMBS.items() if k in ("power", "center", "dict-doubling", "recursive-macro")}

# file -> the functions in it that render or check a user template, and the test that sweeps them
TEMPLATE_CALLS = {
    "crmkit/kernel/crm.py": {"render_template", "check_template"},
    "crmkit/kernel/templates.py": {"check_user_template"},
    "plugins/deals/crmkit_deals/rules.py": {"validate_kind_stage"},                 # save: kind_stage.tasks
    "plugins/deals/crmkit_deals/lifecycle.py": {"create_stage_tasks"},             # deal create / move
    "plugins/marketing/crmkit_marketing/render.py": {"render_message"},            # mailings, notices
    "plugins/marketing/crmkit_marketing/rules.py": {"check_template_source"},      # save: template fields
}
# crm.render_template / check_template (methods) and the kernel's functions; a bare render_template( is
# Flask's, which renders the application's own files, never a user's source
CALL = re.compile(r"(\.render_template|\.check_template|\brender_user_template|\bcheck_user_template)\(")
# compiling a template from a string is the kernel's alone (its sandbox and bounds)
FROM_STRING = re.compile(r"\b(from_string|render_template_string|jinja2\.Template)\(")
ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_template_call_is_swept():
    found: dict[str, set] = {}
    compiling: set = set()
    for path in [*ROOT.glob("crmkit/**/*.py"), *ROOT.glob("plugins/*/crmkit_*/**/*.py")]:
        current = None
        for line in path.read_text(encoding="utf-8").splitlines():
            head = re.match(r"\s*def (\w+)\(", line)
            if head:
                current = head.group(1)
            elif CALL.search(line) and "import" not in line:
                found.setdefault(str(path.relative_to(ROOT)), set()).add(current)
            if FROM_STRING.search(line):
                compiling.add(str(path.relative_to(ROOT)))
    assert found == TEMPLATE_CALLS
    assert compiling == {"crmkit/kernel/templates.py"}


@pytest.mark.parametrize("name", sorted({**BOMBS, **GUARDED}))
def test_a_bomb_is_a_clear_error_in_bounded_time(crm, name):
    source = {**BOMBS, **GUARDED}[name]
    if name in GUARDED:
        with pytest.raises(ValidationError) as exc:
            crm.check_template(source, field="body_text")
    else:
        with pytest.raises(ValidationError) as exc:
            crm.render_template(source, {"record": 1}, field="body_text")
    assert "body_text" in exc.value.errors and "refused" in str(exc.value.errors), exc.value.errors


def test_str_format_works_in_a_template(crm):
    assert crm.render_template("{{ 'Добрый день, {}!'.format('Протон') }} {{ '%05.1f' % 3.14159 }}", {}) \
        == "Добрый день, Протон! 003.1"


@pytest.fixture(scope="module")
def world(adv_url):
    w = World(adv_url).build()
    yield w
    w.admin.close()


@pytest.fixture
def w(world):
    use(world.admin)
    return world


@needs("marketing")
@pytest.mark.parametrize("field", ["subject", "body_text", "body_html", "sms_text"])
def test_marketing_template_fields_refuse_bombs_at_save(w, field):
    crm = w.admin
    template = crm.find("marketing.template", limit=1)[0]
    for name, source in {**BOMBS, **GUARDED}.items():
        if field == "subject" and "\n" in source:
            continue
        with pytest.raises(ValidationError) as exc:
            crm.update("marketing.template", template.id, {field: source})
        assert field in exc.value.errors, (name, exc.value.errors)


@needs("deals")
def test_deal_stage_tasks_refuse_bombs_at_save(w):
    crm = w.admin
    stage = crm.find("deals.kind_stage", limit=1)[0]
    for name, source in {**BOMBS, **GUARDED}.items():
        with pytest.raises(ValidationError) as exc:
            crm.update("deals.kind_stage", stage.id, {"tasks": source.replace("\n", " ")})
        assert "tasks" in exc.value.errors, (name, exc.value.errors)


@needs("deals")
def test_a_stored_bomb_never_stops_a_deal_create(w):
    """A bomb that reached ``kind_stage.tasks`` by another route: another
    manager's deal of that kind is still created, with a plain task title."""
    crm = w.admin
    Kind, KindStage = crm.model("deals.kind"), crm.model("deals.kind_stage")
    process_kinds = [k.id for k in Kind.select().where(Kind.process == "process")]
    stages = list(KindStage.select().where(KindStage.kind.in_(process_kinds)))
    if not stages:
        pytest.skip("the demo has no process-driven deal kind")
    Deal = crm.model("deals.deal")
    source = Deal.select().where(Deal.kind.in_(process_kinds)).first()
    saved = {s.id: s.tasks for s in stages}
    try:
        for name in ("power", "dict-doubling", "recursive-macro", "output"):
            KindStage.update(tasks=BOMBS[name]).where(KindStage.id.in_(list(saved))).execute()
            payload = writable_row(w, "deals.deal", source)
            for key in ("stage", "status", "code", "closed_at", "result", "loss_reason"):
                payload.pop(key, None)
            deal = w.spy.create("deals.deal", payload) if w.spy.can("create", "deals.deal") \
                else crm.create("deals.deal", payload)
            assert crm.get("deals.deal", deal.id)
    finally:
        for sid, tasks in saved.items():
            KindStage.update(tasks=tasks).where(KindStage.id == sid).execute()
