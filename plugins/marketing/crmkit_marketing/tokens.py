"""Signed unsubscribe tokens and the List-Unsubscribe data of RFC 2369/8058.

A token carries ``channel|address|group id`` and an HMAC-SHA256 of it; the
secret is ``$CRMKIT_SECRET`` or one generated once and kept in the plugin's
own table. Verification recomputes the MAC and compares in constant time.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from urllib.parse import quote

import peewee as pw

from crmkit import ValidationError, transaction

from . import models as m

SECRET_NAME = "unsubscribe"
DEFAULT_URL = "https://crm.example/unsubscribe"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def secret() -> bytes:
    env = os.environ.get("CRMKIT_SECRET")
    if env:
        return env.encode("utf-8")
    found = m.Secret.get_or_none(m.Secret.name == SECRET_NAME)
    if found is None:
        with transaction():
            try:
                m.Secret.insert(name=SECRET_NAME, value=secrets.token_hex(32)).on_conflict_ignore().execute()
            except pw.IntegrityError:
                pass
        found = m.Secret.get(m.Secret.name == SECRET_NAME)
    return found.value.encode("ascii")


def _mac(payload: bytes) -> bytes:
    return hmac.new(secret(), b"crmkit-marketing-unsubscribe\x00" + payload, hashlib.sha256).digest()


def make_token(channel: str, address: str, group_id: int | None) -> str:
    payload = f"{channel}|{address}|{group_id or ''}".encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(payload))}"


def read_token(token: str) -> dict:
    """The token's channel, address and group id; ValidationError if it was tampered with."""
    try:
        body, sig = str(token).strip().split(".", 1)
        payload = _unb64(body)
    except (ValueError, TypeError):
        raise ValidationError({"token": "malformed unsubscribe token"}) from None
    # the signature as made, character for character: base64 would also accept
    # variants of its last character (unused bits), so bytes are not compared
    if not hmac.compare_digest(sig.encode("utf-8"), _b64(_mac(payload)).encode("ascii")):
        raise ValidationError({"token": "invalid unsubscribe token (bad signature)"})
    channel, address, group = payload.decode("utf-8").split("|", 2)
    return {"channel": channel, "address": address, "group": int(group) if group else None}


def unsubscribe_url(token: str) -> str:
    """The link people follow: ``$CRMKIT_PUBLIC_URL/u/<token>``, the web
    application's one-click endpoint (RFC 8058); without a public URL, the
    page named by ``$CRMKIT_UNSUBSCRIBE_URL`` with ``?t=<token>``."""
    public = os.environ.get("CRMKIT_PUBLIC_URL", "").rstrip("/")
    if public:
        return f"{public}/u/{quote(token, safe='')}"
    base = os.environ.get("CRMKIT_UNSUBSCRIBE_URL", DEFAULT_URL)
    return f"{base}{'&' if '?' in base else '?'}t={quote(token)}"


def list_unsubscribe(token: str) -> dict:
    """Meta for the email channel: List-Unsubscribe and one-click POST (RFC 8058)."""
    value = f"<{unsubscribe_url(token)}>"
    mailto = os.environ.get("CRMKIT_UNSUBSCRIBE_MAILTO")
    if mailto:
        value += f", <mailto:{mailto}?subject={quote('unsubscribe ' + token)}>"
    return {"list_unsubscribe": value, "list_unsubscribe_post": "List-Unsubscribe=One-Click"}
