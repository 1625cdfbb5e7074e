"""A user's calendar feed: the SHA-256 of the secret in its URL (never the
secret). A frozen copy of the model as it was."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = "core_user"

    class CalendarFeed(Model):
        user = ForeignKeyField(User, unique=True, on_delete="CASCADE")
        secret_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "core_calendar_feed"

    db.create_tables([CalendarFeed])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "core_calendar_feed"')
