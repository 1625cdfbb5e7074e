"""Claims tables, prefixed ``claims_``."""
import peewee as pw

from crmkit import BaseModel, MoneyField, RecordModel, UtcDateTimeField, choices, utcnow
from crmkit.core.models import Contact, Department, Partner, Task, User
from .kinds import STATUSES, FINAL_STATUSES  # noqa: F401


class Cause(RecordModel):
    """A cause of claims (Причина возникновения): a small catalogue."""

    name = pw.CharField(max_length=150, unique=True)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "claims_cause"


class Claim(RecordModel):
    code = pw.CharField(max_length=20, unique=True)
    name = pw.CharField(max_length=300)
    client = pw.ForeignKeyField(Partner, backref="claims", on_delete="RESTRICT")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="RESTRICT")
    subject_type = pw.CharField(max_length=100, null=True)     # the basis (Основание)
    subject_id = pw.IntegerField(null=True)
    description = pw.TextField(default="")
    cause = pw.ForeignKeyField(Cause, null=True, on_delete="RESTRICT")
    responsible = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="claims")
    guilty_department = pw.ForeignKeyField(Department, null=True, on_delete="RESTRICT")
    guilty_employee = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="guilty_claims")
    registered_at = UtcDateTimeField(default=utcnow, index=True)
    planned_end = UtcDateTimeField(null=True, index=True)
    actual_end = UtcDateTimeField(null=True)
    status = pw.CharField(max_length=20, default="registered", choices=choices(STATUSES), index=True)
    decision = pw.TextField(default="")
    compensation = MoneyField(default=0)
    currency = pw.CharField(max_length=3, default="RUB")
    result_comment = pw.TextField(default="")
    comment = pw.TextField(default="")

    class Meta:
        table_name = "claims_claim"
        indexes = ((("subject_type", "subject_id"), False),)


class Participant(RecordModel):
    """Someone taking part in handling a claim: a user or a client's contact."""

    claim = pw.ForeignKeyField(Claim, backref="participants", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="RESTRICT")
    role = pw.CharField(max_length=100, default="")
    comment = pw.TextField(default="")

    class Meta:
        table_name = "claims_participant"


class Stage(RecordModel):
    """One ordered stage of a claim's work plan (План проекта)."""

    claim = pw.ForeignKeyField(Claim, backref="stages", on_delete="CASCADE")
    position = pw.IntegerField()
    title = pw.CharField(max_length=300)
    responsible = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT")
    due = UtcDateTimeField(null=True)
    result = pw.TextField(default="")
    done = pw.BooleanField(default=False)
    done_at = UtcDateTimeField(null=True)
    task = pw.ForeignKeyField(Task, null=True, on_delete="SET NULL")

    class Meta:
        table_name = "claims_stage"
        indexes = ((("claim", "position"), True),)


class StatusChange(BaseModel):
    """A claim's status history, written by the plugin on every change."""

    claim = pw.ForeignKeyField(Claim, backref="status_changes", on_delete="CASCADE")
    at = UtcDateTimeField(default=utcnow)
    user = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    login = pw.CharField(max_length=64, default="")
    old_status = pw.CharField(max_length=20, null=True, choices=choices(STATUSES))
    new_status = pw.CharField(max_length=20, choices=choices(STATUSES))

    class Meta:
        table_name = "claims_status_change"


MODELS = [Cause, Claim, Participant, Stage, StatusChange]
