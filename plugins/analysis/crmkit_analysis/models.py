"""Analysis tables, prefixed ``analysis_``.

``Sale`` is one line of a sales document (returns are negative lines).
A classification ``Run`` is one "as of" date with one set of settings; its
rows (``ClientClass`` / ``ProductClass``) are the history per item.
"""
import peewee as pw

from crmkit import BaseModel, MoneyField, UtcDateTimeField, choices, utcnow
from crmkit.core.models import Partner, Product, User
from .kinds import ABC_CLASSES, CLASS_KINDS, CLASSES, MEASURES, XYZ_CLASSES  # noqa: F401



class Sale(BaseModel):
    document = pw.CharField(max_length=40, index=True)
    date = pw.DateField(index=True)
    # indexed by (partner, date) and (product, date) below, not alone
    partner = pw.ForeignKeyField(Partner, on_delete="RESTRICT", index=False)
    product = pw.ForeignKeyField(Product, on_delete="RESTRICT", index=False)
    quantity = pw.DecimalField(max_digits=15, decimal_places=3, auto_round=True)
    revenue = MoneyField()
    cost = MoneyField(default=0)
    currency = pw.CharField(max_length=3, default="RUB")
    manager = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT")
    deal_id = pw.IntegerField(null=True, index=True)   # deals.deal, checked when deals is installed
    deletion_mark = pw.BooleanField(default=False)
    created_at = UtcDateTimeField(default=utcnow)
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "analysis_sale"
        indexes = ((("partner", "date"), False), (("product", "date"), False))


class Setting(BaseModel):
    """The stored classification settings of clients or of products (1C's form)."""

    kind = pw.CharField(max_length=16, unique=True, choices=[(k, k) for k in CLASS_KINDS])
    settings = pw.TextField()                     # JSON, see classify.DEFAULTS
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "analysis_setting"


class Run(BaseModel):
    """One classification: a kind, an "as of" date and the settings used."""

    kind = pw.CharField(max_length=16, choices=[(k, k) for k in CLASS_KINDS])
    as_of = pw.DateField()
    settings = pw.TextField()                     # canonical JSON
    settings_key = pw.CharField(max_length=64)    # sha256 of it
    measure = pw.CharField(max_length=20, choices=choices(MEASURES))
    abc_from = pw.DateField()
    abc_to = pw.DateField()                       # exclusive
    xyz_from = pw.DateField()
    xyz_to = pw.DateField()                       # exclusive
    items = pw.IntegerField(default=0)
    computed_at = UtcDateTimeField(default=utcnow)
    created_at = UtcDateTimeField(default=utcnow)
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "analysis_run"
        indexes = ((("kind", "as_of", "settings_key"), True),)


class ItemClass(BaseModel):
    run = pw.ForeignKeyField(Run, on_delete="CASCADE", index=False)   # (run, item) is indexed
    as_of = pw.DateField()
    abc_class = pw.CharField(max_length=10, choices=choices(ABC_CLASSES))
    xyz_class = pw.CharField(max_length=10, choices=choices(XYZ_CLASSES))
    value = pw.DecimalField(max_digits=18, decimal_places=2, auto_round=True, null=True)
    share = pw.FloatField(null=True)              # % of the total measure
    cumulative_share = pw.FloatField(null=True)   # % up to and including this item
    cv = pw.FloatField(null=True)                 # coefficient of variation, %
    # no stamps of its own: the rows are written once, at their run's computed_at


class ClientClass(ItemClass):
    partner = pw.ForeignKeyField(Partner, on_delete="CASCADE", index=False)   # (partner, as_of) is indexed

    class Meta:
        table_name = "analysis_client_class"
        indexes = ((("run", "partner"), True), (("partner", "as_of"), False))


class ProductClass(ItemClass):
    product = pw.ForeignKeyField(Product, on_delete="CASCADE", index=False)   # (product, as_of) is indexed

    class Meta:
        table_name = "analysis_product_class"
        indexes = ((("run", "product"), True), (("product", "as_of"), False))


class SaleMonth(BaseModel):
    """The lines of a partner, product and month summed (see ``summary``):
    written only by the summary's maintenance, read by reports through the
    access of the sales lines."""

    partner = pw.ForeignKeyField(Partner, on_delete="CASCADE", index=False)   # (partner, month, product) is unique
    product = pw.ForeignKeyField(Product, on_delete="CASCADE", index=False)
    month = pw.DateField()                        # the month's first day
    lines = pw.IntegerField()
    positive_lines = pw.IntegerField()            # lines with a positive quantity
    revenue_cents = pw.BigIntegerField()
    cost_cents = pw.BigIntegerField()
    first_date = pw.DateField()                   # the earliest line of the month
    first_positive_date = pw.DateField(null=True)

    class Meta:
        table_name = "analysis_sale_month"
        indexes = ((("partner", "month", "product"), True),)


class SaleDocument(BaseModel):
    """A partner's lines of one document number in a month summed."""

    partner = pw.ForeignKeyField(Partner, on_delete="CASCADE", index=False)   # (partner, month, document) is unique
    month = pw.DateField()
    document = pw.CharField(max_length=40)
    revenue_cents = pw.BigIntegerField()
    cost_cents = pw.BigIntegerField()

    class Meta:
        table_name = "analysis_month_document"
        indexes = ((("partner", "month", "document"), True),)


MODELS = [Sale, Setting, Run, ClientClass, ProductClass, SaleMonth, SaleDocument]
