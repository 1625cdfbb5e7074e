"""Core tables, prefixed ``core_``."""
import peewee as pw

from crmkit import BaseModel, MoneyField, RecordModel, UtcDateTimeField, choices, utcnow  # noqa: F401

from .kinds import (CONTACT_INFO_KINDS, DIRECTIONS, GENDERS, INTERACTION_KINDS, NOTE_COLOURS,  # noqa: F401
                    PARTNER_KINDS, PRIORITIES, SEGMENT_KINDS, SEGMENT_METHODS, TASK_STATES)


class AccessGroup(RecordModel):
    name = pw.CharField(max_length=100, unique=True)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "core_access_group"


class Department(RecordModel):
    name = pw.CharField(max_length=150, unique=True)
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")

    class Meta:
        table_name = "core_department"


class User(RecordModel):
    login = pw.CharField(max_length=64, unique=True)
    name = pw.CharField(max_length=150)
    department = pw.ForeignKeyField(Department, null=True, on_delete="RESTRICT")
    email = pw.CharField(max_length=254, default="")
    phone = pw.CharField(max_length=32, default="")
    roles = pw.CharField(max_length=200, default="readonly")   # comma-separated role names
    is_active = pw.BooleanField(default=True)
    lang = pw.CharField(max_length=8, default="", choices=choices(("", "en", "ru")))   # "" = the browser's
    time_zone = pw.CharField(max_length=64, default="")   # IANA name; "" = the operator's zone

    class Meta:
        table_name = "core_user"


class UserPassword(BaseModel):
    """A user's password, as an argon2id hash (never the password). Not an
    entity: no list, card, export or import can read or set it; only
    ``crmkit.core.passwords`` does."""

    user = pw.ForeignKeyField(User, unique=True, on_delete="CASCADE")
    hash = pw.CharField(max_length=255)
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "core_user_password"


class CalendarFeed(BaseModel):
    """A user's iCalendar feed: the SHA-256 of the secret in its URL (the
    secret itself is shown once, like an API token). Not an entity."""

    user = pw.ForeignKeyField(User, unique=True, on_delete="CASCADE")
    secret_hash = pw.CharField(max_length=64, unique=True)
    created_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "core_calendar_feed"


class LoginFailure(BaseModel):
    """Failed sign-ins per login (known or not, so a lockout tells nobody
    which logins exist), and the time until which the login is locked."""

    login = pw.CharField(max_length=64, unique=True)
    failures = pw.IntegerField(default=0)
    last_failed_at = UtcDateTimeField(null=True)
    locked_until = UtcDateTimeField(null=True)

    class Meta:
        table_name = "core_login_failure"


class UserAccess(BaseModel):
    """Grants a user one access group of partners."""

    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    access_group = pw.ForeignKeyField(AccessGroup, on_delete="CASCADE")
    created_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "core_user_access"
        indexes = ((("user", "access_group"), True),)


class Region(RecordModel):
    name = pw.CharField(max_length=150, unique=True)
    code = pw.CharField(max_length=20, null=True, unique=True)

    class Meta:
        table_name = "core_region"


class Partner(RecordModel):
    code = pw.CharField(max_length=20, unique=True)
    kind = pw.CharField(max_length=16, default="company", choices=choices(PARTNER_KINDS))
    registered_on = pw.DateField(null=True)
    public_name = pw.CharField(max_length=200, default="")
    name = pw.CharField(max_length=200, index=True)          # working name
    is_client = pw.BooleanField(default=True)
    is_supplier = pw.BooleanField(default=False)
    is_competitor = pw.BooleanField(default=False)
    is_other = pw.BooleanField(default=False)
    head = pw.ForeignKeyField("self", null=True, backref="subsidiaries", on_delete="RESTRICT")
    manager = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT")
    region = pw.ForeignKeyField(Region, null=True, on_delete="RESTRICT")
    access_group = pw.ForeignKeyField(AccessGroup, null=True, on_delete="RESTRICT")
    birth_date = pw.DateField(null=True)
    gender = pw.CharField(max_length=8, null=True, choices=choices(GENDERS))
    inn = pw.CharField(max_length=12, default="", index=True)   # taxpayer number (ИНН)
    kpp = pw.CharField(max_length=9, default="")                # branch code (КПП)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "core_partner"


class Contact(RecordModel):
    partner = pw.ForeignKeyField(Partner, backref="contacts", on_delete="RESTRICT")
    name = pw.CharField(max_length=200)
    position = pw.CharField(max_length=150, default="")
    role = pw.CharField(max_length=100, default="")
    birth_date = pw.DateField(null=True)
    gender = pw.CharField(max_length=8, null=True, choices=choices(GENDERS))
    comment = pw.TextField(default="")

    class Meta:
        table_name = "core_contact"


class ContactInfo(RecordModel):
    """An address, phone, email or web site of a partner or a contact."""

    partner = pw.ForeignKeyField(Partner, null=True, backref="contact_info", on_delete="CASCADE")
    contact = pw.ForeignKeyField(Contact, null=True, backref="contact_info", on_delete="CASCADE")
    kind = pw.CharField(max_length=16, choices=choices(CONTACT_INFO_KINDS))
    label = pw.CharField(max_length=100, default="")       # "legal address", "mobile" ...
    value = pw.CharField(max_length=500)
    normalized = pw.CharField(max_length=320, default="", index=True)
    comment = pw.TextField(default="")

    class Meta:
        table_name = "core_contact_info"


class ProductGroup(RecordModel):
    name = pw.CharField(max_length=150)
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")

    class Meta:
        table_name = "core_product_group"


class Product(RecordModel):
    code = pw.CharField(max_length=50, unique=True)
    name = pw.CharField(max_length=300)
    group = pw.ForeignKeyField(ProductGroup, null=True, on_delete="RESTRICT")
    unit = pw.CharField(max_length=20, default="pcs")
    comment = pw.TextField(default="")

    class Meta:
        table_name = "core_product"


class Interaction(RecordModel):
    number = pw.CharField(max_length=20, unique=True)
    kind = pw.CharField(max_length=16, choices=choices(INTERACTION_KINDS))
    direction = pw.CharField(max_length=16, null=True, choices=choices(DIRECTIONS))
    date = UtcDateTimeField(index=True)
    duration = pw.IntegerField(default=0)                  # minutes
    topic = pw.CharField(max_length=300, default="")
    text = pw.TextField(default="")
    how = pw.CharField(max_length=100, default="")         # "by phone", address used
    responsible = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT")
    partner = pw.ForeignKeyField(Partner, null=True, backref="interactions", on_delete="RESTRICT")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="RESTRICT")
    subject_type = pw.CharField(max_length=100, null=True)
    subject_id = pw.IntegerField(null=True)
    reply_to = pw.ForeignKeyField("self", null=True, on_delete="SET NULL")
    external_id = pw.CharField(max_length=300, null=True, index=True)   # Message-ID of an email
    done = pw.BooleanField(default=True)

    class Meta:
        table_name = "core_interaction"
        indexes = ((("subject_type", "subject_id"), False),)


class Task(RecordModel):
    number = pw.CharField(max_length=20, unique=True)
    title = pw.CharField(max_length=300)
    description = pw.TextField(default="")
    author = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="authored_tasks")
    performer = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="tasks")
    due = UtcDateTimeField(null=True, index=True)
    priority = pw.CharField(max_length=8, default="normal", choices=choices(PRIORITIES))
    state = pw.CharField(max_length=8, default="active", choices=choices(TASK_STATES))
    done_at = UtcDateTimeField(null=True)
    result = pw.TextField(default="")
    partner = pw.ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
    subject_type = pw.CharField(max_length=100, null=True)
    subject_id = pw.IntegerField(null=True)
    route_point = pw.CharField(max_length=100, default="")   # set by processes (deals stages ...)

    class Meta:
        table_name = "core_task"
        indexes = ((("subject_type", "subject_id"), False),)


class Note(RecordModel):
    title = pw.CharField(max_length=300)
    text = pw.TextField(default="")
    colour = pw.CharField(max_length=8, default="none", choices=choices(NOTE_COLOURS))
    author = pw.ForeignKeyField(User, null=True, on_delete="RESTRICT")
    private = pw.BooleanField(default=False)
    partner = pw.ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
    subject_type = pw.CharField(max_length=100, null=True)
    subject_id = pw.IntegerField(null=True)

    class Meta:
        table_name = "core_note"


class Reminder(RecordModel):
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    remind_at = UtcDateTimeField(index=True)
    event_at = UtcDateTimeField(null=True)
    description = pw.CharField(max_length=500)
    done = pw.BooleanField(default=False)
    partner = pw.ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
    subject_type = pw.CharField(max_length=100, null=True)
    subject_id = pw.IntegerField(null=True)
    notified_at = UtcDateTimeField(null=True)   # its email was queued (crmkit.core.reminders)

    class Meta:
        table_name = "core_reminder"
        indexes = ((("notified_at", "remind_at"), False),)


class Segment(RecordModel):
    name = pw.CharField(max_length=200, unique=True)
    kind = pw.CharField(max_length=16, default="partner", choices=choices(SEGMENT_KINDS))
    method = pw.CharField(max_length=16, default="manual", choices=choices(SEGMENT_METHODS))
    rule = pw.TextField(default="")        # JSON: {"all": [{"field":..,"op":..,"value":..}, ...]}
    comment = pw.TextField(default="")
    computed_at = UtcDateTimeField(null=True)

    class Meta:
        table_name = "core_segment"


class SegmentMember(BaseModel):
    """A member of a segment, with the dates it joined and left."""

    segment = pw.ForeignKeyField(Segment, on_delete="CASCADE", backref="members")
    member_id = pw.IntegerField()
    added_at = UtcDateTimeField(default=utcnow)
    removed_at = UtcDateTimeField(null=True)

    class Meta:
        table_name = "core_segment_member"
        indexes = ((("segment", "member_id", "removed_at"), False),)


MODELS = [AccessGroup, Department, User, UserAccess, Region, Partner, Contact, ContactInfo,
          ProductGroup, Product, Interaction, Task, Note, Reminder, Segment, SegmentMember]


class ApiToken(BaseModel):
    """A personal API token: only the SHA-256 of its secret is kept, so a
    copy of the database gives nobody a working token."""

    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    name = pw.CharField(max_length=100, default="")
    token_hash = pw.CharField(max_length=64, unique=True)   # hex SHA-256 of the secret
    prefix = pw.CharField(max_length=16)                     # first characters, to tell tokens apart
    created_at = UtcDateTimeField(default=utcnow)
    expires_at = UtcDateTimeField(null=True)
    last_used_at = UtcDateTimeField(null=True)
    revoked_at = UtcDateTimeField(null=True)

    class Meta:
        table_name = "core_api_token"


class CurrencyRate(RecordModel):
    """The rate of a currency on a date: ``multiplier`` units of ``currency``
    cost ``rate`` units of the base currency the rates are quoted in (the
    Central Bank of Russia quotes 100 JPY = 59.8 RUB as rate 59.8, multiplier
    100). The latest rate on or before a date is the rate of that date."""

    currency = pw.CharField(max_length=3)
    date = pw.DateField()
    # an amount of the base currency, with six places on every database (SQLite keeps no scale)
    rate = MoneyField(max_digits=20, decimal_places=6)
    multiplier = pw.IntegerField(default=1)
    source = pw.CharField(max_length=32, default="")     # "cbr", "file", "" when typed in

    class Meta:
        table_name = "core_currency_rate"
        indexes = ((("currency", "date"), True),)
