"""Contents outbox messages refer to (a mailing's images by their SHA-256),
kept until the message is sent. A frozen copy of the model as it was."""
from peewee import *


def up(migrator, db):
    class Hold(Model):
        sha256 = CharField(max_length=64)
        message_id = IntegerField(index=True)

        class Meta:
            database = db
            table_name = "files_hold"
            primary_key = CompositeKey("sha256", "message_id")

    db.create_tables([Hold])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "files_hold"')
