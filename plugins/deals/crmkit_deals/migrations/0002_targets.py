"""Sales targets per month or quarter (deals_target). A frozen copy of the model as it was."""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "core_user"

    class Department(Base):
        class Meta:
            table_name = "core_department"

    class Kind(Base):
        class Meta:
            table_name = "deals_kind"

    class Target(Base):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)
        period = CharField(max_length=8, default="month")
        period_start = DateField()
        responsible = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        department = ForeignKeyField(Department, null=True, on_delete="RESTRICT")
        kind = ForeignKeyField(Kind, null=True, on_delete="RESTRICT")
        amount = DecimalField(max_digits=15, decimal_places=2, null=True)
        currency = CharField(max_length=3, default="RUB")
        won_deals = IntegerField(null=True)
        comment = TextField(default="")

        class Meta:
            table_name = "deals_target"
            indexes = ((("period_start", "period"), False),)

    db.create_tables([Target])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "deals_target"')
