"""Attaching, reading and removing files: the logic the actions, commands
and pages call.

A file is read from its stream a megabyte at a time and refused as soon as
it passes the limit (``CRMKIT_FILES_MAX_BYTES``, default 20 MiB): a 2 GB
upload costs one megabyte past the limit, never 2 GB of memory. Its type is
sniffed from its first bytes (``sniff``); programs are refused. The content
is stored once per SHA-256 in ``files_blob`` (in the database: backups and
restores carry it, transactions cover it); the ``files_file`` row says
what is attached where and is read through the subject's access.
"""
from __future__ import annotations

import base64
import contextvars
import hashlib
import io
import os
import re

from crmkit import NotFound, ValidationError, plain

from . import models as m
from .sniff import HEAD, Executable, sniff

ENTITY = "files.file"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
HARD_MAX_BYTES = 512 * 1024 * 1024    # a database value: PostgreSQL's bytea and SQLite's blobs hold 1 GB
CHUNK = 1024 * 1024
NAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\]")
attaching = contextvars.ContextVar("files_attaching", default=False)   # the one way a file row is made


def max_bytes() -> int:
    raw = os.environ.get("CRMKIT_FILES_MAX_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError({"CRMKIT_FILES_MAX_BYTES": f"{raw!r} is not a number of bytes"}, ENTITY)
    return min(int(raw), HARD_MAX_BYTES)


def read_bounded(stream, limit: int) -> bytes:
    """The stream's bytes, refused (naming the limit) as soon as more than
    ``limit`` arrive: at most ``limit`` + one chunk is ever read."""
    buf = io.BytesIO()
    while True:
        chunk = stream.read(min(CHUNK, limit + 1 - buf.tell()))
        if not chunk:
            return buf.getvalue()
        buf.write(chunk)
        if buf.tell() > limit:
            raise ValidationError({"content": [f"is larger than the limit of {limit:,} bytes".replace(",", " ")]},
                                  ENTITY)


def clean_name(name) -> str:
    """The file's own name: no folders, no control characters."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return NAME_BAD.sub("", text)[:255]


def attach(crm, subject, name, stream, comment="", limit=None):
    """Attach the bytes of ``stream`` to ``subject`` (``"deals.deal:5"`` or
    ``(entity, id)``) the user sees; a ValidationError names every problem."""
    crm.require("create", ENTITY)
    errors = {}
    name = clean_name(name)
    if not name:
        errors["name"] = ["a file needs a name"]
    try:
        crm.subject(subject)
    except (NotFound, ValidationError):
        errors["subject"] = [f"{subject!r} does not exist"]
    try:
        content = read_bounded(stream, limit or max_bytes())
    except ValidationError as exc:
        raise ValidationError({**errors, **exc.errors}, ENTITY) from None
    mime = ""
    if not content:
        errors["content"] = ["is empty"]
    else:
        try:
            mime = sniff(content[:HEAD], name)
        except Executable as exc:
            errors["content"] = [f"is a program ({exc.mime}), whatever its name says: programs are not stored"]
    if errors:
        raise ValidationError(errors, ENTITY)
    digest = hashlib.sha256(content).hexdigest()
    with crm.transaction():
        token = attaching.set(True)
        try:
            record = crm.create(ENTITY, {"subject": subject, "name": name, "comment": comment or ""})
        finally:
            attaching.reset(token)
        m.Blob.insert(sha256=digest, size=len(content), content=content).on_conflict_ignore().execute()
        m.File.update(mime=mime, size=len(content), sha256=digest).where(m.File.id == record.id).execute()
    return crm.get(ENTITY, record.id)


def attach_base64(crm, subject, name, content, comment=""):
    """``attach`` of content given as base64 (the API's JSON)."""
    limit = max_bytes()
    if len(content or "") > (limit * 4) // 3 + 8:
        raise ValidationError({"content": [f"is larger than the limit of {limit} bytes"]}, ENTITY)
    try:
        raw = base64.b64decode(content or "", validate=True)
    except ValueError:
        raise ValidationError({"content": ["is not base64"]}, ENTITY) from None
    return attach(crm, subject, name, io.BytesIO(raw), comment, limit)


def content(crm, key):
    """``(file record, bytes)`` of a file the user sees."""
    record = crm.get(ENTITY, key)
    blob = m.Blob.get_or_none(m.Blob.sha256 == record.sha256)
    if blob is None:
        raise NotFound(f"the content of file {record.id} is missing")
    return record, bytes(blob.content)


def listing(crm, subject) -> list:
    """The files of a subject the user sees, newest first."""
    entity, record = crm.subject(subject)
    F = m.File
    return list(crm.query(ENTITY).where((F.subject_type == entity) & (F.subject_id == record.get_id()))
                .order_by(F.id.desc()))


def remove(crm, key):
    """Delete a file (mark and delete: the role's ``d`` grant); its content
    goes when no other file holds it."""
    with crm.transaction():
        record = crm.get(ENTITY, key)
        if not record.deletion_mark:
            crm.mark_deleted(ENTITY, record.id)
        crm.delete(ENTITY, record.id)
        drop_unused([record.sha256])
    return record


def drop_unused(digests):
    digests = [d for d in set(digests) if d]
    if not digests:
        return 0
    used = {d for (d,) in m.File.select(m.File.sha256).where(m.File.sha256.in_(digests)).tuples()}
    gone = [d for d in digests if d not in used]
    return m.Blob.delete().where(m.Blob.sha256.in_(gone)).execute() if gone else 0


def describe(record) -> dict:
    return {"id": record.id, "name": record.name, "mime": record.mime, "size": record.size,
            "subject": f"{record.subject_type}:{record.subject_id}", "sha256": record.sha256,
            "comment": record.comment, "created_at": plain(record.created_at)}


# -- personal data ------------------------------------------------------------------

def _personal(partner_id, contact_ids):
    """Files of a person: attached to their partner record or contact
    persons, to anything hanging off the partner, or to the interactions
    with those contact persons."""
    from crmkit.core.models import Interaction
    F = m.File
    cond = F.id < 0
    if partner_id is not None:
        cond |= (F.partner == partner_id) | ((F.subject_type == "core.partner") & (F.subject_id == partner_id))
    if contact_ids:
        talks = Interaction.select(Interaction.id).where(Interaction.contact.in_(list(contact_ids)))
        cond |= ((F.subject_type == "core.contact") & F.subject_id.in_(list(contact_ids))) | \
            ((F.subject_type == "core.interaction") & F.subject_id.in_(talks))
    return F.select().where(cond)


def erase_personal(crm, partner_id, contact_ids) -> int:
    rows = list(_personal(partner_id, contact_ids))
    if not rows:
        return 0
    m.File.delete().where(m.File.id.in_([r.id for r in rows])).execute()
    crm.scrub_history(ENTITY, [r.id for r in rows])
    drop_unused([r.sha256 for r in rows])
    return len(rows)


def collect_personal(crm, partner_id, contact_ids) -> dict:
    ids = [r.id for r in _personal(partner_id, contact_ids)]
    if not ids:
        return {"files": []}
    out = []
    for record in crm.query(ENTITY).where(m.File.id.in_(ids)).order_by(m.File.id):
        blob = m.Blob.get_or_none(m.Blob.sha256 == record.sha256)
        out.append({**describe(record),
                    "content_base64": base64.b64encode(bytes(blob.content)).decode() if blob else None})
    return {"files": out}
