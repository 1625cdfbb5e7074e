"""Exchange rates (курсы валют): one row per currency and date. A frozen
copy of the model as it was."""
from peewee import *


def up(migrator, db):
    class CurrencyRate(Model):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)
        currency = CharField(max_length=3)
        date = DateField()
        rate = DecimalField(max_digits=20, decimal_places=6, auto_round=True)
        multiplier = IntegerField(default=1)
        source = CharField(max_length=32, default="")

        class Meta:
            database = db
            table_name = "core_currency_rate"
            indexes = ((("currency", "date"), True),)

    db.create_tables([CurrencyRate])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "core_currency_rate"')
