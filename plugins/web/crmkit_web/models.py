"""The web plugin's tables, prefixed ``web_``."""
import peewee as pw

from crmkit import BaseModel, UtcDateTimeField, utcnow


class IdempotentResponse(BaseModel):
    """The response given to a ``POST`` with an ``Idempotency-Key``, kept
    per user for a day so that a retried request gets it again instead of
    making a second record."""

    login = pw.CharField(max_length=64)
    key = pw.CharField(max_length=200)
    fingerprint = pw.CharField(max_length=64)      # SHA-256 of method, path and body
    status = pw.IntegerField()
    headers = pw.TextField(default="{}")           # JSON: Content-Type, Location, ETag
    body = pw.BlobField()
    created_at = UtcDateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "web_idempotent_response"
        indexes = ((("login", "key"), True),)
