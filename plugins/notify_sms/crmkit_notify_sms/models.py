"""Tables of the SMS plugin, prefixed ``notify_sms_``."""
import peewee as pw

from crmkit import BaseModel, UtcDateTimeField, utcnow


class Sent(BaseModel):
    """What the gateway said about a sent outbox message."""

    outbox_id = pw.IntegerField(index=True)
    phone = pw.CharField(max_length=20, index=True)
    provider = pw.CharField(max_length=50)
    provider_id = pw.CharField(max_length=200, default="")
    encoding = pw.CharField(max_length=8)
    segments = pw.IntegerField()
    sent_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "notify_sms_sent"


class Reply(BaseModel):
    """An incoming reply seen by the opt-out handler (an audit trail)."""

    phone = pw.CharField(max_length=20, index=True)
    text = pw.TextField(default="")
    action = pw.CharField(max_length=16)     # "optout" or "ignored"
    source = pw.CharField(max_length=300, default="")
    received_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "notify_sms_reply"
