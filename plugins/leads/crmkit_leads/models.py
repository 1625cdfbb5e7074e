"""Lead tables, prefixed ``leads_``."""
import peewee as pw

from crmkit import MoneyField, RecordModel, UtcDateTimeField, choices
from crmkit.core.models import AccessGroup, Contact, Partner, User

from .kinds import STATUSES


class DisqualifyReason(RecordModel):
    """Why a lead was disqualified (no budget, a competitor, spam ...)."""

    name = pw.CharField(max_length=200, unique=True)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "leads_disqualify_reason"


class Lead(RecordModel):
    code = pw.CharField(max_length=20, unique=True)
    person = pw.CharField(max_length=200, default="")       # the person's name
    company = pw.CharField(max_length=200, default="")      # the company's name
    position = pw.CharField(max_length=150, default="")
    email = pw.CharField(max_length=254, default="")
    phone = pw.CharField(max_length=32, default="")
    website = pw.CharField(max_length=300, default="")
    address = pw.CharField(max_length=500, default="")
    demand = pw.TextField(default="")                       # what they asked for
    potential = MoneyField(default=0)
    currency = pw.CharField(max_length=3, default="RUB")
    responsible = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
    access_group = pw.ForeignKeyField(AccessGroup, null=True, on_delete="RESTRICT", backref="+")
    status = pw.CharField(max_length=16, default="new", choices=choices(STATUSES), index=True)
    disqualify_reason = pw.ForeignKeyField(DisqualifyReason, null=True, on_delete="RESTRICT")
    received_at = UtcDateTimeField(index=True)               # when the interest arrived
    closed_at = UtcDateTimeField(null=True)                  # qualified or disqualified
    partner = pw.ForeignKeyField(Partner, null=True, on_delete="RESTRICT", backref="+")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="RESTRICT", backref="+")
    deal_id = pw.IntegerField(null=True)                     # deals.deal, when the plugin is installed
    comment = pw.TextField(default="")

    class Meta:
        table_name = "leads_lead"


MODELS = [DisqualifyReason, Lead]
