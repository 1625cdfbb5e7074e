"""The plugin's one table. Core's models are the public API of the core plugin.

A visit is a business record, so it is a ``RecordModel``: the deletion mark
and the ``created_at``/``changed_at`` moments come with it (the kernel
stamps them on every write); the migration's frozen copy still lists them.
"""
import peewee as pw

from crmkit import RecordModel
from crmkit.core.models import Partner


class Visit(RecordModel):
    code = pw.CharField(max_length=20, unique=True)
    partner = pw.ForeignKeyField(Partner, on_delete="RESTRICT")
    date = pw.DateField()
    kilometres = pw.IntegerField(default=0)
    note = pw.TextField(default="")

    class Meta:
        table_name = "visits_visit"
