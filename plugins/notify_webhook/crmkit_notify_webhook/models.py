"""Tables of the webhook plugin, prefixed ``notify_webhook_``.

A subscription's signing secrets live in a table of their own, not on the
entity: nothing that shows records (lists, exports, the API, webhook
payloads) can show a secret; it is printed once, when made.
"""
import peewee as pw

from crmkit import BaseModel, RecordModel, UtcDateTimeField, utcnow


class Subscription(RecordModel):
    """A URL subscribed to events, owned by the administrator who made it."""

    url = pw.CharField(max_length=2000)
    events = pw.TextField()                      # comma-separated names or patterns: "deals.deal.*, *.created"
    description = pw.CharField(max_length=300, default="")
    active = pw.BooleanField(default=True, index=True)
    owner = pw.CharField(max_length=64, default="")   # login of the administrator who made it
    failure_count = pw.IntegerField(default=0)   # consecutive failed attempts
    disabled_at = UtcDateTimeField(null=True)
    disabled_reason = pw.CharField(max_length=300, default="")
    last_success_at = UtcDateTimeField(null=True)
    last_failure_at = UtcDateTimeField(null=True)
    last_error = pw.CharField(max_length=500, default="")

    class Meta:
        table_name = "notify_webhook_subscription"


class Secret(BaseModel):
    """A signing secret; after a rotation the old one signs too until it expires."""

    subscription = pw.ForeignKeyField(Subscription, on_delete="CASCADE", index=True)
    secret = pw.CharField(max_length=120)
    created_at = UtcDateTimeField(default=utcnow)
    expires_at = UtcDateTimeField(null=True)     # None: the current secret

    class Meta:
        table_name = "notify_webhook_secret"
