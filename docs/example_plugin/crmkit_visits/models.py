"""The plugin's one table. Core's models are the public API of the core plugin."""
import peewee as pw

from crmkit import BaseModel, UtcDateTimeField, utcnow
from crmkit.core.models import Partner


class Visit(BaseModel):
    code = pw.CharField(max_length=20, unique=True)
    partner = pw.ForeignKeyField(Partner, on_delete="RESTRICT")
    date = pw.DateField()
    kilometres = pw.IntegerField(default=0)
    note = pw.TextField(default="")
    deletion_mark = pw.BooleanField(default=False)
    created_at = UtcDateTimeField(default=utcnow)
    changed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "visits_visit"
