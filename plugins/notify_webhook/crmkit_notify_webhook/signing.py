"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the
signature is ``v1,`` + base64(HMAC-SHA256(key, content)), where the key is
the base64-decoded part of the secret after ``whsec_``. Several signatures
(space-separated) let a receiver accept either secret during a rotation.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets
import time

PREFIX = "whsec_"
TOLERANCE_S = 300


def new_secret() -> str:
    """A fresh secret: ``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret; ValueError naming the problem when it is not one."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(PREFIX):], validate=True)
    except ValueError:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 bytes (32 recommended)")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_key(secret), content, hashlib.sha256).digest()).decode()


def headers(secrets: list[str], msg_id: str, body: bytes, timestamp: int | None = None) -> dict:
    """The three Standard Webhooks headers, signed with every secret given."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets)}


def verify(secret: str, headers: dict, body: bytes, now: float | None = None,
           tolerance: int = TOLERANCE_S) -> bool:
    """What a receiver does: the timestamp is recent and one signature matches."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, given = (lower.get(n, "") for n in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    try:
        timestamp = int(stamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in given.split())
