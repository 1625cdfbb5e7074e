"""Deals tables, prefixed ``deals_``.

``StageHistory`` is the source of truth for the funnel and for reports run
"as of" a date: every row is an interval during which a deal stayed at one
stage with one status. Entering a stage or changing the status closes the
open row and opens the next one, so a deal always has exactly one open row
(``left_at`` null). ``passage`` marks the rows that start a passage through
a stage (a stage entry); ``days`` is that passage's length, filled when the
deal leaves the stage or is closed.
"""
import peewee as pw

from crmkit import BaseModel, MoneyField, RecordModel, UtcDateTimeField, choices, utcnow
from crmkit.core import models as core
from .kinds import PROCESSES, STATUSES, PROBABILITY_METHODS, TARGET_PERIODS  # noqa: F401


class Kind(RecordModel):
    """A deal kind (вид сделки) and how its stages move."""

    name = pw.CharField(max_length=150, unique=True)
    process = pw.CharField(max_length=10, default="manual", choices=choices(PROCESSES))
    comment = pw.TextField(default="")

    class Meta:
        table_name = "deals_kind"


class Stage(RecordModel):
    """A stage of the sales process (этап процесса продажи), shared by kinds."""

    name = pw.CharField(max_length=150, unique=True)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "deals_stage"


class KindStage(BaseModel):
    """A stage in a kind's route, with the task(s) a process creates there."""

    kind = pw.ForeignKeyField(Kind, backref="route", on_delete="CASCADE")
    stage = pw.ForeignKeyField(Stage, on_delete="RESTRICT")
    sequence = pw.IntegerField()
    route_point = pw.CharField(max_length=100, default="")   # "Отразить первичный контакт"
    tasks = pw.TextField(default="")        # task title templates, one a line (process kinds)
    task_days = pw.IntegerField(default=1)  # a task is due this many days after the stage is entered
    created_at = UtcDateTimeField(default=utcnow)
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "deals_kind_stage"
        indexes = ((("kind", "stage"), True),)


class LossReason(RecordModel):
    name = pw.CharField(max_length=200, unique=True)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "deals_loss_reason"


class Agreement(RecordModel):
    """Sales terms (соглашение с клиентом); general when it has no client."""

    name = pw.CharField(max_length=200)
    client = pw.ForeignKeyField(core.Partner, null=True, on_delete="RESTRICT")
    comment = pw.TextField(default="")

    class Meta:
        table_name = "deals_agreement"


class Deal(RecordModel):
    name = pw.CharField(max_length=300)
    code = pw.CharField(max_length=20, unique=True)
    # deals_deal_client_id is (client_id, status, deletion_mark) since migration 0007 (segments' deals by status)
    client = pw.ForeignKeyField(core.Partner, on_delete="RESTRICT", index=True)
    agreement = pw.ForeignKeyField(Agreement, null=True, on_delete="RESTRICT")
    responsible = pw.ForeignKeyField(core.User, null=True, on_delete="RESTRICT", index=True)
    start_date = pw.DateField(index=True)
    end_date = pw.DateField(null=True)
    potential = MoneyField(default=0)
    currency = pw.CharField(max_length=3, default="USD")
    probability = pw.IntegerField(default=0)
    probability_method = pw.CharField(max_length=10, default="manual", choices=choices(PROBABILITY_METHODS))
    status = pw.CharField(max_length=8, default="in_work", choices=choices(STATUSES), index=True)
    loss_reason = pw.ForeignKeyField(LossReason, null=True, on_delete="RESTRICT")
    kind = pw.ForeignKeyField(Kind, null=True, on_delete="RESTRICT")
    stage = pw.ForeignKeyField(Stage, null=True, on_delete="RESTRICT")
    comment = pw.TextField(default="")
    closed_at = UtcDateTimeField(null=True)

    class Meta:
        table_name = "deals_deal"


class StageHistory(BaseModel):
    # the indexes are the migrations' (0004-0006): (deal, passage, stage, days, left_at) serves a deal's
    # rows and its open row, (left_at, deal, status) the reports' open rows, (stage) a stage's deletion
    deal = pw.ForeignKeyField(Deal, backref="stage_history", on_delete="CASCADE", index=False)
    stage = pw.ForeignKeyField(Stage, null=True, on_delete="RESTRICT", index=True)
    status = pw.CharField(max_length=8, choices=choices(STATUSES))
    passage = pw.BooleanField(default=False)
    entered_at = UtcDateTimeField()
    left_at = UtcDateTimeField(null=True)
    days = pw.DecimalField(max_digits=10, decimal_places=2, null=True, auto_round=True)
    user = pw.ForeignKeyField(core.User, null=True, on_delete="RESTRICT")

    class Meta:
        table_name = "deals_stage_history"
        indexes = ((("deal", "passage", "stage", "days", "left_at"), False), (("left_at", "deal", "status"), False))


class Participant(RecordModel):
    """The deal environment (окружение сделки): partners and contacts with a role."""

    deal = pw.ForeignKeyField(Deal, backref="participants", on_delete="CASCADE")
    partner = pw.ForeignKeyField(core.Partner, null=True, on_delete="RESTRICT")
    contact = pw.ForeignKeyField(core.Contact, null=True, on_delete="RESTRICT")
    role = pw.CharField(max_length=100, default="")
    comment = pw.TextField(default="")

    class Meta:
        table_name = "deals_participant"


class Demand(RecordModel):
    """A line of the primary demand (первичный спрос)."""

    deal = pw.ForeignKeyField(Deal, backref="demand", on_delete="CASCADE")
    product = pw.ForeignKeyField(core.Product, on_delete="RESTRICT")
    quantity = pw.DecimalField(max_digits=15, decimal_places=3, default=1, auto_round=True)
    price = MoneyField(default=0)
    amount = MoneyField(default=0)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "deals_demand"


MODELS = [Kind, Stage, KindStage, LossReason, Agreement, Deal, StageHistory, Participant, Demand]


class Target(RecordModel):
    """A sales target (план продаж) of one month or quarter: won potential
    (``amount`` in ``currency``) and/or a number of won deals, for a
    manager, a department, a deal kind or any combination of them (an empty
    one: every manager, department or kind)."""

    period = pw.CharField(max_length=8, default="month", choices=choices(TARGET_PERIODS))
    period_start = pw.DateField()                      # the first day of the month or quarter
    responsible = pw.ForeignKeyField(core.User, null=True, on_delete="RESTRICT")
    department = pw.ForeignKeyField(core.Department, null=True, on_delete="RESTRICT")
    kind = pw.ForeignKeyField(Kind, null=True, on_delete="RESTRICT")
    amount = MoneyField(null=True)
    currency = pw.CharField(max_length=3, default="RUB")
    won_deals = pw.IntegerField(null=True)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "deals_target"
        indexes = ((("period_start", "period"), False),)
