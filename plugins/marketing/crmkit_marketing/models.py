"""Marketing tables, prefixed ``marketing_``."""
import peewee as pw

from crmkit import BaseModel, MoneyField, RecordModel, UtcDateTimeField, choices, utcnow
from crmkit.core.models import Contact, Partner, Segment, User  # the required core plugin
from .kinds import IMPACT_TYPES, SOURCE_ENTITIES, INTEREST_SUBJECTS, PARTICIPANT_ROLES, GROUP_MODES, MESSAGE_CHANNELS, TEMPLATE_PURPOSES, TEMPLATE_METHODS, CONSENT_ACTIONS, AUDIENCES, MAILING_STATES, RECIPIENT_STATES  # noqa: F401

# impact type of a channel -> the entity its sources are records of


class Channel(RecordModel):
    """Канал рекламного воздействия: where a client first heard of us."""

    name = pw.CharField(max_length=150, unique=True)
    impact_type = pw.CharField(max_length=16, choices=choices(IMPACT_TYPES))
    comment = pw.TextField(default="")

    class Meta:
        table_name = "marketing_channel"


class Event(RecordModel):
    """Маркетинговое мероприятие: an exhibition, a promotion, a forum."""

    code = pw.CharField(max_length=20, unique=True)
    name = pw.CharField(max_length=200)
    planned_start = pw.DateField(null=True)
    planned_end = pw.DateField(null=True)
    actual_start = pw.DateField(null=True)
    actual_end = pw.DateField(null=True)
    client_segment = pw.ForeignKeyField(Segment, null=True, on_delete="RESTRICT", backref="+")
    product_segment = pw.ForeignKeyField(Segment, null=True, on_delete="RESTRICT", backref="+")
    responsible = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
    completed = pw.BooleanField(default=False)
    budget_planned = MoneyField(default=0)
    budget_actual = MoneyField(default=0)
    currency = pw.CharField(max_length=3, default="RUB")
    comment = pw.TextField(default="")

    class Meta:
        table_name = "marketing_event"


class Participant(BaseModel):
    """A partner (and contact person) taking part in an event."""

    event = pw.ForeignKeyField(Event, on_delete="CASCADE", backref="participants")
    partner = pw.ForeignKeyField(Partner, on_delete="RESTRICT", backref="+")
    role = pw.CharField(max_length=16, default="client", choices=choices(PARTICIPANT_ROLES))
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="RESTRICT", backref="+")
    comment = pw.TextField(default="")
    created_at = UtcDateTimeField(default=utcnow)
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "marketing_participant"
        indexes = ((("event", "partner", "contact"), True),)


class PrimaryInterest(RecordModel):
    """Первичный интерес of a client or a deal: channel + source."""

    subject_type = pw.CharField(max_length=100, null=True)
    subject_id = pw.IntegerField(null=True)
    partner = pw.ForeignKeyField(Partner, null=True, on_delete="RESTRICT", backref="+")
    channel = pw.ForeignKeyField(Channel, on_delete="RESTRICT", backref="interests")
    source_type = pw.CharField(max_length=100, null=True)
    source_id = pw.IntegerField(null=True)
    date = pw.DateField(null=True, index=True)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "marketing_primary_interest"
        indexes = ((("subject_type", "subject_id"), True), (("source_type", "source_id"), False))


class MailingGroup(RecordModel):
    """Группа рассылок и оповещений."""

    name = pw.CharField(max_length=200, unique=True)
    mode = pw.CharField(max_length=16, default="subscription", choices=choices(GROUP_MODES))
    send_email = pw.BooleanField(default=True)
    send_sms = pw.BooleanField(default=False)
    partner_email_label = pw.CharField(max_length=100, default="")
    contact_email_label = pw.CharField(max_length=100, default="")
    partner_phone_label = pw.CharField(max_length=100, default="")
    contact_phone_label = pw.CharField(max_length=100, default="")
    responsible = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
    purge_after_days = pw.IntegerField(null=True)
    description = pw.TextField(default="")

    class Meta:
        table_name = "marketing_mailing_group"


class NotificationKind(RecordModel):
    """Вид оповещения, e.g. ``claims.status_changed``."""

    code = pw.CharField(max_length=100, unique=True)
    name = pw.CharField(max_length=200)
    group = pw.ForeignKeyField(MailingGroup, null=True, on_delete="RESTRICT", backref="kinds")
    based_on = pw.CharField(max_length=100, default="")
    comment = pw.TextField(default="")

    class Meta:
        table_name = "marketing_notification_kind"


class Template(RecordModel):
    """Шаблон оповещения или рассылки: email (subject, text, HTML) and SMS."""

    name = pw.CharField(max_length=200)
    purpose = pw.CharField(max_length=16, default="notification", choices=choices(TEMPLATE_PURPOSES))
    kind = pw.ForeignKeyField(NotificationKind, null=True, on_delete="RESTRICT", backref="templates")
    group = pw.ForeignKeyField(MailingGroup, null=True, on_delete="RESTRICT", backref="templates")
    method = pw.CharField(max_length=16, default="template", choices=choices(TEMPLATE_METHODS))
    processing = pw.CharField(max_length=100, default="")
    email = pw.BooleanField(default=True)
    sms = pw.BooleanField(default=False)
    subject = pw.CharField(max_length=500, default="")
    body_text = pw.TextField(default="")
    body_html = pw.TextField(null=True)
    sms_text = pw.TextField(default="")

    class Meta:
        table_name = "marketing_template"


class Subscription(BaseModel):
    """Who gets a group's (or one kind's) messages, through which channel."""

    group = pw.ForeignKeyField(MailingGroup, on_delete="CASCADE", backref="subscriptions")
    kind = pw.ForeignKeyField(NotificationKind, null=True, on_delete="CASCADE", backref="+")
    partner = pw.ForeignKeyField(Partner, null=True, on_delete="CASCADE", backref="+")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="CASCADE", backref="+")
    channel = pw.CharField(max_length=16, default="email", choices=choices(MESSAGE_CHANNELS))
    address = pw.CharField(max_length=320, default="")
    active = pw.BooleanField(default=True)
    created_at = UtcDateTimeField(default=utcnow)
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "marketing_subscription"


class Consent(BaseModel):
    """The consent ledger: append-only, when/how/by whom consent or opt-out was given."""

    partner = pw.ForeignKeyField(Partner, null=True, on_delete="RESTRICT", backref="+")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="RESTRICT", backref="+")
    channel = pw.CharField(max_length=16, choices=choices(MESSAGE_CHANNELS))
    address = pw.CharField(max_length=320, default="", index=True)
    group = pw.ForeignKeyField(MailingGroup, null=True, on_delete="RESTRICT", backref="+")
    action = pw.CharField(max_length=16, choices=choices(CONSENT_ACTIONS))
    at = UtcDateTimeField(default=utcnow, index=True)
    method = pw.CharField(max_length=100, default="")
    given_by = pw.CharField(max_length=100, default="")
    comment = pw.TextField(default="")
    created_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "marketing_consent"


class Mailing(RecordModel):
    """Рассылка клиентам: one template sent to a segment, an event's participants
    or a group's subscribers."""

    name = pw.CharField(max_length=200)
    group = pw.ForeignKeyField(MailingGroup, on_delete="RESTRICT", backref="mailings")
    template = pw.ForeignKeyField(Template, on_delete="RESTRICT", backref="+")
    audience = pw.CharField(max_length=16, default="subscribers", choices=choices(AUDIENCES))
    segment = pw.ForeignKeyField(Segment, null=True, on_delete="RESTRICT", backref="+")
    event = pw.ForeignKeyField(Event, null=True, on_delete="RESTRICT", backref="mailings")
    state = pw.CharField(max_length=16, default="draft", choices=choices(MAILING_STATES))
    sent_at = UtcDateTimeField(null=True)
    sent_by = pw.CharField(max_length=100, default="")

    class Meta:
        table_name = "marketing_mailing"


class MailingRecipient(BaseModel):
    """One addressee of a mailing: queued (with its outbox message) or skipped."""

    mailing = pw.ForeignKeyField(Mailing, on_delete="CASCADE", backref="recipients")
    partner = pw.ForeignKeyField(Partner, null=True, on_delete="CASCADE", backref="+")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="CASCADE", backref="+")
    channel = pw.CharField(max_length=16)
    address = pw.CharField(max_length=320, default="")
    state = pw.CharField(max_length=16, choices=choices(RECIPIENT_STATES))
    reason = pw.CharField(max_length=300, default="")
    outbox_id = pw.IntegerField(null=True, index=True)
    created_at = UtcDateTimeField(default=utcnow)
    recipient_key = pw.CharField(max_length=400, null=True)   # mailings.recipient_key: unique per mailing

    class Meta:
        table_name = "marketing_mailing_recipient"
        indexes = ((("mailing", "recipient_key"), True),)


class Secret(BaseModel):
    """The plugin's own signing secret when ``CRMKIT_SECRET`` is not set."""

    name = pw.CharField(max_length=50, primary_key=True)
    value = pw.CharField(max_length=200)
    created_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "marketing_secret"


MODELS = [Channel, Event, Participant, PrimaryInterest, MailingGroup, NotificationKind, Template,
          Subscription, Consent, Mailing, MailingRecipient, Secret]
