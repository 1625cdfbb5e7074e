"""Attaching, reading and removing files: the logic the actions, commands
and pages call.

A file is read from its stream a megabyte at a time and refused as soon as
it passes the limit (``CRMKIT_FILES_MAX_BYTES``, default 20 MiB): a 2 GB
upload costs one megabyte past the limit, never 2 GB of memory. Its type is
sniffed from its first bytes (``sniff``); programs are refused. The content
is stored once per SHA-256: ``files_blob`` has a row per distinct content,
holding the bytes (in the database: the default, for small bases) or
naming a file ``<folder>/ab/cd/<sha256>`` on disk (``CRMKIT_FILES_DIR``
set: ``disk``). The ``files_file`` row says what is attached where and is
read through the subject's access.

On disk, a content is streamed into ``<folder>/.tmp`` (hashed and counted
as it comes, never held in memory), then renamed into place under a
shared lock on ``<folder>/.lock`` held until the transaction ends; a
content no row names any more (its last file removed or erased, or an
attach rolled back) is unlinked after the transaction ends, under the
exclusive lock, once the database says no ``files_blob`` row names it:
an attach of the same bytes running meanwhile keeps it. On PostgreSQL the
row itself is held too: an attach keeps it ``FOR SHARE`` to its commit
(writing it again when a removal deleted it first), a removal locks it
``FOR UPDATE`` before asking whether a file still names it.

A spool a crashed upload left in ``.tmp`` is unlinked once it has not been
written to for a day (``clean_tmp``: by the sweep, after a restore, and by
uploads every ten minutes). No clean-up follows a link: the store is
walked with ``os.walk(followlinks=False)`` and each folder checked with
``lstat``, so a link planted in the store cannot point an unlink outside it.
"""
from __future__ import annotations

import base64
import contextvars
import hashlib
import io
import os
import re
import secrets
from pathlib import Path

from crmkit import NotFound, ValidationError, at_transaction_end, plain

from . import models as m
from .sniff import HEAD, Executable, sniff

ENTITY = "files.file"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
HARD_MAX_BYTES = 512 * 1024 * 1024    # in the database: PostgreSQL's bytea and SQLite's blobs hold 1 GB
DISK_MAX_BYTES = 64 * 1024 ** 3       # on disk
DIGEST = re.compile(r"[0-9a-f]{64}")
CHUNK = 1024 * 1024
# no folders, no control characters (C0, DEL, C1), and none of the bidirectional controls that make a name
# read as another ("invoice\u202efdp.exe" shows as "invoiceexe.pdf"): they are dropped from a name
BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
NAME_BAD = re.compile(rf"[\x00-\x1f\x7f-\x9f/\\{BIDI}]")
attaching = contextvars.ContextVar("files_attaching", default=False)   # the one way a file row is made


class TooLarge(ValidationError):
    """A content past the limit (an upload route answers it 413)."""

    def __init__(self, limit):
        super().__init__({"content": [f"is larger than the limit of {limit:,} bytes".replace(",", " ")]}, ENTITY)


def max_bytes() -> int:
    raw = os.environ.get("CRMKIT_FILES_MAX_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError({"CRMKIT_FILES_MAX_BYTES": f"{raw!r} is not a number of bytes"}, ENTITY)
    return min(int(raw), DISK_MAX_BYTES if folder() is not None else HARD_MAX_BYTES)


def folder() -> Path | None:
    """The folder contents are stored in (``CRMKIT_FILES_DIR``), or None:
    in the database."""
    raw = os.environ.get("CRMKIT_FILES_DIR", "").strip()
    if not raw:
        return None
    root = Path(raw).expanduser()
    if not root.is_absolute():   # the web workers, cron and the CLI start in different folders
        raise ValidationError({"CRMKIT_FILES_DIR": f"{raw!r} is not an absolute path: every process must store "
                                                   f"in the same folder"}, ENTITY)
    if root.exists() and not root.is_dir():
        raise ValidationError({"CRMKIT_FILES_DIR": f"{raw!r} is not a folder"}, ENTITY)
    return root


def blob_path(root: Path, digest: str) -> Path:
    """Where a content lives: named by its SHA-256 only (64 hex digits,
    checked), never by anything a user typed."""
    if not DIGEST.fullmatch(digest or ""):
        raise ValueError(f"not a SHA-256: {digest!r}")
    return root / digest[:2] / digest[2:4] / digest


def _real_dir(path: Path) -> bool:
    """A folder itself, not a link to one (``lstat``)."""
    import stat
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _unlink_inside(root: Path, digest: str) -> bool:
    """Unlink a content's file, never through a linked folder: ``ab`` and
    ``ab/cd`` must be folders of the store themselves, or a link planted
    in the store would point the unlink at a file outside it."""
    final = blob_path(root, digest)
    if not (_real_dir(final.parent.parent) and _real_dir(final.parent)):
        return False
    try:
        final.unlink()   # a link named like a content is removed itself, its target never
        return True
    except FileNotFoundError:
        return False


STALE_TMP_SECONDS = 24 * 3600   # a spool untouched this long belongs to no running upload


def clean_tmp(root: Path, older_than: float = STALE_TMP_SECONDS) -> int:
    """Unlink the temporary files of uploads and restores that crashed
    (``<folder>/.tmp``), those not written to for ``older_than`` seconds:
    a running upload writes its spool a megabyte at a time, and a spool
    waiting for its transaction is renamed away within it. Only regular
    files directly in ``.tmp`` go (``lstat``: a link is not followed)."""
    import stat
    import time
    tmp = root / ".tmp"
    if not _real_dir(tmp):
        return 0
    cutoff, gone = time.time() - older_than, 0
    with os.scandir(tmp) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    os.unlink(entry.path)
                    gone += 1
            except FileNotFoundError:
                pass
    return gone


_cleaned = {}   # folder -> when this process last cleaned its .tmp


def _clean_now_and_then(root: Path, every: float = 600):
    """``clean_tmp`` at most every ten minutes per process, from uploads: a
    store where nothing is ever removed (no sweep) is cleaned all the same."""
    import time
    now = time.monotonic()
    if now - _cleaned.get(str(root), -every) >= every:
        _cleaned[str(root)] = now
        clean_tmp(root)


class _Lock:
    """``flock`` on ``<folder>/.lock``: shared while an attach's content
    waits for its transaction, exclusive while unused contents are unlinked."""

    def __init__(self, root: Path, exclusive: bool):
        import fcntl
        root.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)

    def release(self):
        if self.fd is not None:
            os.close(self.fd)   # closing drops the lock
            self.fd = None


_shared = contextvars.ContextVar("files_shared_locks", default=None)


def _spool(stream, root: Path, limit: int):
    """Stream into a temporary file under ``root``: ``(path, sha256, size,
    head)``, refused (the file removed) past ``limit``."""
    tmp = root / ".tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    _clean_now_and_then(root)
    path = tmp / f"{os.getpid()}-{secrets.token_hex(8)}"
    h, size, head = hashlib.sha256(), 0, b""
    try:
        with open(path, "wb") as out:
            while True:
                chunk = stream.read(min(CHUNK, limit + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise TooLarge(limit)
                if len(head) < HEAD:
                    head += chunk[:HEAD - len(head)]
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, h.hexdigest(), size, head


def _place(root: Path, spooled: Path, digest: str):
    """Rename the spooled content into its place (the same bytes under
    the same name, whoever wrote them first), under the shared lock held
    until the transaction ends; a rolled-back attach's content is swept."""
    lock = _Lock(root, exclusive=False)
    held = _shared.get()
    if held is None:
        held = []
        _shared.set(held)
    held.append(lock)
    final = blob_path(root, digest)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(spooled, final)

    def done(committed):
        lock.release()
        if lock in held:
            held.remove(lock)
        if not committed:
            sweep(root, [digest])
    at_transaction_end(done)


def sweep(root: Path, digests) -> int:
    """Unlink the contents among ``digests`` that no ``files_blob`` row
    names (after the transaction that dropped them ended), under the
    exclusive lock, so an attach of the same bytes still in its
    transaction keeps its file."""
    digests = sorted({d for d in digests if d and DIGEST.fullmatch(d)})
    if not digests:
        return 0
    for lock in _shared.get() or ():   # this context's own shared locks end with its transaction
        lock.release()
    lock = _Lock(root, exclusive=True)
    try:
        kept = {d for (d,) in m.Blob.select(m.Blob.sha256).where(m.Blob.sha256.in_(digests)).tuples()}
        gone = sum(_unlink_inside(root, digest) for digest in digests if digest not in kept)
        clean_tmp(root)
        return gone
    finally:
        lock.release()


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
            raise TooLarge(limit)


def clean_name(name) -> str:
    """The file's own name: no folders, no control or bidirectional
    characters (``NAME_BAD``)."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return NAME_BAD.sub("", text).strip()[:255]


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
    root = folder()
    spooled = None
    try:
        if root is None:
            content = read_bounded(stream, limit or max_bytes())
            digest, size, head = hashlib.sha256(content).hexdigest(), len(content), content[:HEAD]
        else:
            spooled, digest, size, head = _spool(stream, root, limit or max_bytes())
    except TooLarge:
        raise
    except ValidationError as exc:
        raise ValidationError({**errors, **exc.errors}, ENTITY) from None
    try:
        mime = ""
        if not size:
            errors["content"] = ["is empty"]
        else:
            try:
                mime = sniff(head, name)
            except Executable as exc:
                errors["content"] = [f"is a program ({exc.mime}), whatever its name says: programs are not stored"]
        if errors:
            raise ValidationError(errors, ENTITY)
        with crm.transaction():
            token = attaching.set(True)
            try:
                record = crm.create(ENTITY, {"subject": subject, "name": name, "comment": comment or ""})
            finally:
                attaching.reset(token)
            if root is None:
                m.Blob.insert(sha256=digest, size=size, content=content).on_conflict_ignore().execute()
            else:
                stored = m.Blob.get_or_none(m.Blob.sha256 == digest)
                if stored is None or stored.content is None:   # the same bytes in the database stay there
                    _place(root, spooled, digest)
                    spooled = None
                    m.Blob.insert(sha256=digest, size=size, content=None).on_conflict_ignore().execute()

            def again():   # the row went meanwhile (see _claim): the content is written as if it were new
                nonlocal spooled
                if root is None:
                    m.Blob.insert(sha256=digest, size=size, content=content).on_conflict_ignore().execute()
                    return
                if spooled is not None:
                    _place(root, spooled, digest)
                    spooled = None
                m.Blob.insert(sha256=digest, size=size, content=None).on_conflict_ignore().execute()
            _claim(digest, again)
            m.File.update(mime=mime, size=size, sha256=digest).where(m.File.id == record.id).execute()
    finally:
        if spooled is not None:
            spooled.unlink(missing_ok=True)
    return crm.get(ENTITY, record.id)


def _claim(digest, again):
    """Hold the content's row until this transaction ends (PostgreSQL:
    ``FOR SHARE``), so that a removal of its last other file, which locks
    it ``FOR UPDATE`` before it asks whether a file still names it, either
    waits for this attach and sees its file, or has deleted the row first:
    then it is written again here (an insert ignored while that row still
    stood would leave this file naming a content that is gone); ``again()``
    writes it."""
    from crmkit.kernel.db import is_sqlite
    if is_sqlite():   # one writer at a time: no removal runs between the insert and the commit
        return
    while not list(m.Blob.select(m.Blob.sha256).where(m.Blob.sha256 == digest).for_update("FOR SHARE").tuples()):
        again()


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
    record, stream = open_content(crm, key)
    with stream:
        return record, stream.read()


def open_content(crm, key):
    """``(file record, binary stream)`` of a file the user sees: the file on
    disk, or the database's bytes."""
    record = crm.get(ENTITY, key)
    return record, _blob_stream(record)


def _blob_stream(record):
    blob = m.Blob.get_or_none(m.Blob.sha256 == record.sha256)
    if blob is not None and blob.content is not None:
        return io.BytesIO(bytes(blob.content))
    root = folder()
    if blob is not None and root is not None:
        try:
            return open(blob_path(root, record.sha256), "rb")
        except FileNotFoundError:
            pass
    raise NotFound(f"the content of file {record.id} is missing"
                   + ("" if blob is None or root is not None else ": it is stored on disk and CRMKIT_FILES_DIR is not set"))


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
    from crmkit.kernel.db import is_sqlite
    if not is_sqlite():   # an attach of the same bytes holds their row: wait for it, then ask (see _claim)
        list(m.Blob.select(m.Blob.sha256).where(m.Blob.sha256.in_(digests)).order_by(m.Blob.sha256)
             .for_update().tuples())
    used = {d for (d,) in m.File.select(m.File.sha256).where(m.File.sha256.in_(digests)).tuples()}
    from crmkit import unfinished_messages
    used |= {d for (d,) in m.Hold.select(m.Hold.sha256).where(   # a message still to send keeps its images
        m.Hold.sha256.in_(digests) & m.Hold.message_id.in_(unfinished_messages())).distinct().tuples()}
    gone = [d for d in digests if d not in used]
    if not gone:
        return 0
    on_disk = [d for (d,) in m.Blob.select(m.Blob.sha256).where(m.Blob.sha256.in_(gone) & m.Blob.content.is_null())
               .tuples()]
    n = m.Blob.delete().where(m.Blob.sha256.in_(gone)).execute()
    root = folder()
    if on_disk and root is not None:
        at_transaction_end(lambda committed: sweep(root, on_disk) if committed else None)
    return n


# -- contents outbox messages refer to --------------------------------------------

def hold(digests, message_id):
    """Keep the contents ``digests`` until outbox message ``message_id`` is
    sent (a mailing's images, referred to by their SHA-256 instead of their
    bytes in every message): removing their last file meanwhile keeps them.
    Called in the transaction that queues the message; a content already
    gone is refused naming it (PostgreSQL: its row is held ``FOR SHARE``,
    so a removal running meanwhile waits, then sees this hold)."""
    from crmkit.kernel.db import is_sqlite
    digests = sorted({d for d in digests if d})
    if not digests:
        return
    q = m.Blob.select(m.Blob.sha256).where(m.Blob.sha256.in_(digests)).order_by(m.Blob.sha256)
    found = {d for (d,) in (q if is_sqlite() else q.for_update("FOR SHARE")).tuples()}
    missing = [d for d in digests if d not in found]
    if missing:
        raise ValidationError({"content": [f"the content {d[:16]}... was removed meanwhile" for d in missing]},
                              ENTITY)
    m.Hold.insert_many([{"sha256": d, "message_id": message_id} for d in digests]).on_conflict_ignore().execute()


def release(message_id) -> int:
    """Outbox message ``message_id`` was sent: its holds go, and with them
    the contents that no file and no other message still to send names
    (those a file still names stay, and go with that file's removal). The
    holds of messages finished otherwise (skipped, cancelled, purged) go
    too, a few hundred at a time, at most every ten minutes per process.
    Returns the contents dropped."""
    import time
    from crmkit import unfinished_messages
    H = m.Hold
    mine = [d for (d,) in H.select(H.sha256).where(H.message_id == message_id).tuples()]
    H.delete().where(H.message_id == message_id).execute()
    now = time.monotonic()
    if now - _released.get("at", -600.0) >= 600:
        _released["at"] = now
        for digest, other in list(H.select(H.sha256, H.message_id)
                                  .where(H.message_id.not_in(unfinished_messages())).limit(500).tuples()):
            H.delete().where((H.sha256 == digest) & (H.message_id == other)).execute()
            mine.append(digest)
    if not mine:
        return 0
    named = {d for (d,) in m.File.select(m.File.sha256).where(m.File.sha256.in_(mine)).tuples()}
    return drop_unused([d for d in mine if d not in named])   # the usual case: the template still has it


_released: dict = {}


_read_cache: dict = {}   # sha256 -> bytes: a content never changes under its hash
_READ_CACHE_BYTES = 16 * 1024 * 1024


def content_of_digest(digest) -> bytes | None:
    """The bytes stored under ``digest``, or None when no longer stored: for
    sending a message that refers to them (read once per process and kept,
    up to 16 MiB: a mailing's thousands of messages share its images)."""
    if not DIGEST.fullmatch(digest or ""):
        return None
    if digest in _read_cache:
        return _read_cache[digest]
    blob = m.Blob.get_or_none(m.Blob.sha256 == digest)
    if blob is None:
        return None
    if blob.content is not None:
        data = bytes(blob.content)
    else:
        root = folder()
        if root is None:
            return None
        try:
            data = blob_path(root, digest).read_bytes()
        except FileNotFoundError:
            return None
    if hashlib.sha256(data).hexdigest() != digest:   # a changed file on disk is not sent as the image
        return None
    while _read_cache and sum(map(len, _read_cache.values())) + len(data) > _READ_CACHE_BYTES:
        _read_cache.pop(next(iter(_read_cache)))
    if len(data) <= _READ_CACHE_BYTES:
        _read_cache[digest] = data
    return data


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
        try:
            with _blob_stream(record) as stream:
                data = base64.b64encode(stream.read()).decode()
        except NotFound:
            data = None
        out.append({**describe(record), "content_base64": data})
    return {"files": out}


# -- backup and restore -------------------------------------------------------------

PREFIX = "files/"
_restoring = []   # the shared lock restore_files holds until restored


def backup_files(execute) -> list:
    """``(name, path)`` of every content on disk the snapshot's
    ``files_blob`` rows name (those in the database travel in its data)."""
    digests = [d for (d,) in execute('SELECT "sha256" FROM "files_blob" WHERE "content" IS NULL ORDER BY 1')]
    if not digests:
        return []
    root = folder()
    if root is None:
        from crmkit import CrmError
        raise CrmError(f"{len(digests)} files are kept on disk and CRMKIT_FILES_DIR is not set: "
                       f"set it to their folder to back them up")
    return [(PREFIX + digest, blob_path(root, digest)) for digest in digests if DIGEST.fullmatch(digest)]


def restore_files(files) -> list:
    """Put the backup's contents in place (each checked against its name:
    the SHA-256 is the name); taken: the names under ``files/``."""
    from crmkit import CrmError
    mine = {name: path for name, path in files.items() if name.startswith(PREFIX)}
    if not mine:
        return []
    root = folder()
    if root is None:
        raise CrmError(f"the backup holds {len(mine)} files kept on disk: set CRMKIT_FILES_DIR to the folder "
                       f"they go to")
    for name, path in sorted(mine.items()):
        digest = name[len(PREFIX):]
        if not DIGEST.fullmatch(digest) or _sha256_of(path) != digest:
            raise CrmError(f"the backup's file {name} is not the content its name says")
    import shutil
    # held until the data is replaced (``restored``): a removal in the live data meanwhile must not
    # unlink a content found in place here, which the restored rows will name
    _restoring.append(_Lock(root, exclusive=False))
    for name, path in sorted(mine.items()):
        final = blob_path(root, name[len(PREFIX):])
        if final.exists():
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = root / ".tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        part = tmp / f"{os.getpid()}-{secrets.token_hex(8)}"
        shutil.copyfile(path, part)
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(part, final)
    return list(mine)


def restored(execute):
    """After a restore: unlink every content in the folder that the
    restored ``files_blob`` rows do not name (under the exclusive lock)."""
    while _restoring:   # restore_files' shared lock: the data is replaced (or the restore refused)
        _restoring.pop().release()
    root = folder()
    if root is None or not root.is_dir():
        return 0
    lock = _Lock(root, exclusive=True)   # first: an attach committing meanwhile is named below
    try:
        try:
            named = {d for (d,) in execute('SELECT "sha256" FROM "files_blob" WHERE "content" IS NULL')}
        except Exception:   # no files table (the plugin installed after the backup): nothing names a file
            return 0
        gone = 0
        for digest in _contents_on_disk(root):
            if digest not in named and _unlink_inside(root, digest):
                gone += 1
        clean_tmp(root)
        return gone
    finally:
        lock.release()


PART = re.compile(r"[0-9a-f]{2}")


def _contents_on_disk(root: Path):
    """The digests of the files at ``<folder>/ab/cd/<sha256>``, walking real
    folders only: a link to a folder is not followed (``os.walk``'s
    ``followlinks=False``, ``lstat``), so nothing outside the store is
    listed, however the store was tampered with."""
    for top, folders, files in os.walk(root, followlinks=False):
        depth = len(Path(top).relative_to(root).parts)
        if depth < 2:
            folders[:] = [f for f in folders if PART.fullmatch(f) and _real_dir(Path(top) / f)]
            continue
        folders[:] = []
        for name in files:
            if DIGEST.fullmatch(name) and name[:2] == Path(top).parent.name and name[2:4] == Path(top).name:
                yield name


def _sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()
