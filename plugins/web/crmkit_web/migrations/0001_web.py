"""The web plugin's tables. A frozen copy of the models as they were."""
from peewee import *


def up(migrator, db):
    class IdempotentResponse(Model):
        login = CharField(max_length=64)
        key = CharField(max_length=200)
        fingerprint = CharField(max_length=64)
        status = IntegerField()
        headers = TextField(default="{}")
        body = BlobField()
        created_at = DateTimeField(null=True, index=True)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "web_idempotent_response"
            indexes = ((("login", "key"), True),)

    db.create_tables([IdempotentResponse])
