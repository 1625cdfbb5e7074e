"""Incoming mail: parse a raw message, match its sender, thread it, and
register it as an incoming-email interaction.

The sender is matched through ``core.contact_info.normalized`` (a contact
person's address wins over a partner's); a message from an unknown address
that answers one of our threads goes to that thread's partner; anything else
waits in ``notify_email_inbound`` for an operator (``crmkit email assign``).
Every message is remembered by its Message-ID, so reading a mailbox twice
registers nothing twice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from email import policy
from email.parser import BytesParser
from email.header import decode_header, make_header
from email.utils import parseaddr, parsedate_to_datetime

import attrs

from crmkit import AccessDenied, ValidationError, normalize_email, utcnow

from . import models as m

MSGID = re.compile(r"<[^<>\s]+>")
FALLBACK_CHARSETS = ("utf-8", "cp1251", "koi8-r", "latin-1")
# NUL (which PostgreSQL text cannot hold) and the other control characters
# but tab and line ends: nothing a reader needs, and terminal escapes.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
OLDEST_DATE = dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)
DATE_SLACK = dt.timedelta(days=2)   # clocks are wrong; a message from next year is not


class MalformedMail(ValueError):
    """The message cannot be registered (no sender address ...)."""


@attrs.frozen
class ParsedMail:
    key: str
    message_id: str
    sender: str
    sender_name: str
    subject: str
    sent_at: dt.datetime | None
    text: str
    references: tuple[str, ...]     # nearest parent first


def _decode_bytes(raw: bytes, hint: str | None = None) -> str:
    """Decode 8-bit text: the declared charset first (cp1251 and koi8-r bytes
    are both "valid" in the other, so guessing blind garbles one of them),
    then the usual suspects."""
    for charset in ((hint,) if hint else ()) + FALLBACK_CHARSETS:
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("utf-8", "replace")


def _raw_headers(raw: bytes) -> dict:
    """Header name (lower case) -> unfolded raw bytes of its first occurrence."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    found: dict = {}
    for line in re.sub(rb"\r?\n[ \t]+", b" ", head).splitlines():
        name, sep, value = line.partition(b":")
        if sep:
            found.setdefault(name.strip().decode("ascii", "replace").lower(), value.strip())
    return found


def _charset_hint(msg):
    for part in msg.walk():
        if part.get_content_maintype() == "text" and part.get_content_charset():
            return part.get_content_charset()
    return None


def _clean_text(text: str) -> str:
    return CONTROL.sub("", text)


def _sent_at(date: str):
    """The Date header as an aware UTC moment, or None when it is missing,
    unreadable or implausible (year 9999 with a negative offset does not
    even fit a datetime once turned to UTC)."""
    if not date:
        return None
    try:
        sent_at = parsedate_to_datetime(date)
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=dt.timezone.utc)
        sent_at = sent_at.astimezone(dt.timezone.utc)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if not OLDEST_DATE <= sent_at <= utcnow() + DATE_SLACK:
        return None
    return sent_at


def _damaged(text: str) -> bool:
    return "\ufffd" in text or any("\udc80" <= ch <= "\udcff" for ch in text)


def header_text(msg, name, raw_headers, hint) -> str:
    """A header as text; a header the parser garbles (raw 8-bit bytes, odd
    encoded words) is decoded again from the raw bytes."""
    try:
        value = msg.get(name)
        text = None if value is None else str(value)
    except (ValueError, IndexError, TypeError, LookupError):
        text = None
    if text is None or _damaged(text):
        raw = raw_headers.get(name.lower())
        if raw is None:
            return ""
        if any(b > 127 for b in raw):
            text = _decode_bytes(raw, hint)
        else:
            try:
                text = str(make_header(decode_header(raw.decode("ascii"))))
            except (ValueError, LookupError, UnicodeDecodeError):
                text = raw.decode("ascii", "replace")
    return " ".join(_clean_text(text).split())


def _decode_part(part) -> str:
    try:
        text = part.get_content()
        if isinstance(text, bytes):
            raise LookupError
        if _damaged(text):
            raise LookupError
        return text
    except (LookupError, UnicodeDecodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        declared = part.get_content_charset()
        for charset in ((declared,) if declared else ()) + FALLBACK_CHARSETS:
            try:
                return payload.decode(charset)
            except (LookupError, UnicodeDecodeError):
                continue
        return payload.decode("utf-8", "replace")


def _html_to_text(source: str) -> str:
    source = re.sub(r"(?is)<(script|style).*?</\1>", "", source)
    source = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", source)
    return html.unescape(re.sub(r"<[^>]+>", "", source)).strip()


def _body(msg) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        if msg.is_multipart():
            return ""
        body = msg
    text = _decode_part(body)
    if body.get_content_subtype() == "html":
        text = _html_to_text(text)
    return _clean_text(text.replace("\r\n", "\n")).strip()


def parse(raw: bytes) -> ParsedMail:
    """Parse a raw message; raises MalformedMail when it has no usable sender."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    raw_headers, hint = _raw_headers(raw), _charset_hint(msg)

    def _header(name):
        return header_text(msg, name, raw_headers, hint)

    name, addr = parseaddr(_header("From"))
    try:
        sender = normalize_email(addr)
    except ValueError:
        raise MalformedMail(f"no valid From address ({_header('From')[:100]!r})") from None
    found = MSGID.findall(_header("Message-ID"))
    message_id = found[0][:300] if found else ""
    key = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    refs = MSGID.findall(_header("In-Reply-To")) + list(reversed(MSGID.findall(_header("References"))))
    sent_at = _sent_at(_header("Date"))
    try:
        text = _body(msg)
    except (KeyError, ValueError, LookupError) as exc:
        raise MalformedMail(f"unreadable body: {exc}") from None
    return ParsedMail(key=key, message_id=message_id, sender=sender, sender_name=_clean_text(name)[:200],
                      subject=_header("Subject")[:998], sent_at=sent_at, text=text,
                      references=tuple(dict.fromkeys(refs)))


# -- matching and registering -------------------------------------------

def match_address(system, address):
    """``(partner_id, contact_id)`` owning an email address, or (None, None)."""
    info = system.model("core.contact_info")
    rows = list(system.query("core.contact_info", info.partner, info.contact)
                .where((info.kind == "email") & (info.normalized == address))
                .order_by(info.contact.is_null(), info.id).limit(1).tuples())
    if not rows:
        return None, None
    partner_id, contact_id = rows[0]
    if contact_id is not None and partner_id is None:
        contact = system.model("core.contact")
        partner_id = contact.select(contact.partner).where(contact.id == contact_id).scalar()
    return partner_id, contact_id


def find_thread(system, references):
    """The interaction a message answers: the nearest referenced one we know."""
    if not references:
        return None
    model = system.model("core.interaction")
    known = {r.external_id: r for r in system.query("core.interaction", include_marked=True)
             .where(model.external_id.in_(list(references)))}
    return next((known[ref] for ref in references if ref in known), None)


def _interaction_data(parsed, partner_id, contact_id, thread):
    data = {"kind": "email", "direction": "incoming", "date": parsed.sent_at or utcnow(),
            "topic": parsed.subject[:300], "text": parsed.text, "how": parsed.sender,
            "partner": partner_id, "contact": contact_id, "external_id": parsed.message_id or None}
    if thread is not None:
        data["reply_to"] = thread.id
        if thread.subject_type:  # a reply stays with the thread's subject (deal, claim ...)
            data["subject_type"], data["subject_id"] = thread.subject_type, thread.subject_id
        if thread.responsible_id:
            data["responsible"] = thread.responsible_id
    return data


def register_raw(crm, raw: bytes, source: str = "") -> m.Inbound:
    """Register one raw message; returns its ``Inbound`` row (new or already known)."""
    system = crm.as_user(None)
    try:
        parsed = parse(raw)
    except MalformedMail as exc:
        key = "sha256:" + hashlib.sha256(raw).hexdigest()
        existing = m.Inbound.get_or_none(m.Inbound.key == key)
        if existing:
            return existing
        return m.Inbound.create(key=key, source=source[:500], state="malformed", error=str(exc)[:1000])
    existing = m.Inbound.get_or_none(m.Inbound.key == parsed.key)
    if existing:
        return existing
    partner_id, contact_id = match_address(system, parsed.sender)
    thread = find_thread(system, parsed.references)
    if partner_id is None and thread is not None:
        partner_id, contact_id = thread.partner_id, None
    row = dict(key=parsed.key, message_id=parsed.message_id, sender=parsed.sender,
               sender_name=parsed.sender_name, subject=parsed.subject, sent_at=parsed.sent_at,
               text=parsed.text, in_reply_to=" ".join(parsed.references)[:5000], source=source[:500])
    if partner_id is None:
        return m.Inbound.create(**row, state="unknown")
    with system.transaction():
        interaction = system.create("core.interaction", _with_manager(
            system, _interaction_data(parsed, partner_id, contact_id, thread), partner_id))
        system.pm.hook.crmkit_email_registered(crm=system, interaction=interaction, raw=raw)
        return m.Inbound.create(**row, state="registered", partner_id=partner_id,
                                interaction_id=interaction.id)


def record_failure(raw: bytes, source: str, error: str) -> None:
    """Remember a message that could not be registered (state ``failed``,
    with the reason), once; the mailbox reader has moved it aside."""
    try:
        m.Inbound.insert(key="sha256:" + hashlib.sha256(raw).hexdigest(), source=_clean_text(source)[:500],
                         state="failed", error=_clean_text(error)[:1000],
                         received_at=utcnow()).on_conflict_ignore().execute()
    except Exception:  # the reason is also kept beside the message; the reading goes on
        import logging
        logging.getLogger("crmkit.email").exception("could not record a failed incoming message")


def _with_manager(system, data, partner_id):
    """No thread to inherit from: the partner's manager is responsible."""
    if data.get("responsible") is None:
        partner = system.get("core.partner", partner_id)
        if partner.manager_id:
            data["responsible"] = partner.manager_id
    return data


# -- the operator's side --------------------------------------------------

def visible_inbound(crm, state=None, limit=100):
    """Inbound messages the acting user may see: unassigned ones, and those
    of partners they can see."""
    crm.require("read", "core.interaction")
    partner = crm.model("core.partner")
    q = m.Inbound.select().order_by(m.Inbound.id.desc()).limit(int(limit))
    if state:
        if state not in m.INBOUND_STATES:
            raise ValidationError({"state": f"one of {', '.join(m.INBOUND_STATES)}"})
        q = q.where(m.Inbound.state == state)
    if not crm.actor.is_admin:
        q = q.where(m.Inbound.partner_id.is_null()
                    | m.Inbound.partner_id.in_(crm.query("core.partner", partner.id)))
    return list(q)


def assign(crm, inbound_id, partner, contact=None, remember=False):
    """Register an unknown sender's message for a partner the user can see.

    :param remember: also store the sender's address as the contact's (or
        partner's) email, so that the next message matches by itself.
    """
    crm.require("create", "core.interaction")
    row = m.Inbound.get_or_none(m.Inbound.id == inbound_id)
    if row is None or row.state != "unknown":
        raise ValidationError({"id": f"{inbound_id!r} is not an unassigned incoming message"})
    try:
        partner_rec = crm.get("core.partner", partner)
    except Exception:
        raise ValidationError({"partner": f"{partner!r} does not exist"}) from None
    contact_id = None
    if contact is not None:
        try:
            contact_rec = crm.get("core.contact", contact)
        except Exception:
            raise ValidationError({"contact": f"{contact!r} does not exist"}) from None
        if contact_rec.partner_id != partner_rec.id:
            raise ValidationError({"contact": "is a contact person of another partner"})
        contact_id = contact_rec.id
    system = crm.as_user(None)
    parsed = ParsedMail(key=row.key, message_id=row.message_id, sender=row.sender,
                        sender_name=row.sender_name, subject=row.subject, sent_at=row.sent_at,
                        text=row.text, references=tuple(row.in_reply_to.split()))
    thread = find_thread(system, parsed.references)
    data = _interaction_data(parsed, partner_rec.id, contact_id, thread)
    if crm.actor.id is not None:
        data["responsible"] = crm.actor.id
    with system.transaction():
        interaction = system.create("core.interaction", _with_manager(system, data, partner_rec.id))
        if remember:
            owner = {"contact": contact_id} if contact_id else {"partner": partner_rec.id}
            crm.create("core.contact_info", {**owner, "kind": "email", "label": "from incoming mail",
                                             "value": row.sender})
        m.Inbound.update(state="assigned", partner_id=partner_rec.id, interaction_id=interaction.id) \
            .where(m.Inbound.id == row.id).execute()
    return interaction


def require_admin(crm):
    if not crm.actor.is_admin:
        raise AccessDenied("reading the mailbox registers mail for every partner: administrators only")
