"""Lead tables: disqualification reasons and leads. A frozen copy of the
models as they were; core tables are named only to point foreign keys at them."""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class AccessGroup(Base):
        class Meta:
            table_name = "core_access_group"

    class Partner(Base):
        class Meta:
            table_name = "core_partner"

    class Contact(Base):
        class Meta:
            table_name = "core_contact"

    class User(Base):
        class Meta:
            table_name = "core_user"

    class Record(Base):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

    class DisqualifyReason(Record):
        name = CharField(max_length=200, unique=True)
        comment = TextField(default="")

        class Meta:
            table_name = "leads_disqualify_reason"

    class Lead(Record):
        code = CharField(max_length=20, unique=True)
        person = CharField(max_length=200, default="")
        company = CharField(max_length=200, default="")
        position = CharField(max_length=150, default="")
        email = CharField(max_length=254, default="")
        phone = CharField(max_length=32, default="")
        website = CharField(max_length=300, default="")
        address = CharField(max_length=500, default="")
        demand = TextField(default="")
        potential = DecimalField(max_digits=15, decimal_places=2, default=0)
        currency = CharField(max_length=3, default="RUB")
        responsible = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
        access_group = ForeignKeyField(AccessGroup, null=True, on_delete="RESTRICT", backref="+")
        status = CharField(max_length=16, default="new", index=True)
        disqualify_reason = ForeignKeyField(DisqualifyReason, null=True, on_delete="RESTRICT")
        received_at = DateTimeField(index=True)
        closed_at = DateTimeField(null=True)
        partner = ForeignKeyField(Partner, null=True, on_delete="RESTRICT", backref="+")
        contact = ForeignKeyField(Contact, null=True, on_delete="RESTRICT", backref="+")
        deal_id = IntegerField(null=True)
        comment = TextField(default="")

        class Meta:
            table_name = "leads_lead"

    db.create_tables([DisqualifyReason, Lead])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "leads_lead"')
    db.execute_sql('DROP TABLE IF EXISTS "leads_disqualify_reason"')
