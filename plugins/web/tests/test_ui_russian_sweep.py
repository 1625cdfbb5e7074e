"""The web pages in the Russian sweep: a Russian-speaking user (their
``core.user.lang`` is ru; the browser asks for English) signs in over the
demo base and fetches every entity's generic list, card (and each tab the
card links), history, new and edit forms, the board, the reports index and
every report page; none may contain a
word a catalogue translates (a msgid) or a choice code with a label, left
in English. The words and the check are the CLI sweep's own
(``tests/test_russian_sweep.py``); what people typed (stored values) is not
checked. SQLite only: the words do not depend on the database."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import crmkit
from web_fixtures import start_server  # noqa: F401  (fixtures)
from crmkit_web.ui.testing import WebClient, load_demo

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:        # the repository's tests package, when pytest runs from elsewhere
    sys.path.insert(0, str(ROOT))
from tests.test_russian_sweep import _page_text, english_words, left_in_english, stored_words  # noqa: E402

EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture(scope="module")
def site(tmp_path_factory, start_server):
    url = f"sqlite:///{tmp_path_factory.mktemp('sweep') / 'sweep.db'}"
    load_demo(url)
    crm = crmkit.open(url, migrate=False)
    crm.update("core.user", "boss", {"lang": "ru"})
    data = stored_words(crm)
    firsts = {entity: [r.get_id() for r in crm.find(entity, limit=1)] for entity in crm.registry.entities}
    reports = sorted(crm.registry.reports)
    crm.close()
    server = start_server(url)
    client = WebClient(server.base)
    assert client.sign_in("boss").status == 302
    return {"client": client, "data": data, "firsts": firsts, "reports": reports}


@pytest.fixture(scope="module")
def words():
    return english_words()[0]


TAB = re.compile(r'href="(/e/[a-z_.]+/\d+\?tab=[a-z_]+)"')


def sweep(site, words, paths, tabs=False):
    """Fetch ``paths`` (and, with ``tabs``, every tab a card links): the
    English words left on each, and the pages that did not answer 200."""
    left, failed, seen = {}, {}, set()
    todo = list(paths)
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        page = site["client"].get(path, headers=EN)
        if page.status != 200:
            failed[path] = page.status
            continue
        assert 'lang="ru"' in page.text[:200], path
        if found := left_in_english(_page_text(page.text), words, site["data"]):
            left[path] = found
        if tabs:
            todo += [t for t in TAB.findall(page.text) if t not in seen and not t.endswith("=history")]
    return left, failed


def test_every_entity_page_in_russian(site, words):
    paths = []
    for entity, first in site["firsts"].items():
        paths += [f"/e/{entity}/", f"/e/{entity}/new"]
        if first:
            paths += [f"/e/{entity}/{first[0]}", f"/e/{entity}/{first[0]}?tab=history",
                      f"/e/{entity}/{first[0]}/edit"]
    assert len(site["firsts"]) > 40 and len(paths) > 150
    left, failed = sweep(site, words, paths, tabs=True)
    assert failed == {}
    assert left == {}, json.dumps(left, ensure_ascii=False, indent=1)


def test_every_report_page_in_russian(site, words):
    paths = ["/", "/reports/", "/preferences", "/deals/board"] + [f"/reports/{r}" for r in site["reports"]]
    assert len(site["reports"]) > 20
    left, failed = sweep(site, words, paths)
    assert failed == {}
    assert left == {}, json.dumps(left, ensure_ascii=False, indent=1)


def test_the_sweep_sees_english_left_behind(site, words):
    """The same pages for a user reading English are full of the words the
    sweep looks for: the check can fail."""
    english = WebClient(site["client"].base)
    assert english.sign_in("orlov").status == 302
    page = english.get("/e/claims.claim/1", headers=EN)
    assert 'lang="en"' in page.text[:200]
    found = left_in_english(_page_text(page.text), words, site["data"])
    assert {"Partners", "Segments", "registered"} <= set(found), found


def test_every_action_form_in_russian(tmp_path):
    """Each action button and form a card shows (title, description, the
    labels of its inputs), for every on-record action of every plugin: the
    demo base has no record of some entities (a webhook subscription), so
    the page sweep above cannot reach all of them."""
    from crmkit_web.ui import params as P
    crm = crmkit.open(f"sqlite:///{tmp_path / 'forms.db'}", create=True, lang="ru")
    cyrillic = re.compile("[А-Яа-яЁё]")
    left = {}
    for spec in crm.registry.actions.values():
        if not spec.on_record:
            continue
        fields = P.param_fields(crm, spec.params, admin_only=(), contexts=(spec.name, spec.entity))
        said = [crmkit.translate(spec.title or spec.name, "ru", context=spec.name), *(f.label for f in fields)]
        if spec.description:
            said.append(crmkit.translate(spec.description, "ru", context=spec.name))
        if bad := [text for text in said if not cyrillic.search(text)]:
            left[spec.name] = bad
    crm.close()
    assert left == {}
