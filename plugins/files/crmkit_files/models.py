"""Files tables, prefixed ``files_``: what is attached where, and the
contents, one row per distinct SHA-256."""
import peewee as pw

from crmkit import BaseModel, RecordModel
from crmkit.core.models import Partner


class File(RecordModel):
    """A file attached to a subject (``subject_type``/``subject_id``)."""

    subject_type = pw.CharField(max_length=100, null=True)   # never empty: see hooks
    subject_id = pw.IntegerField(null=True)
    partner = pw.ForeignKeyField(Partner, null=True, on_delete="RESTRICT")   # derived from the subject
    name = pw.CharField(max_length=255)
    mime = pw.CharField(max_length=100, default="")
    size = pw.BigIntegerField(default=0)
    sha256 = pw.CharField(max_length=64, default="", index=True)
    comment = pw.CharField(max_length=500, default="")

    class Meta:
        table_name = "files_file"
        indexes = ((("subject_type", "subject_id"), False),)


class Blob(BaseModel):
    """One distinct content; files with the same bytes share it. ``content``
    holds the bytes, or is null when they are a file on disk
    (``store.blob_path``)."""

    sha256 = pw.CharField(max_length=64, primary_key=True)
    size = pw.BigIntegerField()
    content = pw.BlobField(null=True)

    class Meta:
        table_name = "files_blob"


class Hold(BaseModel):
    """A content an outbox message refers to (a mailing's image, by its
    SHA-256): kept while the message may still be sent, even when the last
    file with those bytes is removed meanwhile."""

    sha256 = pw.CharField(max_length=64)
    message_id = pw.IntegerField(index=True)

    class Meta:
        table_name = "files_hold"
        primary_key = pw.CompositeKey("sha256", "message_id")
