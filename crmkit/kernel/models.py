"""The kernel's own tables: code sequences, the outbox, the suppression
list and the change history. Prefixed ``kernel_``."""
import peewee as pw

from .db import BaseModel, UtcDateTimeField, utcnow

OUTBOX_STATES = ("queued", "sending", "sent", "failed", "unknown", "skipped", "cancelled")


class Sequence(BaseModel):
    """The last number given for each code series (``core.partner`` ...)."""

    name = pw.CharField(max_length=100, primary_key=True)
    value = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "kernel_sequence"


class OutboxMessage(BaseModel):
    """One outbound message, written before it is sent."""

    channel = pw.CharField(max_length=32, index=True)
    recipient = pw.CharField(max_length=320)
    recipient_name = pw.CharField(max_length=200, default="")
    subject = pw.CharField(max_length=998, default="")
    body_text = pw.TextField(default="")
    body_html = pw.TextField(null=True)
    meta = pw.TextField(default="{}")         # JSON: headers, attachments, message_id ...
    source = pw.CharField(max_length=100, default="", index=True)  # "marketing.mailing:5"
    partner_id = pw.IntegerField(null=True, index=True)
    contact_id = pw.IntegerField(null=True)
    idempotency_key = pw.CharField(max_length=200, unique=True)
    state = pw.CharField(max_length=16, default="queued", choices=[(s, s) for s in OUTBOX_STATES])
    attempts = pw.IntegerField(default=0)
    next_attempt_at = UtcDateTimeField(default=utcnow, index=True)
    claimed_at = UtcDateTimeField(null=True)
    claim_token = pw.CharField(max_length=32, null=True, index=True)   # the claiming run's fencing token
    last_error = pw.TextField(default="")
    created_at = UtcDateTimeField(default=utcnow)
    sent_at = UtcDateTimeField(null=True)

    class Meta:
        table_name = "kernel_outbox"
        indexes = ((("state", "next_attempt_at"), False),)


class Suppression(BaseModel):
    """Addresses that must not be sent to, checked at send time."""

    channel = pw.CharField(max_length=32)
    address = pw.CharField(max_length=320)
    reason = pw.CharField(max_length=200, default="")
    created_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "kernel_suppression"
        indexes = ((("channel", "address"), True),)


class Change(BaseModel):
    """One field's change of one record: the audit trail (or several fields'
    of one record together, ``field`` their names joined by commas and
    ``old``/``new`` JSON lists: ``Crm.record_changes``; ``Crm.history``
    reads such a row back as one per field)."""

    entity = pw.CharField(max_length=100)
    record_id = pw.IntegerField()
    action = pw.CharField(max_length=16)      # create, update, mark, unmark, delete, erase
    field = pw.CharField(max_length=100, default="")
    old = pw.TextField(null=True)
    new = pw.TextField(null=True)
    user = pw.CharField(max_length=100)
    at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "kernel_change"
        indexes = ((("entity", "record_id"), False),)


class MatchKey(BaseModel):
    """The keys duplicate rules give each record (an INN, a phone, a name
    token): records sharing a key are candidates. Kept fresh by the rules'
    owners, so a search is a GROUP BY and a match an index look-up."""

    entity = pw.CharField(max_length=100)
    rule = pw.CharField(max_length=50)
    key = pw.CharField(max_length=320)
    record_id = pw.IntegerField()
    text = pw.CharField(max_length=300, default="")   # what fuzzy rules compare

    class Meta:
        table_name = "kernel_match_key"
        indexes = ((("entity", "rule", "key"), False), (("entity", "record_id"), False))


class Merge(BaseModel):
    """A record merged into another: old codes and ids resolve to the survivor."""

    entity = pw.CharField(max_length=100)
    merged_id = pw.IntegerField()
    survivor_id = pw.IntegerField()
    user = pw.CharField(max_length=100)
    at = UtcDateTimeField(default=utcnow)
    taken = pw.TextField(default="{}")     # JSON: the fields whose value came from the merged record

    class Meta:
        table_name = "kernel_merge"
        indexes = ((("entity", "merged_id"), True),)


class DuplicateSetting(BaseModel):
    """An administrator's choice for one duplicate rule: how strict, how close."""

    entity = pw.CharField(max_length=100)
    rule = pw.CharField(max_length=50)
    mode = pw.CharField(max_length=8, default="warn")     # warn, strict, off
    threshold = pw.FloatField(null=True)
    changed_by = pw.CharField(max_length=100, default="")
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "kernel_duplicate_setting"
        indexes = ((("entity", "rule"), True),)


class Attribute(BaseModel):
    """An additional attribute an administrator added to an entity (1C's
    дополнительный реквизит): its name, kind and labels."""

    entity = pw.CharField(max_length=100)
    name = pw.CharField(max_length=63)
    kind = pw.CharField(max_length=16)        # string number money date boolean choice reference
    label = pw.CharField(max_length=200, default="")
    label_ru = pw.CharField(max_length=200, default="")
    choices = pw.TextField(default="[]")      # JSON list: the values of a choice list
    target = pw.CharField(max_length=100, default="")    # the entity a reference points at
    currency = pw.CharField(max_length=3, default="")    # a money attribute's currency
    created_by = pw.CharField(max_length=100, default="")
    created_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "kernel_attribute"
        indexes = ((("entity", "name"), True),)


class AttributeValue(BaseModel):
    """One record's value of one attribute, in the column of its kind: a
    filter is an index range over (attribute, value, record)."""

    attribute = pw.ForeignKeyField(Attribute, on_delete="CASCADE")
    entity = pw.CharField(max_length=100)
    record_id = pw.IntegerField()
    value_text = pw.CharField(max_length=500, null=True)
    value_number = pw.DecimalField(max_digits=28, decimal_places=6, null=True)
    value_date = pw.DateField(null=True)

    class Meta:
        table_name = "kernel_attribute_value"
        indexes = ((("attribute", "record_id"), True),
                   (("attribute", "value_text", "record_id"), False),
                   (("attribute", "value_number", "record_id"), False),
                   (("attribute", "value_date", "record_id"), False),
                   (("entity", "record_id"), False))
