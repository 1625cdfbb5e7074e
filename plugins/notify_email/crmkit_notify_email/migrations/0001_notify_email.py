"""Incoming mail and hard-bounce counters. A frozen copy of the models."""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Inbound(Base):
        key = CharField(max_length=300, unique=True)
        message_id = CharField(max_length=300, default="")
        sender = CharField(max_length=320, default="", index=True)
        sender_name = CharField(max_length=200, default="")
        subject = CharField(max_length=998, default="")
        sent_at = DateTimeField(null=True)
        text = TextField(default="")
        in_reply_to = TextField(default="")
        source = CharField(max_length=500, default="")
        state = CharField(max_length=16, index=True)
        error = TextField(default="")
        partner_id = IntegerField(null=True, index=True)
        interaction_id = IntegerField(null=True)
        received_at = DateTimeField(null=True)

        class Meta:
            table_name = "notify_email_inbound"

    class Bounce(Base):
        address = CharField(max_length=320, unique=True)
        count = IntegerField(default=0)
        last_error = TextField(default="")
        last_at = DateTimeField(null=True)

        class Meta:
            table_name = "notify_email_bounce"

    db.create_tables([Inbound, Bounce])
