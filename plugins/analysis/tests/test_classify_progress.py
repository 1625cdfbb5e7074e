"""Classification shows a real progress bar on a terminal, and nothing when
standard error is no terminal or the output is JSON (issue 20, "Progress")."""
import json
import re

import pytest

from crmkit.testing import run_cli

from helpers import partner, product, sale

pytestmark = [pytest.mark.plugins("analysis"), pytest.mark.sqlite_only]   # the subprocess reads the file


@pytest.fixture
def sold(crm, db_url):
    client, item = partner(crm, "C1", is_client=True), product(crm, "P1")
    sale(crm, client, item, "2015-10-01", 100)
    crm.close()
    return {"CRMKIT_DATABASE_URL": db_url, "CRMKIT_USER": "", "CRMKIT_DISABLE_PLUGINS": ""}


def test_a_terminal_gets_a_bar_to_the_end(sold):
    code, out, shown = run_cli(["analysis", "classify", "--as-of", "2015-11-02"], env=sold, terminal=True)
    assert code == 0, shown
    steps = re.findall(r"classifying (partners|products)\s+\[[#-]+\]\s+(\d)/6", shown)
    assert steps[0] == ("partners", "0") and steps[-1] == ("products", "6"), shown
    assert [int(n) for _, n in steps] == sorted(int(n) for _, n in steps)   # it only goes forward
    assert "100%" in shown and "run" in out


@pytest.mark.parametrize("terminal, fmt", [(False, "table"), (True, "json")])
def test_no_bar_off_a_terminal_or_in_json(sold, terminal, fmt):
    code, out, shown = run_cli(["analysis", "classify", "--as-of", "2015-11-02", "--format", fmt], env=sold,
                               terminal=terminal)
    assert code == 0 and shown.strip() == "", shown
    if fmt == "json":
        assert [row["kind"] for row in json.loads(out)] == ["partner", "product"]
