"""Read mailboxes: a Maildir (new/ and cur/) or a folder of .eml files, and
IMAP. Both hand raw bytes to ``incoming.register_raw``.

One message never blocks the mailbox: a message that cannot be registered
(a parser's RecursionError on absurd nesting, a value the database refuses
...) is moved aside -- into ``failed/`` beside ``new/`` and ``cur/`` (or inside
the .eml folder), with a ``.reason`` file -- and remembered as ``failed``
with the reason; the rest is read on. On IMAP it is flagged and marked seen.
Only a busy database stops the reading (the message stays where it was and
the next fetch reads it again).
"""
from __future__ import annotations

import imaplib
import logging
import os
import ssl
from pathlib import Path

from crmkit import Busy, TemporaryFailure, ValidationError

from .incoming import record_failure, register_raw

log = logging.getLogger("crmkit.email")
FAILED = "failed"


def _count(counts, row):
    counts[row.state] = counts.get(row.state, 0) + 1


def fetch_folder(crm, folder, limit=10000) -> dict:
    """Register the messages of a Maildir or .eml folder.

    In a Maildir, messages read from ``new/`` are moved to ``cur/`` marked
    seen, as a mail client would; .eml files stay where they are (their
    Message-IDs keep a second read from registering them again).
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValidationError({"folder": f"{folder} is not a folder"})
    counts: dict = {}
    maildir = (root / "new").is_dir() and (root / "cur").is_dir()
    if maildir:
        files = [(p, True) for p in sorted((root / "new").iterdir()) if p.is_file()] + \
                [(p, False) for p in sorted((root / "cur").iterdir()) if p.is_file()]
    else:
        files = [(p, False) for p in sorted(root.glob("*.eml")) if p.is_file()]
    for path, is_new in files[:int(limit)]:
        try:
            raw = path.read_bytes()
            row = register_raw(crm, raw, source=str(path.name))
        except Busy:
            raise
        except Exception as exc:  # this message alone: moved aside, the rest is read on
            log.exception("incoming mail %s cannot be registered", path)
            _move_aside(root, path, f"{type(exc).__name__}: {exc}")
            counts[FAILED] = counts.get(FAILED, 0) + 1
            continue
        _count(counts, row)
        if is_new:
            name = path.name if ":2," in path.name else path.name + ":2,S"
            os.replace(path, root / "cur" / name)
    return counts


def _move_aside(root: Path, path: Path, reason: str) -> None:
    """``failed/NAME`` and ``failed/NAME.reason``; remembered as ``failed``."""
    try:
        raw = path.read_bytes()
    except OSError:
        raw = str(path).encode()
    record_failure(raw, path.name, reason)
    aside = root / FAILED
    try:
        aside.mkdir(exist_ok=True)
        (aside / (path.name + ".reason")).write_text(reason + "\n", encoding="utf-8")
        os.replace(path, aside / path.name)
    except OSError:
        log.exception("could not move %s aside; it is read again next time", path)


def fetch_imap(crm, settings, limit=1000) -> dict:
    """Register unseen messages of an IMAP folder, then mark them seen."""
    if not settings.host:
        raise ValidationError({"imap_host": "set CRMKIT_IMAP_HOST"})
    counts: dict = {}
    try:
        if settings.security == "ssl":
            conn = imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=ssl.create_default_context(),
                                     timeout=settings.timeout)
        else:
            conn = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                conn.starttls(ssl.create_default_context())
        try:
            conn.login(settings.user, settings.password)
            typ, _ = conn.select(settings.folder)
            if typ != "OK":
                raise ValidationError({"imap_folder": f"cannot open {settings.folder!r}"})
            _, data = conn.uid("SEARCH", None, "UNSEEN")
            for uid in (data[0] or b"").split()[:int(limit)]:
                _, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
                if raw is None:
                    continue
                source = f"imap:{settings.folder}:{uid.decode()}"
                try:
                    _count(counts, register_raw(crm, raw, source=source))
                except Busy:
                    raise
                except Exception as exc:  # this message alone: flagged, remembered, the rest read on
                    log.exception("incoming mail %s cannot be registered", source)
                    record_failure(raw, source, f"{type(exc).__name__}: {exc}")
                    counts[FAILED] = counts.get(FAILED, 0) + 1
                    conn.uid("STORE", uid, "+FLAGS", "(\\Flagged)")
                conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        finally:
            try:
                conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
    except imaplib.IMAP4.error as exc:
        raise TemporaryFailure(f"IMAP: {exc}") from None
    except OSError as exc:
        raise TemporaryFailure(f"cannot connect to {settings.host}:{settings.port}: {exc}") from None
    return counts
