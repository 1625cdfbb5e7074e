"""``outbox deliver`` shows a progress bar of the messages it delivers on a
terminal, and nothing off one (issue 20, "Progress")."""
import re

import pytest

from crmkit.testing import run_cli

pytestmark = [pytest.mark.plugins("notify_email"), pytest.mark.sqlite_only]   # the subprocess reads the file


@pytest.fixture
def queued(crm, db_url, smtp_server):
    for i in range(7):
        crm.outbox.queue("email", f"client{i}@example.com", subject=f"Письмо {i}", text="Здравствуйте")
    crm.close()
    return {"CRMKIT_DATABASE_URL": db_url, "CRMKIT_USER": ""}


def test_a_terminal_gets_a_bar_of_the_messages(queued, smtp_server):
    code, out, shown = run_cli(["outbox", "deliver"], env=queued, terminal=True)
    assert code == 0 and "sent=7" in out, (out, shown)
    counts = [int(n) for n in re.findall(r"delivering\s+\[[#-]+\]\s+(\d)/7", shown)]
    assert counts[0] == 0 and counts[-1] == 7 and counts == sorted(counts), shown
    assert len(smtp_server.handler.received) == 7


def test_no_bar_off_a_terminal(queued, smtp_server):
    code, out, err = run_cli(["outbox", "deliver"], env=queued)
    assert code == 0 and "sent=7" in out and err.strip() == "", err
