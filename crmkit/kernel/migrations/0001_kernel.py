"""Kernel tables: sequences, outbox, suppression list, change history."""

from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Sequence(Base):
        name = CharField(max_length=100, primary_key=True)
        value = BigIntegerField(default=0)

        class Meta:
            table_name = "kernel_sequence"

    class OutboxMessage(Base):
        channel = CharField(max_length=32, index=True)
        recipient = CharField(max_length=320)
        recipient_name = CharField(max_length=200, default="")
        subject = CharField(max_length=998, default="")
        body_text = TextField(default="")
        body_html = TextField(null=True)
        meta = TextField(default="{}")
        source = CharField(max_length=100, default="", index=True)
        partner_id = IntegerField(null=True, index=True)
        contact_id = IntegerField(null=True)
        idempotency_key = CharField(max_length=200, unique=True)
        state = CharField(max_length=16, default="queued")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(index=True)
        claimed_at = DateTimeField(null=True)
        last_error = TextField(default="")
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)

        class Meta:
            table_name = "kernel_outbox"
            indexes = ((("state", "next_attempt_at"), False),)

    class Suppression(Base):
        channel = CharField(max_length=32)
        address = CharField(max_length=320)
        reason = CharField(max_length=200, default="")
        created_at = DateTimeField()

        class Meta:
            table_name = "kernel_suppression"
            indexes = ((("channel", "address"), True),)

    class Change(Base):
        entity = CharField(max_length=100)
        record_id = IntegerField()
        action = CharField(max_length=16)
        field = CharField(max_length=100, default="")
        old = TextField(null=True)
        new = TextField(null=True)
        user = CharField(max_length=100)
        at = DateTimeField()

        class Meta:
            table_name = "kernel_change"
            indexes = ((("entity", "record_id"), False),)

    db.create_tables([Sequence, OutboxMessage, Suppression, Change])
