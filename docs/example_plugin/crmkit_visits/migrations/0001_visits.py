"""The visits table, from a frozen copy of the model as it was then.

Never import the live model here: it changes later, this migration must
not. The copy holds every column: the model's own, and the three that
``RecordModel`` brings (deletion_mark, created_at, changed_at). The partner
reference is a plain integer column: the kernel's write path checks that
it exists and is visible (a ForeignKeyField would need a frozen copy of
core's partner too).
"""
from peewee import *


def up(migrator, db):
    class Visit(Model):
        code = CharField(max_length=20, unique=True)
        partner = IntegerField(column_name="partner_id", index=True)   # core_partner.id
        date = DateField()
        kilometres = IntegerField(default=0)
        note = TextField(default="")
        deletion_mark = BooleanField(default=False)   # from RecordModel
        created_at = DateTimeField(null=True)         # from RecordModel (UTC, no offset)
        changed_at = DateTimeField(null=True)         # from RecordModel

        class Meta:
            database = db
            table_name = "visits_visit"

    db.create_tables([Visit])
