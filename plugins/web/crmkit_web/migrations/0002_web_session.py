"""Server-side sessions of the web pages and the lead-capture forms an
administrator publishes."""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Session(Base):
        token_hash = CharField(max_length=64, unique=True)
        login = CharField(max_length=64, index=True)
        csrf = CharField(max_length=64)
        lang = CharField(max_length=8, default="")
        time_zone = CharField(max_length=64, default="")
        created_at = DateTimeField()
        seen_at = DateTimeField()
        expires_at = DateTimeField(index=True)

        class Meta:
            table_name = "web_session"

    class LeadForm(Base):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)
        slug = CharField(max_length=64, unique=True)
        title = CharField(max_length=200)
        fields = CharField(max_length=500, default="name")
        ask_email = BooleanField(default=True)
        ask_phone = BooleanField(default=True)
        interaction_kind = CharField(max_length=16, default="email")
        channel = CharField(max_length=150, default="")
        source = CharField(max_length=120, default="")
        owner = CharField(max_length=64)
        is_published = BooleanField(default=False)

        class Meta:
            table_name = "web_lead_form"

    class Secret(Base):
        name = CharField(max_length=64, unique=True)
        value = CharField(max_length=128)

        class Meta:
            table_name = "web_secret"

    class LeadHit(Base):
        form = ForeignKeyField(LeadForm, on_delete="CASCADE")
        client = CharField(max_length=64)
        at = DateTimeField(index=True)

        class Meta:
            table_name = "web_lead_hit"

    db.create_tables([Session, LeadForm, LeadHit, Secret])


def down(migrator, db):
    for table in ("web_secret", "web_lead_hit", "web_lead_form", "web_session"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
