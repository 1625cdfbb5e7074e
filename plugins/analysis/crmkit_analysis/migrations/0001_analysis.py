"""Analysis tables: sales lines, settings, classification runs and history.
A frozen copy of the models as they were."""
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

    class User(Base):
        class Meta:
            table_name = "core_user"

    class Sale(Base):
        document = CharField(max_length=40, index=True)
        date = DateField(index=True)
        partner = ForeignKeyField(Partner, on_delete="RESTRICT")
        product = ForeignKeyField(Product, on_delete="RESTRICT")
        quantity = DecimalField(max_digits=15, decimal_places=3)
        revenue = DecimalField(max_digits=15, decimal_places=2)
        cost = DecimalField(max_digits=15, decimal_places=2, default=0)
        currency = CharField(max_length=3, default="RUB")
        manager = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        deal_id = IntegerField(null=True, index=True)
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

        class Meta:
            table_name = "analysis_sale"
            indexes = ((("partner", "date"), False), (("product", "date"), False))

    class Setting(Base):
        kind = CharField(max_length=16, unique=True)
        settings = TextField()
        changed_at = DateTimeField(null=True)

        class Meta:
            table_name = "analysis_setting"

    class Run(Base):
        kind = CharField(max_length=16)
        as_of = DateField()
        settings = TextField()
        settings_key = CharField(max_length=64)
        measure = CharField(max_length=20)
        abc_from = DateField()
        abc_to = DateField()
        xyz_from = DateField()
        xyz_to = DateField()
        items = IntegerField(default=0)
        computed_at = DateTimeField(null=True)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

        class Meta:
            table_name = "analysis_run"
            indexes = ((("kind", "as_of", "settings_key"), True),)

    class ItemClass(Base):
        run = ForeignKeyField(Run, on_delete="CASCADE")
        as_of = DateField()
        abc_class = CharField(max_length=10)
        xyz_class = CharField(max_length=10)
        value = DecimalField(max_digits=18, decimal_places=2, null=True)
        share = FloatField(null=True)
        cumulative_share = FloatField(null=True)
        cv = FloatField(null=True)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

    class ClientClass(ItemClass):
        partner = ForeignKeyField(Partner, on_delete="CASCADE")

        class Meta:
            table_name = "analysis_client_class"
            indexes = ((("run", "partner"), True), (("partner", "as_of"), False))

    class ProductClass(ItemClass):
        product = ForeignKeyField(Product, on_delete="CASCADE")

        class Meta:
            table_name = "analysis_product_class"
            indexes = ((("run", "product"), True), (("product", "as_of"), False))

    db.create_tables([Sale, Setting, Run, ClientClass, ProductClass])
