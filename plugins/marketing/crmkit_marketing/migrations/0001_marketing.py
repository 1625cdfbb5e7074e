"""Marketing tables: channels, events, participants, primary interest, mailing
groups, notification kinds, templates, subscriptions, the consent ledger,
mailings and their recipients, the signing secret. A frozen copy of the
models as they were."""
from peewee import *

# impact type of a channel -> the entity its sources are records of
IMPACT_TYPES = ("event", "user", "partner", "contact", "individual")
SOURCE_ENTITIES = {"event": "marketing.event", "user": "core.user", "partner": "core.partner",
                   "contact": "core.contact", "individual": "core.partner"}
INTEREST_SUBJECTS = ("core.partner", "deals.deal")
PARTICIPANT_ROLES = ("client", "partner", "organiser", "speaker", "other")
GROUP_MODES = ("subscription", "forced")
MESSAGE_CHANNELS = ("email", "sms")
TEMPLATE_PURPOSES = ("notification", "mailing")
TEMPLATE_METHODS = ("template", "processing")
CONSENT_ACTIONS = ("consent", "opt_out")
AUDIENCES = ("segment", "event", "subscribers")
MAILING_STATES = ("draft", "sent")
RECIPIENT_STATES = ("queued", "skipped")



def choices(values):
    return [(v, v) for v in values]


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Partner(Base):
        class Meta:
            table_name = "core_partner"

    class Contact(Base):
        class Meta:
            table_name = "core_contact"

    class User(Base):
        class Meta:
            table_name = "core_user"

    class Segment(Base):
        class Meta:
            table_name = "core_segment"

    class Record(Base):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)


    class Channel(Record):

        name = CharField(max_length=150, unique=True)
        impact_type = CharField(max_length=16, choices=choices(IMPACT_TYPES))
        comment = TextField(default="")

        class Meta:
            table_name = "marketing_channel"


    class Event(Record):

        code = CharField(max_length=20, unique=True)
        name = CharField(max_length=200)
        planned_start = DateField(null=True)
        planned_end = DateField(null=True)
        actual_start = DateField(null=True)
        actual_end = DateField(null=True)
        client_segment = ForeignKeyField(Segment, null=True, on_delete="RESTRICT", backref="+")
        product_segment = ForeignKeyField(Segment, null=True, on_delete="RESTRICT", backref="+")
        responsible = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
        completed = BooleanField(default=False)
        budget_planned = DecimalField(max_digits=15, decimal_places=2, auto_round=True, default=0)
        budget_actual = DecimalField(max_digits=15, decimal_places=2, auto_round=True, default=0)
        currency = CharField(max_length=3, default="RUB")
        comment = TextField(default="")

        class Meta:
            table_name = "marketing_event"


    class Participant(Base):

        event = ForeignKeyField(Event, on_delete="CASCADE", backref="participants")
        partner = ForeignKeyField(Partner, on_delete="RESTRICT", backref="+")
        role = CharField(max_length=16, default="client", choices=choices(PARTICIPANT_ROLES))
        contact = ForeignKeyField(Contact, null=True, on_delete="RESTRICT", backref="+")
        comment = TextField(default="")
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

        class Meta:
            table_name = "marketing_participant"
            indexes = ((("event", "partner", "contact"), True),)


    class PrimaryInterest(Record):

        subject_type = CharField(max_length=100, null=True)
        subject_id = IntegerField(null=True)
        partner = ForeignKeyField(Partner, null=True, on_delete="RESTRICT", backref="+")
        channel = ForeignKeyField(Channel, on_delete="RESTRICT", backref="interests")
        source_type = CharField(max_length=100, null=True)
        source_id = IntegerField(null=True)
        date = DateField(null=True, index=True)
        comment = TextField(default="")

        class Meta:
            table_name = "marketing_primary_interest"
            indexes = ((("subject_type", "subject_id"), True), (("source_type", "source_id"), False))


    class MailingGroup(Record):

        name = CharField(max_length=200, unique=True)
        mode = CharField(max_length=16, default="subscription", choices=choices(GROUP_MODES))
        send_email = BooleanField(default=True)
        send_sms = BooleanField(default=False)
        partner_email_label = CharField(max_length=100, default="")
        contact_email_label = CharField(max_length=100, default="")
        partner_phone_label = CharField(max_length=100, default="")
        contact_phone_label = CharField(max_length=100, default="")
        responsible = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
        purge_after_days = IntegerField(null=True)
        description = TextField(default="")

        class Meta:
            table_name = "marketing_mailing_group"


    class NotificationKind(Record):

        code = CharField(max_length=100, unique=True)
        name = CharField(max_length=200)
        group = ForeignKeyField(MailingGroup, null=True, on_delete="RESTRICT", backref="kinds")
        based_on = CharField(max_length=100, default="")
        comment = TextField(default="")

        class Meta:
            table_name = "marketing_notification_kind"


    class Template(Record):

        name = CharField(max_length=200)
        purpose = CharField(max_length=16, default="notification", choices=choices(TEMPLATE_PURPOSES))
        kind = ForeignKeyField(NotificationKind, null=True, on_delete="RESTRICT", backref="templates")
        group = ForeignKeyField(MailingGroup, null=True, on_delete="RESTRICT", backref="templates")
        method = CharField(max_length=16, default="template", choices=choices(TEMPLATE_METHODS))
        processing = CharField(max_length=100, default="")
        email = BooleanField(default=True)
        sms = BooleanField(default=False)
        subject = CharField(max_length=500, default="")
        body_text = TextField(default="")
        body_html = TextField(null=True)
        sms_text = TextField(default="")

        class Meta:
            table_name = "marketing_template"


    class Subscription(Base):

        group = ForeignKeyField(MailingGroup, on_delete="CASCADE", backref="subscriptions")
        kind = ForeignKeyField(NotificationKind, null=True, on_delete="CASCADE", backref="+")
        partner = ForeignKeyField(Partner, null=True, on_delete="CASCADE", backref="+")
        contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE", backref="+")
        channel = CharField(max_length=16, default="email", choices=choices(MESSAGE_CHANNELS))
        address = CharField(max_length=320, default="")
        active = BooleanField(default=True)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)

        class Meta:
            table_name = "marketing_subscription"


    class Consent(Base):

        partner = ForeignKeyField(Partner, null=True, on_delete="RESTRICT", backref="+")
        contact = ForeignKeyField(Contact, null=True, on_delete="RESTRICT", backref="+")
        channel = CharField(max_length=16, choices=choices(MESSAGE_CHANNELS))
        address = CharField(max_length=320, default="", index=True)
        group = ForeignKeyField(MailingGroup, null=True, on_delete="RESTRICT", backref="+")
        action = CharField(max_length=16, choices=choices(CONSENT_ACTIONS))
        at = DateTimeField(null=True, index=True)
        method = CharField(max_length=100, default="")
        given_by = CharField(max_length=100, default="")
        comment = TextField(default="")
        created_at = DateTimeField(null=True)

        class Meta:
            table_name = "marketing_consent"


    class Mailing(Record):

        name = CharField(max_length=200)
        group = ForeignKeyField(MailingGroup, on_delete="RESTRICT", backref="mailings")
        template = ForeignKeyField(Template, on_delete="RESTRICT", backref="+")
        audience = CharField(max_length=16, default="subscribers", choices=choices(AUDIENCES))
        segment = ForeignKeyField(Segment, null=True, on_delete="RESTRICT", backref="+")
        event = ForeignKeyField(Event, null=True, on_delete="RESTRICT", backref="mailings")
        state = CharField(max_length=16, default="draft", choices=choices(MAILING_STATES))
        sent_at = DateTimeField(null=True)
        sent_by = CharField(max_length=100, default="")

        class Meta:
            table_name = "marketing_mailing"


    class MailingRecipient(Base):

        mailing = ForeignKeyField(Mailing, on_delete="CASCADE", backref="recipients")
        partner = ForeignKeyField(Partner, null=True, on_delete="CASCADE", backref="+")
        contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE", backref="+")
        channel = CharField(max_length=16)
        address = CharField(max_length=320, default="")
        state = CharField(max_length=16, choices=choices(RECIPIENT_STATES))
        reason = CharField(max_length=300, default="")
        outbox_id = IntegerField(null=True, index=True)
        created_at = DateTimeField(null=True)

        class Meta:
            table_name = "marketing_mailing_recipient"


    class Secret(Base):

        name = CharField(max_length=50, primary_key=True)
        value = CharField(max_length=200)
        created_at = DateTimeField(null=True)

        class Meta:
            table_name = "marketing_secret"

    db.create_tables([Channel, Event, Participant, PrimaryInterest, MailingGroup, NotificationKind,
                      Template, Subscription, Consent, Mailing, MailingRecipient, Secret])
