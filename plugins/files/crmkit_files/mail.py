"""Attachments of incoming email kept as files of the interaction the
email became. A refused attachment (a program, one past the size limit)
is left out and named in the interaction's history; the email is kept."""
from __future__ import annotations

import io
from email import policy
from email.parser import BytesParser

from crmkit import ValidationError

from .store import attach


def keep_attachments(crm, interaction, raw: bytes) -> dict:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    kept, refused = 0, []
    for part in msg.iter_attachments():
        name = part.get_filename() or "attachment"
        try:
            payload = part.get_payload(decode=True) or b""
        except (LookupError, ValueError):
            refused.append(f"{name}: unreadable")
            continue
        try:
            with crm.transaction():   # a savepoint: a refused attachment undoes only itself
                attach(crm, ("core.interaction", interaction.id), name, io.BytesIO(payload))
            kept += 1
        except ValidationError as exc:
            refused.append(f"{name}: {'; '.join(m for msgs in exc.errors.values() for m in msgs)}")
    if refused:
        crm.log_action("core.interaction", interaction.id, "files", "attachments refused: " + " | ".join(refused))
    return {"kept": kept, "refused": refused}
