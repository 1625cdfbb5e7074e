"""Sent-SMS details and incoming replies. A frozen copy of the models."""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Sent(Base):
        outbox_id = IntegerField(index=True)
        phone = CharField(max_length=20, index=True)
        provider = CharField(max_length=50)
        provider_id = CharField(max_length=200, default="")
        encoding = CharField(max_length=8)
        segments = IntegerField()
        sent_at = DateTimeField(null=True)

        class Meta:
            table_name = "notify_sms_sent"

    class Reply(Base):
        phone = CharField(max_length=20, index=True)
        text = TextField(default="")
        action = CharField(max_length=16)
        source = CharField(max_length=300, default="")
        received_at = DateTimeField(null=True)

        class Meta:
            table_name = "notify_sms_reply"

    db.create_tables([Sent, Reply])
