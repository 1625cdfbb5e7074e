"""Subscriptions and their signing secrets. A frozen copy of the models."""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Subscription(Base):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)
        url = CharField(max_length=2000)
        events = TextField()
        description = CharField(max_length=300, default="")
        active = BooleanField(default=True, index=True)
        owner = CharField(max_length=64, default="")
        failure_count = IntegerField(default=0)
        disabled_at = DateTimeField(null=True)
        disabled_reason = CharField(max_length=300, default="")
        last_success_at = DateTimeField(null=True)
        last_failure_at = DateTimeField(null=True)
        last_error = CharField(max_length=500, default="")

        class Meta:
            table_name = "notify_webhook_subscription"

    class Secret(Base):
        subscription = ForeignKeyField(Subscription, on_delete="CASCADE", index=True)
        secret = CharField(max_length=120)
        created_at = DateTimeField(null=True)
        expires_at = DateTimeField(null=True)

        class Meta:
            table_name = "notify_webhook_secret"

    db.create_tables([Subscription, Secret])
