"""Primary interest (первичный интерес): a channel and a source, the source a
record of the kind the channel's impact type names."""
from __future__ import annotations

import datetime as dt

import peewee as pw

from crmkit import AccessDenied, NotFound, ValidationError

from . import models as m

ENTITY = "marketing.primary_interest"


def parse_ref(crm, value, field="source"):
    """``"marketing.event:3"``, ``(entity, id)`` or a record -> ``(entity, id)``."""
    if value is None or value == "":
        return None, None
    if isinstance(value, pw.Model):
        spec = crm.registry.spec_of_model(type(value))
        if spec is None:
            raise ValidationError({field: f"{value!r} is not a crmkit record"}, ENTITY)
        return spec.name, value.get_id()
    if isinstance(value, (tuple, list)) and len(value) == 2:
        entity, rid = value
    elif isinstance(value, str) and ":" in value:
        entity, rid = value.rsplit(":", 1)
    else:
        raise ValidationError({field: f"{value!r} is not a reference (entity:id)"}, ENTITY)
    try:
        rid = int(rid)
    except (TypeError, ValueError):
        raise ValidationError({field: f"{value!r}: the id must be a number"}, ENTITY) from None
    return str(entity), rid


def check_source(crm, channel_id, source_type, source_id) -> str | None:
    """Why the source does not fit the channel, or None."""
    channel = m.Channel.get_or_none(m.Channel.id == channel_id)
    if channel is None:
        return None  # the kernel reports the missing channel
    expected = m.SOURCE_ENTITIES[channel.impact_type]
    if source_type is None:
        return f"required: a {expected} record (channel {channel.name!r} has impact type {channel.impact_type})"
    if source_type != expected:
        return (f"channel {channel.name!r} has impact type {channel.impact_type}: the source must be "
                f"a {expected}, not a {source_type}")
    try:
        source = crm.get(source_type, source_id)
    except (NotFound, AccessDenied):
        return f"{source_type}:{source_id} does not exist"
    if channel.impact_type == "individual" and getattr(source, "kind", None) != "individual":
        return f"channel {channel.name!r} takes individuals; {source.name!r} is a company"
    return None


def subject_partner_and_date(crm, subject_type, subject_id):
    """The client a subject belongs to and the date its interest counts from."""
    if subject_type == "core.partner":
        partner = m.Partner.get_or_none(m.Partner.id == subject_id)
        return subject_id, getattr(partner, "registered_on", None)
    if subject_type == "deals.deal" and subject_type in crm.registry.entities:
        deal = crm.model("deals.deal").get_or_none(crm.model("deals.deal").id == subject_id)
        if deal is not None:
            return getattr(deal, "client_id", None), getattr(deal, "start_date", None)
    if subject_type == "leads.lead" and subject_type in crm.registry.entities:
        lead = crm.model("leads.lead").get_or_none(crm.model("leads.lead").id == subject_id)
        if lead is not None:
            return lead.partner_id, lead.received_at.astimezone(crm.zone).date() if lead.received_at else None
    return None, None


def validate(crm, data, record, errors):
    if "source" in data:
        try:
            data["source_type"], data["source_id"] = parse_ref(crm, data.pop("source"))
        except ValidationError as exc:
            errors.update(exc.errors if hasattr(exc, "errors") else {"source": str(exc)})
            return
    subject_type = data.get("subject_type", getattr(record, "subject_type", None))
    subject_id = data.get("subject_id", getattr(record, "subject_id", None))
    if subject_type is None:
        errors["subject"] = "required: the partner or deal whose primary interest this is"
    elif subject_type not in m.INTEREST_SUBJECTS:
        errors["subject"] = f"a primary interest belongs to a partner, a deal or a lead, not a {subject_type}"
    elif "subject_type" in data or "subject_id" in data:
        taken = m.PrimaryInterest.select().where((m.PrimaryInterest.subject_type == subject_type)
                                                 & (m.PrimaryInterest.subject_id == subject_id))
        if record is not None:
            taken = taken.where(m.PrimaryInterest.id != record.id)
        if taken.exists():
            errors["subject"] = f"{subject_type}:{subject_id} already has a primary interest"
    channel = data.get("channel", getattr(record, "channel_id", None))
    if {"channel", "source_type", "source_id"} & set(data) and channel is not None:
        problem = check_source(crm, channel, data.get("source_type", getattr(record, "source_type", None)),
                               data.get("source_id", getattr(record, "source_id", None)))
        if problem:
            errors["source"] = problem
    if subject_type in m.INTEREST_SUBJECTS and ("subject_type" in data or "subject_id" in data):
        partner, date = subject_partner_and_date(crm, subject_type, subject_id)
        data["partner"] = partner
        if record is None and data.get("date") is None:
            data["date"] = date or dt.datetime.now(crm.zone).date()     # the user's today


def set_primary_interest(crm, subject, channel, source, date=None, comment=None):
    """Record (or change) the primary interest of a partner or a deal.

    :param subject: ``"deals.deal:3"``, ``("core.partner", 5)`` or a record.
    :param channel: a channel record, id or name.
    :param source: a reference of the channel's impact type (``"marketing.event:1"``).
    :return: the saved ``marketing.primary_interest`` record.
    """
    subject_type, subject_id = parse_ref(crm, subject, "subject")
    if isinstance(channel, str) and not channel.isdigit():
        found = crm.find("marketing.channel", name=channel)
        if not found:
            raise ValidationError({"channel": f"no channel named {channel!r}"}, ENTITY)
        channel = found[0].id
    source_type, source_id = parse_ref(crm, source)
    data = {"channel": channel, "source_type": source_type, "source_id": source_id}
    if date is not None:
        data["date"] = date
    if comment is not None:
        data["comment"] = comment
    existing = m.PrimaryInterest.get_or_none((m.PrimaryInterest.subject_type == subject_type)
                                             & (m.PrimaryInterest.subject_id == subject_id))
    if existing is not None:
        return crm.update(ENTITY, existing.id, data)
    return crm.create(ENTITY, {"subject": (subject_type, subject_id), **data})


def primary_interest_of(crm, subject):
    """The visible primary interest of a partner or deal, or None."""
    subject_type, subject_id = parse_ref(crm, subject, "subject")
    found = crm.find(ENTITY, subject_type=subject_type, subject_id=subject_id)
    return found[0] if found else None


def describe_source(crm, record) -> str:
    if not record.source_type:
        return ""
    try:
        return crm.display(record.source_type, crm.get(record.source_type, record.source_id))
    except (NotFound, AccessDenied):
        return f"{record.source_type}:{record.source_id}"
