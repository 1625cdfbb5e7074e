"""STOP replies: from a callback command (one reply) or a drop folder of
files a gateway's webhook writes. An opt-out puts the number on the
kernel's suppression list, checked for every SMS at send time."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from crmkit import ValidationError, normalize_phone

from . import models as m

STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout",
              "стоп", "отписаться", "отписка", "отказ"}


def is_stop(text: str) -> bool:
    words = re.findall(r"\w+", (text or "").lower())
    return bool(words) and words[0] in STOP_WORDS


def handle_reply(crm, phone, text=None, source="", default_country="7") -> str:
    """Record one reply; returns "optout" or "ignored". ``text=None`` is an
    operator's direct opt-out."""
    try:
        e164 = normalize_phone(phone, default_country=default_country)
    except ValueError as exc:
        raise ValidationError({"from": str(exc)}) from None
    action = "optout" if text is None or is_stop(text) else "ignored"
    with crm.transaction():
        m.Reply.create(phone=e164, text=text or "", action=action, source=source[:300])
        if action == "optout":
            crm.outbox.suppress("sms", e164, reason="STOP reply" if text is not None else "opt-out by operator")
    return action


def _replies_in(path: Path):
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data if isinstance(data, list) else [data]
        for item in items:
            if not isinstance(item, dict):
                raise ValueError("each reply is an object with from and text")
            yield item.get("from") or item.get("phone"), str(item.get("text", ""))
    else:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                phone, text = (re.split(r"[\t;]", line, maxsplit=1) + [""])[:2]
                yield phone.strip(), text.strip()


def process_folder(crm, folder, default_country="7") -> dict:
    """Handle every *.json / *.txt reply file; each is renamed ``.done``
    (or ``.bad`` when it cannot be read) so it is handled once."""
    root = Path(folder)
    if not root.is_dir():
        raise ValidationError({"folder": f"{folder} is not a folder"})
    counts = {"optout": 0, "ignored": 0, "bad": 0}
    for path in sorted(list(root.glob("*.json")) + list(root.glob("*.txt"))):
        try:
            replies = list(_replies_in(path))
        except (ValueError, UnicodeDecodeError):
            counts["bad"] += 1
            os.replace(path, path.with_name(path.name + ".bad"))
            continue
        for phone, text in replies:
            try:
                counts[handle_reply(crm, phone or "", text, source=path.name, default_country=default_country)] += 1
            except ValidationError:
                counts["bad"] += 1
        os.replace(path, path.with_name(path.name + ".done"))
    return counts
