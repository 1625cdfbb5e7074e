"""The signature checks docs/webhooks.md and docs/api.md give (Python and openssl) accept a
real delivery and refuse a tampered one."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from webhook_fixtures import receiver, subscribe  # noqa: F401 (receiver: a fixture)

pytestmark = pytest.mark.plugins("notify_webhook")

DOCS = Path(__file__).resolve().parents[3] / "docs"
# the guide, and the API's own Webhooks section once the API docs exist
PAGES = ["webhooks.md"] + (["api.md"] if (DOCS / "api.md").exists() else [])


def snippet(page, lang):
    text = (DOCS / page).read_text(encoding="utf-8")
    if page == "api.md":
        assert "\n## Webhooks\n" in text, "docs/api.md has no Webhooks section"
        text = text[text.index("\n## Webhooks\n"):]
    return re.search(rf"```{lang}\n(.*?)```", text, re.S).group(1)


@pytest.fixture
def delivered(crm, receiver):
    subscribe(crm, receiver, "core.partner.created")
    crm.create("core.partner", {"name": "Дальстрой"})
    assert crm.outbox.deliver(channel="webhook")["sent"] == 1
    return receiver.secrets[0], receiver.requests[0]


@pytest.mark.parametrize("page", PAGES)
def test_the_python_check(delivered, page):
    secret, req = delivered
    scope = {}
    exec(snippet(page, "python"), scope)
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert scope["verify"](secret, headers, req["body"])
    assert not scope["verify"](secret, headers, req["body"] + b" ")


@pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl")
@pytest.mark.parametrize("page", PAGES)
def test_the_openssl_one_liner(delivered, tmp_path, page):
    secret, req = delivered
    (tmp_path / "body.json").write_bytes(req["body"])
    env = {"PATH": "/usr/bin:/bin", "SECRET": secret, "WEBHOOK_ID": req["headers"]["webhook-id"],
           "WEBHOOK_TIMESTAMP": req["headers"]["webhook-timestamp"]}
    out = subprocess.run(["sh", "-c", snippet(page, "sh")], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert "v1," + out == req["headers"]["webhook-signature"]
