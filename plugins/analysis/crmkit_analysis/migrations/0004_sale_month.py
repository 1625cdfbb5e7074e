"""The monthly summary of the sales lines (issue 23), filled from the lines.

Reports over years of lines (the assortment's monthly dynamics, the first
sale of every client or product) read these instead of the lines:

- ``analysis_sale_month``: per partner, product and month, the lines not
  marked for deletion: how many, how many with a positive quantity,
  revenue and cost in whole cents, the earliest date and the earliest date
  of a positive line. Unique on ``(partner_id, month, product_id)``: the
  maintenance replaces a partner's month at a time, and that index finds it.
- ``analysis_month_document``: per partner, month and document number, the
  revenue and cost of its lines in whole cents (a month's documents are
  counted distinct over them, as over the lines; a partner's or a month's
  sums are a quarter of the rows the product cut has). Unique on
  ``(partner_id, month, document)``, for the same reason.

The plugin keeps both in step in every write of sales lines
(``crmkit_analysis.summary``). A frozen copy of the tables and of the
backfill's SQL.
"""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Partner(Base):
        class Meta:
            table_name = "core_partner"

    class Product(Base):
        class Meta:
            table_name = "core_product"

    class SaleMonth(Base):
        partner = ForeignKeyField(Partner, on_delete="CASCADE", index=False)
        product = ForeignKeyField(Product, on_delete="CASCADE", index=False)
        month = DateField()
        lines = IntegerField()
        positive_lines = IntegerField()
        revenue_cents = BigIntegerField()
        cost_cents = BigIntegerField()
        first_date = DateField()
        first_positive_date = DateField(null=True)

        class Meta:
            table_name = "analysis_sale_month"
            indexes = ((("partner", "month", "product"), True),)

    class SaleDocument(Base):
        partner = ForeignKeyField(Partner, on_delete="CASCADE", index=False)
        month = DateField()
        document = CharField(max_length=40)
        revenue_cents = BigIntegerField()
        cost_cents = BigIntegerField()

        class Meta:
            table_name = "analysis_month_document"
            indexes = ((("partner", "month", "document"), True),)

    db.create_tables([SaleMonth, SaleDocument])
    sqlite = isinstance(db, SqliteDatabase)
    month = "substr(date, 1, 7) || '-01'" if sqlite else "CAST(date_trunc('month', date) AS date)"
    false = "0" if sqlite else "false"
    db.execute_sql(
        "INSERT INTO analysis_sale_month (partner_id, product_id, month, lines, positive_lines, revenue_cents, "
        "cost_cents, first_date, first_positive_date) "
        f"SELECT partner_id, product_id, {month}, COUNT(*), SUM(CASE WHEN quantity > 0 THEN 1 ELSE 0 END), "
        "SUM(CAST(ROUND(revenue * 100) AS BIGINT)), SUM(CAST(ROUND(COALESCE(cost, 0) * 100) AS BIGINT)), "
        "MIN(date), MIN(CASE WHEN quantity > 0 THEN date END) "
        f"FROM analysis_sale WHERE deletion_mark = {false} GROUP BY partner_id, product_id, {month}")
    db.execute_sql("INSERT INTO analysis_month_document (partner_id, month, document, revenue_cents, cost_cents) "
                   f"SELECT partner_id, {month}, document, SUM(CAST(ROUND(revenue * 100) AS BIGINT)), "
                   "SUM(CAST(ROUND(COALESCE(cost, 0) * 100) AS BIGINT)) "
                   f"FROM analysis_sale WHERE deletion_mark = {false} GROUP BY partner_id, {month}, document")


def down(migrator, db):
    db.execute_sql("DROP TABLE IF EXISTS analysis_month_document")
    db.execute_sql("DROP TABLE IF EXISTS analysis_sale_month")
