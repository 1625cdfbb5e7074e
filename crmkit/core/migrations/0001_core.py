"""Core tables: partners, contacts, users, products, interactions, tasks,
notes, reminders, segments. A frozen copy of the models as they were."""
from peewee import *

PARTNER_KINDS = ("company", "individual")
GENDERS = ("male", "female")
CONTACT_INFO_KINDS = ("address", "phone", "email", "web", "fax", "other")
INTERACTION_KINDS = ("meeting", "planned", "call", "sms", "email")
DIRECTIONS = ("incoming", "outgoing")
PRIORITIES = ("low", "normal", "high")
TASK_STATES = ("active", "stopped", "done")
NOTE_COLOURS = ("none", "red", "orange", "yellow", "green", "blue", "violet")
SEGMENT_KINDS = ("partner", "product")
SEGMENT_METHODS = ("manual", "rule")



def _c(values):
    return [(v, v) for v in values]


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Record(Base):

        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)


    class AccessGroup(Record):
        name = CharField(max_length=100, unique=True)
        comment = TextField(default="")

        class Meta:
            table_name = "core_access_group"


    class Department(Record):
        name = CharField(max_length=150, unique=True)
        parent = ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")

        class Meta:
            table_name = "core_department"


    class User(Record):
        login = CharField(max_length=64, unique=True)
        name = CharField(max_length=150)
        department = ForeignKeyField(Department, null=True, on_delete="RESTRICT")
        email = CharField(max_length=254, default="")
        phone = CharField(max_length=32, default="")
        roles = CharField(max_length=200, default="readonly")   # comma-separated role names
        is_active = BooleanField(default=True)

        class Meta:
            table_name = "core_user"


    class UserAccess(Base):

        user = ForeignKeyField(User, on_delete="CASCADE")
        access_group = ForeignKeyField(AccessGroup, on_delete="CASCADE")
        created_at = DateTimeField(null=True)

        class Meta:
            table_name = "core_user_access"
            indexes = ((("user", "access_group"), True),)


    class Region(Record):
        name = CharField(max_length=150, unique=True)
        code = CharField(max_length=20, null=True, unique=True)

        class Meta:
            table_name = "core_region"


    class Partner(Record):
        code = CharField(max_length=20, unique=True)
        kind = CharField(max_length=16, default="company", choices=_c(PARTNER_KINDS))
        registered_on = DateField(null=True)
        public_name = CharField(max_length=200, default="")
        name = CharField(max_length=200, index=True)          # working name
        is_client = BooleanField(default=True)
        is_supplier = BooleanField(default=False)
        is_competitor = BooleanField(default=False)
        is_other = BooleanField(default=False)
        head = ForeignKeyField("self", null=True, backref="subsidiaries", on_delete="RESTRICT")
        manager = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        region = ForeignKeyField(Region, null=True, on_delete="RESTRICT")
        access_group = ForeignKeyField(AccessGroup, null=True, on_delete="RESTRICT")
        birth_date = DateField(null=True)
        gender = CharField(max_length=8, null=True, choices=_c(GENDERS))
        comment = TextField(default="")

        class Meta:
            table_name = "core_partner"


    class Contact(Record):
        partner = ForeignKeyField(Partner, backref="contacts", on_delete="RESTRICT")
        name = CharField(max_length=200)
        position = CharField(max_length=150, default="")
        role = CharField(max_length=100, default="")
        birth_date = DateField(null=True)
        gender = CharField(max_length=8, null=True, choices=_c(GENDERS))
        comment = TextField(default="")

        class Meta:
            table_name = "core_contact"


    class ContactInfo(Record):

        partner = ForeignKeyField(Partner, null=True, backref="contact_info", on_delete="CASCADE")
        contact = ForeignKeyField(Contact, null=True, backref="contact_info", on_delete="CASCADE")
        kind = CharField(max_length=16, choices=_c(CONTACT_INFO_KINDS))
        label = CharField(max_length=100, default="")       # "legal address", "mobile" ...
        value = CharField(max_length=500)
        normalized = CharField(max_length=320, default="", index=True)
        comment = TextField(default="")

        class Meta:
            table_name = "core_contact_info"


    class ProductGroup(Record):
        name = CharField(max_length=150)
        parent = ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")

        class Meta:
            table_name = "core_product_group"


    class Product(Record):
        code = CharField(max_length=50, unique=True)
        name = CharField(max_length=300)
        group = ForeignKeyField(ProductGroup, null=True, on_delete="RESTRICT")
        unit = CharField(max_length=20, default="pcs")
        comment = TextField(default="")

        class Meta:
            table_name = "core_product"


    class Interaction(Record):
        number = CharField(max_length=20, unique=True)
        kind = CharField(max_length=16, choices=_c(INTERACTION_KINDS))
        direction = CharField(max_length=16, null=True, choices=_c(DIRECTIONS))
        date = DateTimeField(index=True)
        duration = IntegerField(default=0)                  # minutes
        topic = CharField(max_length=300, default="")
        text = TextField(default="")
        how = CharField(max_length=100, default="")         # "by phone", address used
        responsible = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        partner = ForeignKeyField(Partner, null=True, backref="interactions", on_delete="RESTRICT")
        contact = ForeignKeyField(Contact, null=True, on_delete="RESTRICT")
        subject_type = CharField(max_length=100, null=True)
        subject_id = IntegerField(null=True)
        reply_to = ForeignKeyField("self", null=True, on_delete="SET NULL")
        external_id = CharField(max_length=300, null=True, index=True)   # Message-ID of an email
        done = BooleanField(default=True)

        class Meta:
            table_name = "core_interaction"
            indexes = ((("subject_type", "subject_id"), False),)


    class Task(Record):
        number = CharField(max_length=20, unique=True)
        title = CharField(max_length=300)
        description = TextField(default="")
        author = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="authored_tasks")
        performer = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="tasks")
        due = DateTimeField(null=True, index=True)
        priority = CharField(max_length=8, default="normal", choices=_c(PRIORITIES))
        state = CharField(max_length=8, default="active", choices=_c(TASK_STATES))
        done_at = DateTimeField(null=True)
        result = TextField(default="")
        partner = ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
        subject_type = CharField(max_length=100, null=True)
        subject_id = IntegerField(null=True)
        route_point = CharField(max_length=100, default="")   # set by processes (deals stages ...)

        class Meta:
            table_name = "core_task"
            indexes = ((("subject_type", "subject_id"), False),)


    class Note(Record):
        title = CharField(max_length=300)
        text = TextField(default="")
        colour = CharField(max_length=8, default="none", choices=_c(NOTE_COLOURS))
        author = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        private = BooleanField(default=False)
        partner = ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
        subject_type = CharField(max_length=100, null=True)
        subject_id = IntegerField(null=True)

        class Meta:
            table_name = "core_note"


    class Reminder(Record):
        user = ForeignKeyField(User, on_delete="CASCADE")
        remind_at = DateTimeField(index=True)
        event_at = DateTimeField(null=True)
        description = CharField(max_length=500)
        done = BooleanField(default=False)
        partner = ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
        subject_type = CharField(max_length=100, null=True)
        subject_id = IntegerField(null=True)

        class Meta:
            table_name = "core_reminder"


    class Segment(Record):
        name = CharField(max_length=200, unique=True)
        kind = CharField(max_length=16, default="partner", choices=_c(SEGMENT_KINDS))
        method = CharField(max_length=16, default="manual", choices=_c(SEGMENT_METHODS))
        rule = TextField(default="")        # JSON: {"all": [{"field":..,"op":..,"value":..}, ...]}
        comment = TextField(default="")
        computed_at = DateTimeField(null=True)

        class Meta:
            table_name = "core_segment"


    class SegmentMember(Base):

        segment = ForeignKeyField(Segment, on_delete="CASCADE", backref="members")
        member_id = IntegerField()
        added_at = DateTimeField(null=True)
        removed_at = DateTimeField(null=True)

        class Meta:
            table_name = "core_segment_member"
            indexes = ((("segment", "member_id", "removed_at"), False),)



    db.create_tables([AccessGroup, Department, User, UserAccess, Region, Partner, Contact,
                      ContactInfo, ProductGroup, Product, Interaction, Task, Note, Reminder,
                      Segment, SegmentMember])
