"""A third party's entity gets every generic page with no page of its own:
``docs/example_plugin`` (crmkit-visits), installed with pip into a folder,
served by ``crmkit serve`` with that folder on its path, used through forms
over HTTP: list, create (refused with the field named, then accepted), card
with its references and history, edit, mark for deletion, its report."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crmkit_web.testing import Server
from crmkit_web.ui.testing import WebClient

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def visits_site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("source") / "example_plugin"   # pip builds in the tree: not in ours
    shutil.copytree(ROOT / "docs" / "example_plugin", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(source)], check=True)
    url = f"sqlite:///{tmp_path_factory.mktemp('visits') / 'visits.db'}"
    env = {"PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]),
           "CRMKIT_DISABLE_PLUGINS": ""}
    script = ("import crmkit; from crmkit.core.passwords import set_password\n"
              f"crm = crmkit.open({url!r})\n"
              "assert 'visits' in [p.name for p in crm.plugins]\n"
              "crm.create('core.user', {'login': 'boss', 'name': 'Boss', 'roles': 'administrator'})\n"
              "set_password(crm, 'boss', 'the boss password')\n"
              "crm.create('core.partner', {'name': 'Протон'})\n")
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, **env})
    server = Server(url, env=env, log=tmp_path_factory.mktemp("log") / "server.log")
    yield server
    server.stop()


def test_a_third_party_entity_gets_list_card_forms_and_report(visits_site):
    c = WebClient(visits_site.base)
    assert c.sign_in("boss", "the boss password").status == 302
    assert "Visit" in c.get("/").text                                # in the menu
    assert c.get("/e/visits.visit/").status == 200
    form = c.get("/e/visits.visit/new")
    assert form.status == 200 and 'name="kilometres"' in form.text and 'name="partner"' in form.text
    refused = c.submit("/e/visits.visit/new", fields={"partner": "1", "date": "2015-03-04", "kilometres": "40"})
    assert refused.status == 422 and 'id="err-note"' in refused.text and "say why you drove" in refused.text
    assert "V-0000" not in c.get("/e/visits.visit/").text           # nothing written
    bad = c.submit("/e/visits.visit/new", fields={"partner": "1", "date": "soon", "kilometres": "-5"})
    assert bad.status == 422 and 'id="err-date"' in bad.text and 'id="err-kilometres"' in bad.text
    done = c.submit("/e/visits.visit/new", fields={"partner": "1", "date": "2015-03-04", "kilometres": "40",
                                                   "note": "на склад"})
    assert done.status == 200 and "V-00000001" in done.text
    assert 'href="/e/core.partner/1"' in done.text                  # the reference is a link
    partner = c.get("/e/core.partner/1")
    assert "/e/visits.visit/?partner=1" in partner.text             # records that refer to it
    edited = c.submit("/e/visits.visit/1/edit", fields={"partner": "1", "date": "2015-03-05", "kilometres": "12",
                                                        "note": "на склад и обратно"})
    assert edited.status == 200 and "на склад и обратно" in edited.text
    history = c.get("/e/visits.visit/1?tab=history").text
    assert "kilometres" in history.lower() and "40" in history and "12" in history
    report = c.get("/reports/visits.by_partner")
    assert report.status == 200 and "<svg" in report.text
    assert c.get("/reports/visits.by_partner?format=csv").text.startswith("partner,visits")
    c.submit("/e/visits.visit/1", action="/e/visits.visit/1/mark", fields={"mark": "1"})
    assert "marked for deletion" in c.get("/e/visits.visit/1").text
    assert "(no rows)" in c.get("/reports/visits.by_partner").text   # reports skip marked records
