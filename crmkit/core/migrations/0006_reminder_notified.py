"""When a reminder's email was queued (``notified_at``): written in the
transaction that queues it, so a due reminder is queued once."""
from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(migrator.add_column("core_reminder", "notified_at", DateTimeField(null=True)),
                     migrator.add_index("core_reminder", ("notified_at", "remind_at"), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("core_reminder", "core_reminder_notified_at_remind_at"),
                     migrator.drop_column("core_reminder", "notified_at"))
