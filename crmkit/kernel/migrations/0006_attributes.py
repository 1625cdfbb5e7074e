"""Additional attributes (1C's дополнительные реквизиты): the fields an
administrator adds to an entity, and their values, one row per record and
attribute, in a typed column each, indexed (attribute, value, record) so a
filter on an attribute is an index range scan on SQLite and PostgreSQL."""

from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Attribute(Base):
        entity = CharField(max_length=100)
        name = CharField(max_length=63)
        kind = CharField(max_length=16)
        label = CharField(max_length=200, default="")
        label_ru = CharField(max_length=200, default="")
        choices = TextField(default="[]")
        target = CharField(max_length=100, default="")
        currency = CharField(max_length=3, default="")
        created_by = CharField(max_length=100, default="")
        created_at = DateTimeField()

        class Meta:
            table_name = "kernel_attribute"
            indexes = ((("entity", "name"), True),)

    class AttributeValue(Base):
        attribute = ForeignKeyField(Attribute, on_delete="CASCADE")
        entity = CharField(max_length=100)
        record_id = IntegerField()
        value_text = CharField(max_length=500, null=True)
        value_number = DecimalField(max_digits=28, decimal_places=6, null=True)
        value_date = DateField(null=True)

        class Meta:
            table_name = "kernel_attribute_value"
            indexes = ((("attribute", "record_id"), True),
                       (("attribute", "value_text", "record_id"), False),
                       (("attribute", "value_number", "record_id"), False),
                       (("attribute", "value_date", "record_id"), False),
                       (("entity", "record_id"), False))

    db.create_tables([Attribute, AttributeValue])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "kernel_attribute_value"')
    db.execute_sql('DROP TABLE IF EXISTS "kernel_attribute"')
