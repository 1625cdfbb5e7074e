"""A real webhook receiver on 127.0.0.1 (http.server in a thread): it checks
every signature, answers as scripted (status codes, slowness, redirects),
and counts connections and duplicate webhook-ids (see webhook_fixtures)."""
import pytest

from webhook_fixtures import Receiver


@pytest.fixture
def receiver(monkeypatch):
    """The receiver, with loopback explicitly allowed (it is refused by default)."""
    rc = Receiver()
    rc.thread.start()
    monkeypatch.setenv("CRMKIT_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("CRMKIT_WEBHOOK_TIMEOUT", "2")
    monkeypatch.setenv("CRMKIT_WEBHOOK_CONNECT_TIMEOUT", "1")
    for name in ("DISABLE_AFTER", "MAX_RESPONSE"):
        monkeypatch.delenv(f"CRMKIT_WEBHOOK_{name}", raising=False)
    yield rc
    rc.server.shutdown()
    rc.server.server_close()
