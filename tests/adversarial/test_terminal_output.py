"""Control characters never reach the terminal (issue 15 item 17).

Text fields refuse control characters on input (``test_poison_sweep.py``);
this covers rows that hold them anyway (older data, raw SQL, another
program). Every text field of every entity is poisoned with OSC/CSI
escapes, a C1 introducer, a carriage return and a bidi override, then
``list`` and ``show`` of every entity, every report's table, every
argument-free read command and the plugins' card commands run: their output
holds none of those characters (``crmkit.kernel.values.terminal_safe``,
used by ``format_value`` and by the CLI's output stream, shows them as ``\\u001b`` escapes).

Rendering does not depend on the database, so this runs on SQLite only.
"""
from __future__ import annotations

import peewee as pw
import pytest

from crmkit.kernel.values import TERMINAL_UNSAFE

from .conftest import INSTALLED, run_cli, use
from .test_destructive_commands import COMMANDS, DESTRUCTIVE
from .world import ENTITIES, REGISTRY, World

pytestmark = pytest.mark.plugins(*INSTALLED)

POISON = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\r\u202e"
READ_VERBS = {"list", "show", "status", "settings", "mine", "due", "overdue", "stages", "consents", "plugins",
              "entities", "tree", "history", "members"}
SKIP = {"db status"}  # migration names only


@pytest.fixture(scope="module")
def world(adv_url):
    if not adv_url.startswith("sqlite"):
        pytest.skip("terminal output does not depend on the database")
    w = World(adv_url).build()
    crm = w.admin
    for entity in ENTITIES:
        model = REGISTRY.entity(entity).model
        spec = REGISTRY.entity(entity)
        values = {}
        for name, field in model._meta.fields.items():
            if isinstance(field, (pw.CharField, pw.TextField)) and not field.unique and not field.choices \
                    and name not in (spec.lookup, spec.code_field, "subject_type", "roles", "login", "currency"):
                width = field.max_length if isinstance(field, pw.CharField) and field.max_length else 200
                values[field] = (POISON + "x")[:width]
        if values:
            model.update(values).execute()
    yield w
    crm.close()


@pytest.fixture
def w(world):
    use(world.admin)
    return world


def _clean(result, what):
    assert not TERMINAL_UNSAFE.search(result.output), (what, repr(result.output[:400]))


@pytest.mark.parametrize("entity", ENTITIES)
def test_list_and_show_neutralise_control_characters(w, entity):
    crm = w.admin
    result = run_cli(crm, w.url, "list", entity, "--all")
    _clean(result, f"list {entity}")
    if entity == "core.partner":  # the poison is there, shown as escapes
        assert "\\u001b]0;PWNED\\u0007" in result.output, result.output[:400]
    rows = crm.find(entity, limit=1, include_marked=True)
    if rows:
        _clean(run_cli(crm, w.url, "show", entity, rows[0].get_id()), f"show {entity}")


REPORTS = sorted(REGISTRY.reports)


@pytest.mark.parametrize("report", REPORTS)
def test_report_tables_neutralise_control_characters(w, report):
    result = run_cli(w.admin, w.url, "report", "run", report)
    _clean(result, report)


def test_read_commands_neutralise_control_characters(w):
    crm = w.admin
    ran = []
    for path, command in sorted(COMMANDS.items()):
        if path in DESTRUCTIVE or path in SKIP or path.split()[-1] not in READ_VERBS:
            continue
        if any(p.required for p in command.params):
            continue
        _clean(run_cli(crm, w.url, *path.split()), path)
        ran.append(path)
    assert len(ran) >= 5, ran


def test_card_commands_neutralise_control_characters(w):
    crm = w.admin
    partner = crm.find("core.partner", limit=1)[0]
    calls = [("partner", "tree", partner.code), ("partner", "history", partner.code)]
    if "deals" in INSTALLED:
        calls.append(("deals", "show", crm.find("deals.deal", limit=1)[0].code))
        calls.append(("deals", "list"))
    if "claims" in INSTALLED:
        calls.append(("claims", "show", crm.find("claims.claim", limit=1)[0].code))
        calls.append(("claims", "list"))
    if "marketing" in INSTALLED:
        calls.append(("marketing", "event", "show", crm.find("marketing.event", limit=1)[0].code))
    for call in calls:
        _clean(run_cli(crm, w.url, *call), " ".join(map(str, call)))
