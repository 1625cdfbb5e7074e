"""Claims tables: causes, claims, participants, work plan stages, status
history. A frozen copy of the models as they were; core tables are named
only to point foreign keys at them."""
from peewee import *

STATUSES = ("registered", "in_work", "satisfied", "partly_satisfied", "not_satisfied")


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Partner(Base):
        class Meta:
            table_name = "core_partner"

    class Contact(Base):
        class Meta:
            table_name = "core_contact"

    class Department(Base):
        class Meta:
            table_name = "core_department"

    class User(Base):
        class Meta:
            table_name = "core_user"

    class Task(Base):
        class Meta:
            table_name = "core_task"

    class Record(Base):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

    class Cause(Record):
        name = CharField(max_length=150, unique=True)
        comment = TextField(default="")

        class Meta:
            table_name = "claims_cause"

    class Claim(Record):
        code = CharField(max_length=20, unique=True)
        name = CharField(max_length=300)
        client = ForeignKeyField(Partner, backref="claims", on_delete="RESTRICT")
        contact = ForeignKeyField(Contact, null=True, on_delete="RESTRICT")
        subject_type = CharField(max_length=100, null=True)
        subject_id = IntegerField(null=True)
        description = TextField(default="")
        cause = ForeignKeyField(Cause, null=True, on_delete="RESTRICT")
        responsible = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="claims")
        guilty_department = ForeignKeyField(Department, null=True, on_delete="RESTRICT")
        guilty_employee = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="guilty_claims")
        registered_at = DateTimeField(index=True)
        planned_end = DateTimeField(null=True, index=True)
        actual_end = DateTimeField(null=True)
        status = CharField(max_length=20, default="registered", index=True)
        decision = TextField(default="")
        compensation = DecimalField(max_digits=15, decimal_places=2, default=0)
        currency = CharField(max_length=3, default="RUB")
        result_comment = TextField(default="")
        comment = TextField(default="")

        class Meta:
            table_name = "claims_claim"
            indexes = ((("subject_type", "subject_id"), False),)

    class Participant(Record):
        claim = ForeignKeyField(Claim, backref="participants", on_delete="CASCADE")
        user = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        contact = ForeignKeyField(Contact, null=True, on_delete="RESTRICT")
        role = CharField(max_length=100, default="")
        comment = TextField(default="")

        class Meta:
            table_name = "claims_participant"

    class Stage(Record):
        claim = ForeignKeyField(Claim, backref="stages", on_delete="CASCADE")
        position = IntegerField()
        title = CharField(max_length=300)
        responsible = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        due = DateTimeField(null=True)
        result = TextField(default="")
        done = BooleanField(default=False)
        done_at = DateTimeField(null=True)
        task = ForeignKeyField(Task, null=True, on_delete="SET NULL")

        class Meta:
            table_name = "claims_stage"
            indexes = ((("claim", "position"), True),)

    class StatusChange(Base):
        claim = ForeignKeyField(Claim, backref="status_changes", on_delete="CASCADE")
        at = DateTimeField()
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        login = CharField(max_length=64, default="")
        old_status = CharField(max_length=20, null=True)
        new_status = CharField(max_length=20)

        class Meta:
            table_name = "claims_status_change"

    db.create_tables([Cause, Claim, Participant, Stage, StatusChange])
