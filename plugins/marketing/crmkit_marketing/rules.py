"""Business rules of marketing records beyond their schemas."""
from __future__ import annotations

from crmkit import CrmError, ValidationError, normalize_email, normalize_phone, utcnow, value_after_write
from crmkit.core.rules import check_contact_of_partner

from . import interest
from . import models as m

TEMPLATE_FIELDS = (("subject", False), ("body_text", False), ("body_html", True), ("sms_text", False))


def normalize_address(channel, value):
    return normalize_email(value) if channel == "email" else normalize_phone(value)


def _check_event(data, record, errors):
    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        a, b = value_after_write(data, record, start), value_after_write(data, record, end)
        if a and b and b < a:
            errors[end] = f"is before {start.replace('_', ' ')} ({a.isoformat()})"
    for field, kind in (("client_segment", "partner"), ("product_segment", "product")):
        seg = data.get(field)
        if seg is not None:
            found = m.Segment.get_or_none(m.Segment.id == seg)
            if found is not None and found.kind != kind:
                errors[field] = f"must be a {kind} segment; {found.name!r} is a {found.kind} segment"
    for field in ("budget_planned", "budget_actual"):
        if data.get(field) is not None and data[field] < 0:
            errors[field] = "cannot be negative"
    if data.get("currency") is not None:
        cur = str(data["currency"]).upper()
        if len(cur) != 3 or not cur.isalpha():
            errors["currency"] = "a three-letter currency code (RUB, USD ...)"
        data["currency"] = cur


def _check_subscription(data, record, errors):
    check_contact_of_partner(data, record, errors)
    channel = value_after_write(data, record, "channel", "email")
    address = data.get("address")
    if address:
        try:
            data["address"] = normalize_address(channel, address)
        except ValueError as exc:
            errors["address"] = str(exc)
    kind = value_after_write(data, record, "kind")
    group = value_after_write(data, record, "group")
    if kind is not None and group is not None:
        kind_group = m.NotificationKind.select(m.NotificationKind.group).where(m.NotificationKind.id == kind).scalar()
        if kind_group is not None and kind_group != group:
            errors["kind"] = "belongs to another mailing group"


def _check_consent(crm, data, record, errors):
    if record is not None:
        errors["_"] = "the consent ledger is append-only: record a new consent or opt-out instead"
        return
    check_contact_of_partner(data, record, errors, required_partner=False)
    if data.get("address"):
        try:
            data["address"] = normalize_address(data.get("channel"), data["address"])
        except ValueError as exc:
            errors["address"] = str(exc)
    if not (data.get("partner") or data.get("contact") or data.get("address")):
        errors["address"] = "give a partner, a contact person or an address"
    data["given_by"] = crm.actor.login
    data.setdefault("at", None)
    if data["at"] is None:
        data["at"] = utcnow()


def check_template_source(crm, source, html, field):
    """Refuse a template the sandbox refuses, at save time already: its
    syntax, and a bound it breaks in any context the kernel's probes reach."""
    try:
        crm.check_template(source, html=html, field=field)
        crm.render_template(source, {}, html=html, field=field)
    except ValidationError as exc:
        return "; ".join(msg for msgs in exc.errors.values() for msg in msgs)
    except (CrmError, Exception):  # noqa: BLE001 - a parameter needing context; rendered later
        return None
    return None


def _check_template(crm, data, record, errors):
    subject = data.get("subject")
    if subject and ("\r" in subject or "\n" in subject):
        errors["subject"] = "must not contain line breaks (CR/LF)"
    for field, html in TEMPLATE_FIELDS:
        if data.get(field) and field not in errors:
            problem = check_template_source(crm, data[field], html, field)
            if problem:
                errors[field] = problem
    method = value_after_write(data, record, "method", "template")
    if method == "processing" and not value_after_write(data, record, "processing"):
        errors["processing"] = "name the plugin processing that builds the message"
    if value_after_write(data, record, "purpose", "notification") == "notification" and value_after_write(data, record, "kind") is None:
        errors["kind"] = "a notification template belongs to a notification kind"
    if not value_after_write(data, record, "email", True) and not value_after_write(data, record, "sms", False):
        errors["email"] = "a template creates an email, an SMS or both"


def _check_mailing(data, record, errors):
    audience = value_after_write(data, record, "audience", "subscribers")
    if audience == "segment":
        seg = value_after_write(data, record, "segment")
        if seg is None:
            errors["segment"] = "required for a mailing to a segment"
        else:
            found = m.Segment.get_or_none(m.Segment.id == seg)
            if found is not None and found.kind != "partner":
                errors["segment"] = f"must be a partner segment; {found.name!r} is a {found.kind} segment"
    if audience == "event" and value_after_write(data, record, "event") is None:
        errors["event"] = "required for a mailing to an event's participants"
    if record is not None and record.state == "sent" and set(data) - {"deletion_mark", "name"}:
        errors["state"] = "a sent mailing cannot be changed"


def _check_group(data, record, errors):
    days = data.get("purge_after_days")
    if days is not None and days < 1:
        errors["purge_after_days"] = "at least 1 day"
    if not value_after_write(data, record, "send_email", True) and not value_after_write(data, record, "send_sms", False):
        errors["send_email"] = "a group sends email, SMS or both"


def validate_marketing(crm, entity, data, record):
    errors: dict = {}
    if entity == "marketing.primary_interest":
        interest.validate(crm, data, record, errors)
    elif entity == "marketing.event":
        _check_event(data, record, errors)
    elif entity == "marketing.participant":
        check_contact_of_partner(data, record, errors)
    elif entity == "marketing.subscription":
        _check_subscription(data, record, errors)
    elif entity == "marketing.consent":
        _check_consent(crm, data, record, errors)
    elif entity == "marketing.template":
        _check_template(crm, data, record, errors)
    elif entity == "marketing.mailing":
        _check_mailing(data, record, errors)
    elif entity == "marketing.mailing_group":
        _check_group(data, record, errors)
    elif entity == "marketing.notification_kind":
        based_on = data.get("based_on")
        if based_on and based_on not in crm.registry.entities:
            errors["based_on"] = f"no entity {based_on!r}; known: {', '.join(sorted(crm.registry.entities))}"
    elif entity == "marketing.mailing_recipient":
        errors["_"] = "mailing recipients are written by sending a mailing"
    return errors or None
