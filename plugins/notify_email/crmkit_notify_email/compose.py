"""Turn an outbox message into a well-formed email.

The Message-ID is derived from the outbox row (id + idempotency key) and the
configured domain, so every attempt -- including the resend after a crash
between the server's acceptance and the ``sent`` record -- carries the same
one, and receivers can deduplicate. ``Date`` is the moment it was queued for
the same reason.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import quopri
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, getaddresses, parseaddr

from crmkit import PermanentFailure, ValidationError, check_header, normalize_email

HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,75}$")
# Headers the composer owns; meta["headers"] may not override them.
RESERVED = {"message-id", "date", "from", "to", "cc", "bcc", "subject", "reply-to", "sender",
            "mime-version", "content-type", "content-transfer-encoding", "list-unsubscribe",
            "list-unsubscribe-post", "return-path"}
ONE_CLICK = "List-Unsubscribe=One-Click"


def message_id(message, domain: str) -> str:
    """``<crmkit.42.1f3a...@domain>``: fixed per outbox message."""
    meta = load_meta(message)
    if meta.get("message_id"):
        return str(meta["message_id"])
    digest = hashlib.sha256(f"{message.id}:{message.idempotency_key}".encode()).hexdigest()[:20]
    return f"<crmkit.{message.id}.{digest}@{domain}>"


def load_meta(message) -> dict:
    try:
        meta = json.loads(message.meta or "{}")
    except ValueError:
        raise PermanentFailure("meta is not valid JSON") from None
    if not isinstance(meta, dict):
        raise PermanentFailure("meta must be a JSON object")
    return meta


def _clean(name: str, value) -> str:
    """A header value without any line break the email package knows (CR,
    LF, VT, FF, FS, GS, RS, NEL, LS, PS) or other control character."""
    return check_header(name, value)


def _address(name: str, value) -> str:
    """A single ``Name <a@b>`` or bare address, checked and re-formatted."""
    text = _clean(name, value)
    display, addr = parseaddr(text)
    try:
        addr = normalize_email(addr)
    except ValueError:
        raise ValidationError({name: f"{text!r} is not an email address"}) from None
    return formataddr((display, addr))


def _address_list(name: str, value) -> str:
    values = value if isinstance(value, (list, tuple)) else [value]
    found = getaddresses([_clean(name, v) for v in values])
    if not found:
        raise ValidationError({name: "no address given"})
    return ", ".join(_address(name, formataddr(pair)) for pair in found)


def _unsubscribe(value) -> str:
    """``https://...`` or ``mailto:...`` (one or a list) -> ``<...>, <...>``."""
    items = value if isinstance(value, (list, tuple)) else [v.strip() for v in str(value).split(",")]
    parts = []
    for item in items:
        item = _clean("list_unsubscribe", item).strip().strip("<>").strip()
        if not item.startswith(("https://", "http://", "mailto:")):
            raise ValidationError({"list_unsubscribe": f"{item!r} is not an http(s) or mailto URI"})
        parts.append(f"<{item}>")
    return ", ".join(parts)


def check_meta(meta: dict) -> None:
    """Raise ValidationError naming the field for anything the composer refuses."""
    for key in ("from", "reply_to"):
        if meta.get(key):
            (_address if key == "from" else _address_list)(key, meta[key])
    if meta.get("list_unsubscribe"):
        _unsubscribe(meta["list_unsubscribe"])
    headers = meta.get("headers") or {}
    if not isinstance(headers, dict):
        raise ValidationError({"headers": "must be an object of name: value"})
    for name, value in headers.items():
        if not HEADER_NAME.match(str(name)) or str(name).lower() in RESERVED:
            raise ValidationError({"headers": f"{name!r} is not a header name that may be set"})
        _clean(f"headers.{name}", value)
    attachments = meta.get("attachments") or []
    if not isinstance(attachments, list):
        raise ValidationError({"attachments": "must be a list"})
    for i, item in enumerate(attachments):
        _attachment(i, item)
    inline = meta.get("inline") or []
    if not isinstance(inline, list):
        raise ValidationError({"inline": "must be a list"})
    for i, item in enumerate(inline):
        _inline(i, item, resolve=None)


CID = re.compile(r"[A-Za-z0-9._-]{1,100}@[A-Za-z0-9.-]{1,100}")


SHA256 = re.compile(r"[0-9a-f]{64}")


def _inline(i, item, resolve):
    """An image the HTML shows as ``cid:<cid>`` (a template's #Картинка1#):
    ``{"cid", "filename", "content_type": "image/...", "content_b64"}``, or
    ``"sha256"`` instead of the bytes, which ``resolve(sha256)`` reads when
    the email is composed (None when checking only)."""
    if not isinstance(item, dict):
        raise ValidationError({f"inline.{i}": "needs cid, filename, content_type, content_b64"})
    if "sha256" in item and "content_b64" not in item:
        digest = str(item.get("sha256") or "")
        if not SHA256.fullmatch(digest):
            raise ValidationError({f"inline.{i}.sha256": f"{digest[:80]!r} is not a SHA-256"})
        data = resolve(digest) if resolve is not None else b""
        if data is None or (resolve is not None and hashlib.sha256(data).hexdigest() != digest):
            raise ValidationError({f"inline.{i}.sha256": f"the image {digest[:16]}... is no longer stored"})
        filename, ctype, _ = _attachment(i, {**item, "content_b64": ""}, "inline")
    else:
        filename, ctype, data = _attachment(i, item, "inline")
    if not ctype.startswith("image/"):
        raise ValidationError({f"inline.{i}.content_type": f"{ctype!r} is not an image type"})
    cid = str(item.get("cid") or "")
    if not CID.fullmatch(cid):
        raise ValidationError({f"inline.{i}.cid": f"{cid!r} is not a content id (name@domain)"})
    return cid, filename, ctype, data


def _attachment(i, item, where="attachments"):
    if not isinstance(item, dict) or not item.get("filename"):
        raise ValidationError({f"{where}.{i}": "needs filename, content_type, content_b64"})
    filename = _clean(f"{where}.{i}.filename", item["filename"])
    ctype = str(item.get("content_type") or "application/octet-stream")
    if not re.fullmatch(r"[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+", ctype):
        raise ValidationError({f"{where}.{i}.content_type": f"{ctype!r} is not a MIME type"})
    try:
        data = base64.b64decode(item.get("content_b64") or "", validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError({f"{where}.{i}.content_b64": "is not base64"}) from None
    return filename, ctype, data


def _no_store(digest):
    return None   # no plugin stores contents (no files plugin): an image by reference cannot be sent


def _text_part(text, subtype):
    part = MIMEText("", subtype, "utf-8")
    part.replace_header("Content-Transfer-Encoding", "quoted-printable")
    # "\n" line ends here; the generator writes them as CRLF on the wire
    part.set_payload(quopri.encodestring(text.replace("\r\n", "\n").encode("utf-8")).decode("ascii"))
    return part


def _calendar_part(item):
    """``{"method": "REQUEST", "content": <iCalendar text>}`` as a
    ``text/calendar; method=...`` part, the form calendar clients act on."""
    if not isinstance(item, dict) or not isinstance(item.get("content"), str):
        raise ValidationError({"calendar": "needs method and content"})
    method = str(item.get("method") or "")
    if method not in ("REQUEST", "CANCEL", "PUBLISH"):
        raise ValidationError({"calendar.method": f"{method!r} is not REQUEST, CANCEL or PUBLISH"})
    part = _text_part(item["content"], "calendar")
    part.set_param("method", method)
    return part


def _header_value(text: str):
    return text if text.isascii() else Header(text, "utf-8")


def _display(display: str, addr: str) -> str:
    return formataddr((display, addr), charset="utf-8")


def compose(message, settings, resolve=None) -> Message:
    """The email for one outbox message; PermanentFailure when it cannot be built.

    Built with the classic ``email.mime`` classes: the newer header registry
    parses and refolds every header and cost more than the SMTP exchange
    itself when delivering thousands of messages. Every value is checked for
    line breaks and control characters first (``_clean``), which the classic
    classes would not do; anything else that goes wrong while building is
    this message's permanent failure, never the delivery run's crash.
    """
    meta = load_meta(message)
    try:
        check_meta(meta)
        body = _text_part(message.body_text or "", "plain")
        if message.body_html:
            html = _text_part(message.body_html, "html")
            inline = [_inline(i, item, resolve or _no_store) for i, item in enumerate(meta.get("inline") or [])]
            if inline:   # RFC 2387: the HTML and the images it shows by cid:
                html = MIMEMultipart("related", _subparts=[html])
                html.set_param("type", "text/html")
                for cid, filename, ctype, data in inline:
                    part = MIMEBase(*ctype.split("/", 1))
                    part.set_payload(data)
                    encode_base64(part)
                    part.add_header("Content-ID", f"<{cid}>")
                    part.add_header("Content-Disposition", "inline",
                                    filename=filename if filename.isascii() else ("utf-8", "", filename))
                    html.attach(part)
            body = MIMEMultipart("alternative", _subparts=[body, html])
        if meta.get("calendar"):   # an iMIP invitation (RFC 6047): the iCalendar as an alternative part
            body = MIMEMultipart("alternative", _subparts=[body, _calendar_part(meta["calendar"])])
        attachments = [_attachment(i, item) for i, item in enumerate(meta.get("attachments") or [])]
        if attachments:
            mail = MIMEMultipart("mixed", _subparts=[body])
            for filename, ctype, data in attachments:
                maintype, subtype = ctype.split("/", 1)
                part = MIMEBase(maintype, subtype)
                part.set_payload(data)
                encode_base64(part)
                part.add_header("Content-Disposition", "attachment",
                                filename=filename if filename.isascii() else ("utf-8", "", filename))
                mail.attach(part)
        else:
            mail = body
        sender = parseaddr(_address("from", meta.get("from") or settings.sender))
        recipient = parseaddr(_address("recipient", message.recipient))
        mail["Message-ID"] = _clean("message_id", message_id(message, settings.domain))
        mail["Date"] = format_datetime(message.created_at)
        mail["From"] = _display(*sender)
        mail["To"] = _display(_clean("recipient_name", message.recipient_name or recipient[0]), recipient[1])
        mail["Subject"] = _header_value(_clean("subject", message.subject or ""))
        if meta.get("reply_to"):
            mail["Reply-To"] = ", ".join(_display(*parseaddr(a)) for a in
                                         _address_list("reply_to", meta["reply_to"]).split(", "))
        if meta.get("list_unsubscribe"):
            mail["List-Unsubscribe"] = _unsubscribe(meta["list_unsubscribe"])
            post = meta.get("list_unsubscribe_post")
            if post:
                mail["List-Unsubscribe-Post"] = ONE_CLICK if post is True else _clean("list_unsubscribe_post", post)
        for name, value in (meta.get("headers") or {}).items():
            mail[str(name)] = _header_value(str(value))
    except ValidationError as exc:
        raise PermanentFailure(f"cannot build the email: {exc.describe()}") from None
    except Exception as exc:  # HeaderParseError, UnicodeError ...: the message is poison, not the run
        raise PermanentFailure(f"cannot build the email: {type(exc).__name__}: {exc}") from None
    mail.envelope = (sender[1], [recipient[1]])
    return mail


def envelope(mail: Message) -> tuple[str, list[str]]:
    """SMTP envelope sender and recipients (To only: Cc/Bcc are not composed)."""
    return mail.envelope
