"""A migration that creates a table and fills it row by row, ticking, so
that the crash test can kill it half-way."""
from peewee import CharField, IntegerField, Model


def up(migrator, db):
    from tests.adversarial.crashkit import MIGRATION_ROWS, tick

    class Item(Model):
        n = IntegerField(unique=True)
        label = CharField()

        class Meta:
            database = db
            table_name = "crashmig_item"

    Item.create_table()
    for n in range(MIGRATION_ROWS):
        Item.insert(n=n, label=f"item {n}").execute()
        if n % 50 == 49:
            tick()
