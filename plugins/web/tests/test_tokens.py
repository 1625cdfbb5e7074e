"""Personal API tokens: made by the CLI, shown once, stored as a SHA-256,
listed without secrets, revoked and expired at once; users manage their
own, administrators everyone's."""
import datetime as dt
import hashlib

import pytest

from crmkit import AccessDenied, NotFound, ValidationError, utcnow
from crmkit.core import models as m
from crmkit.core import tokens

pytestmark = pytest.mark.plugins("web")


@pytest.fixture
def users(crm):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    crm.create("core.user", {"login": "volkov", "name": "Волков", "roles": "manager"})
    return crm


def test_cli_creates_lists_and_revokes(users, cli):
    made = cli("user", "token", "create", "orlov", "--name", "site form", "--expires-days", "30")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("crmk_") and len(secret) == len("crmk_") + 43
    row = m.ApiToken.get()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.name, row.prefix, row.token_hash) and row.prefix == secret[:12]
    assert tokens.authenticate(secret) == "orlov"
    listed = cli("user", "token", "list", "orlov", "--format", "json")
    assert secret not in listed.output and "site form" in listed.output and "active" in listed.output
    assert cli("user", "token", "revoke", str(row.id)).exit_code == 0
    assert tokens.authenticate(secret) is None
    assert "revoked" in cli("user", "token", "list", "orlov").output


def test_expiry_deactivation_and_unknown(users):
    record, secret = tokens.create(users, "orlov", expires_days=1)
    assert tokens.authenticate(secret) == "orlov"
    assert m.ApiToken.get_by_id(record.id).last_used_at is not None
    m.ApiToken.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(m.ApiToken.id == record.id).execute()
    assert tokens.authenticate(secret) is None
    _, other = tokens.create(users, "volkov")
    users.update("core.user", "volkov", {"is_active": False})
    assert tokens.authenticate(other) is None
    for junk in ("", "crmk_", "crmk_" + "A" * 43, "x" * 10_000, None, "crmk_\x00"):
        assert tokens.authenticate(junk) is None
    with pytest.raises(ValidationError):
        tokens.create(users, "orlov", expires_days=0)


def test_users_manage_only_their_own(users, open_crm):
    orlov = open_crm(user="orlov", plugins=["web"])
    record, _ = tokens.create(orlov, "orlov")
    with pytest.raises(AccessDenied):
        tokens.create(orlov, "volkov")
    theirs, _ = tokens.create(users, "volkov")
    with pytest.raises(NotFound):
        tokens.revoke(orlov, theirs.id)
    assert [t["id"] for t in tokens.listing(orlov, "*")] == [record.id]
    assert {t["user"] for t in tokens.listing(users, "*")} == {"orlov", "volkov"}
    tokens.revoke(orlov, record.id)
