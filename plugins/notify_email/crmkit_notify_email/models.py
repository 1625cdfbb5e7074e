"""Tables of the email plugin, prefixed ``notify_email_``."""
import peewee as pw

from crmkit import BaseModel, UtcDateTimeField, utcnow

INBOUND_STATES = ("registered", "unknown", "assigned", "malformed", "failed")


class Inbound(BaseModel):
    """One incoming message as read from a mailbox.

    ``key`` is the Message-ID (or a digest of the raw message when it has
    none) so that reading the same mailbox twice registers nothing twice.
    """

    key = pw.CharField(max_length=300, unique=True)
    message_id = pw.CharField(max_length=300, default="")
    sender = pw.CharField(max_length=320, default="", index=True)     # normalised address
    sender_name = pw.CharField(max_length=200, default="")
    subject = pw.CharField(max_length=998, default="")
    sent_at = UtcDateTimeField(null=True)
    text = pw.TextField(default="")
    in_reply_to = pw.TextField(default="")      # In-Reply-To then References, space-separated
    source = pw.CharField(max_length=500, default="")                  # file name or IMAP uid
    state = pw.CharField(max_length=16, choices=[(s, s) for s in INBOUND_STATES], index=True)
    error = pw.TextField(default="")
    partner_id = pw.IntegerField(null=True, index=True)
    interaction_id = pw.IntegerField(null=True)
    received_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "notify_email_inbound"


class Bounce(BaseModel):
    """Hard bounces per address; at the limit the address is suppressed."""

    address = pw.CharField(max_length=320, unique=True)
    count = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")
    last_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "notify_email_bounce"
