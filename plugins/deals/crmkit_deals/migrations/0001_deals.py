"""Deals tables: kinds, stages, routes, loss reasons, agreements, deals,
stage history, participants, primary demand. A frozen copy of the models."""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    # core tables referenced (created by core's migrations; never created here)
    class Partner(Base):
        class Meta:
            table_name = "core_partner"

    class User(Base):
        class Meta:
            table_name = "core_user"

    class Contact(Base):
        class Meta:
            table_name = "core_contact"

    class Product(Base):
        class Meta:
            table_name = "core_product"

    class Record(Base):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

    class Kind(Record):
        name = CharField(max_length=150, unique=True)
        process = CharField(max_length=10, default="manual")
        comment = TextField(default="")

        class Meta:
            table_name = "deals_kind"

    class Stage(Record):
        name = CharField(max_length=150, unique=True)
        comment = TextField(default="")

        class Meta:
            table_name = "deals_stage"

    class KindStage(Base):
        kind = ForeignKeyField(Kind, on_delete="CASCADE")
        stage = ForeignKeyField(Stage, on_delete="RESTRICT")
        sequence = IntegerField()
        route_point = CharField(max_length=100, default="")
        tasks = TextField(default="")
        task_days = IntegerField(default=1)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

        class Meta:
            table_name = "deals_kind_stage"
            indexes = ((("kind", "stage"), True),)

    class LossReason(Record):
        name = CharField(max_length=200, unique=True)
        comment = TextField(default="")

        class Meta:
            table_name = "deals_loss_reason"

    class Agreement(Record):
        name = CharField(max_length=200)
        client = ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
        comment = TextField(default="")

        class Meta:
            table_name = "deals_agreement"

    class Deal(Record):
        name = CharField(max_length=300)
        code = CharField(max_length=20, unique=True)
        client = ForeignKeyField(Partner, on_delete="RESTRICT", index=True)
        agreement = ForeignKeyField(Agreement, null=True, on_delete="RESTRICT")
        responsible = ForeignKeyField(User, null=True, on_delete="RESTRICT", index=True)
        start_date = DateField(index=True)
        end_date = DateField(null=True)
        potential = DecimalField(max_digits=15, decimal_places=2, default=0)
        currency = CharField(max_length=3, default="USD")
        probability = IntegerField(default=0)
        probability_method = CharField(max_length=10, default="manual")
        status = CharField(max_length=8, default="in_work", index=True)
        loss_reason = ForeignKeyField(LossReason, null=True, on_delete="RESTRICT")
        kind = ForeignKeyField(Kind, null=True, on_delete="RESTRICT")
        stage = ForeignKeyField(Stage, null=True, on_delete="RESTRICT")
        comment = TextField(default="")
        closed_at = DateTimeField(null=True)

        class Meta:
            table_name = "deals_deal"

    class StageHistory(Base):
        deal = ForeignKeyField(Deal, on_delete="CASCADE")
        stage = ForeignKeyField(Stage, null=True, on_delete="RESTRICT")
        status = CharField(max_length=8)
        passage = BooleanField(default=False)
        entered_at = DateTimeField()
        left_at = DateTimeField(null=True)
        days = DecimalField(max_digits=10, decimal_places=2, null=True)
        user = ForeignKeyField(User, null=True, on_delete="RESTRICT")

        class Meta:
            table_name = "deals_stage_history"
            indexes = ((("deal", "left_at"), False), (("stage", "passage"), False), (("left_at",), False))

    class Participant(Record):
        deal = ForeignKeyField(Deal, on_delete="CASCADE")
        partner = ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
        contact = ForeignKeyField(Contact, null=True, on_delete="RESTRICT")
        role = CharField(max_length=100, default="")
        comment = TextField(default="")

        class Meta:
            table_name = "deals_participant"

    class Demand(Record):
        deal = ForeignKeyField(Deal, on_delete="CASCADE")
        product = ForeignKeyField(Product, on_delete="RESTRICT")
        quantity = DecimalField(max_digits=15, decimal_places=3, default=1)
        price = DecimalField(max_digits=15, decimal_places=2, default=0)
        amount = DecimalField(max_digits=15, decimal_places=2, default=0)
        comment = TextField(default="")

        class Meta:
            table_name = "deals_demand"

    db.create_tables([Kind, Stage, KindStage, LossReason, Agreement, Deal, StageHistory, Participant, Demand])
