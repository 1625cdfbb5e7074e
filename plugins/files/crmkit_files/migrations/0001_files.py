"""Files and their contents. A frozen copy of the models as they were."""
from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Partner(Base):
        class Meta:
            table_name = "core_partner"

    class File(Base):
        deletion_mark = BooleanField(default=False)
        created_at = DateTimeField(null=True)
        changed_at = DateTimeField(null=True)
        subject_type = CharField(max_length=100, null=True)
        subject_id = IntegerField(null=True)
        partner = ForeignKeyField(Partner, null=True, on_delete="RESTRICT")
        name = CharField(max_length=255)
        mime = CharField(max_length=100, default="")
        size = BigIntegerField(default=0)
        sha256 = CharField(max_length=64, default="", index=True)
        comment = CharField(max_length=500, default="")

        class Meta:
            table_name = "files_file"
            indexes = ((("subject_type", "subject_id"), False),)

    class Blob(Base):
        sha256 = CharField(max_length=64, primary_key=True)
        size = BigIntegerField()
        content = BlobField()

        class Meta:
            table_name = "files_blob"

    db.create_tables([File, Blob])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "files_file"')
    db.execute_sql('DROP TABLE IF EXISTS "files_blob"')
