"""The visits table (a frozen copy of the model)."""
from peewee import *


def up(migrator, db):
    class Visit(Model):
        code = CharField(max_length=20, unique=True)
        partner = IntegerField(column_name="partner_id", index=True)   # core_partner.id
        date = DateField()
        kilometres = IntegerField(default=0)
        note = TextField(default="")
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "visits_visit"

    db.create_tables([Visit])
    # the partner reference is enforced by the kernel's write path
