"""Duplicate detection and merges: the key index of duplicate rules and the
log of merged records (so that a merged record's code still resolves), and
the administrator's settings of each rule."""

from peewee import *


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class MatchKey(Base):
        entity = CharField(max_length=100)
        rule = CharField(max_length=50)
        key = CharField(max_length=320)
        record_id = IntegerField()
        text = CharField(max_length=300, default="")

        class Meta:
            table_name = "kernel_match_key"
            indexes = ((("entity", "rule", "key"), False), (("entity", "record_id"), False))

    class Merge(Base):
        entity = CharField(max_length=100)
        merged_id = IntegerField()
        survivor_id = IntegerField()
        user = CharField(max_length=100)
        at = DateTimeField()
        taken = TextField(default="{}")

        class Meta:
            table_name = "kernel_merge"
            indexes = ((("entity", "merged_id"), True),)

    class DuplicateSetting(Base):
        entity = CharField(max_length=100)
        rule = CharField(max_length=50)
        mode = CharField(max_length=8, default="warn")
        threshold = FloatField(null=True)
        changed_by = CharField(max_length=100, default="")
        changed_at = DateTimeField()

        class Meta:
            table_name = "kernel_duplicate_setting"
            indexes = ((("entity", "rule"), True),)

    db.create_tables([MatchKey, Merge, DuplicateSetting])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "kernel_match_key"')
    db.execute_sql('DROP TABLE IF EXISTS "kernel_merge"')
    db.execute_sql('DROP TABLE IF EXISTS "kernel_duplicate_setting"')
