"""Business rules of core records beyond their schemas, and template parameters."""
from __future__ import annotations

import json
import re

from crmkit import normalize_email, normalize_phone, value_after_write

from . import models as m


def _check_contact_info(data, record, errors):
    partner = data.get("partner", getattr(record, "partner_id", None))
    contact = data.get("contact", getattr(record, "contact_id", None))
    if (partner is None) == (contact is None):
        errors["partner"] = "give either a partner or a contact, not both or neither"
    kind = data.get("kind", getattr(record, "kind", None))
    value = data.get("value", getattr(record, "value", None))
    if value is None or "value" not in data and "kind" not in data:
        return
    try:
        if kind == "email":
            data["normalized"] = normalize_email(value)
        elif kind in ("phone", "fax"):
            data["normalized"] = normalize_phone(value)
        elif kind == "web":
            text = str(value).strip()
            if " " in text or "." not in text:
                raise ValueError(f"{value!r} is not a web address")
            data["normalized"] = text.lower() if "://" in text else "https://" + text.lower()
        else:
            data["normalized"] = " ".join(str(value).split()).lower()[:320]
    except ValueError as exc:
        errors["value"] = str(exc)


def _check_partner(crm, data, record, errors):
    kind = data.get("kind", getattr(record, "kind", "company"))
    if kind == "company":
        for field in ("birth_date", "gender"):
            if data.get(field) is not None:
                errors[field] = "only individuals have a birth date and gender"
    head = data.get("head")
    if head is not None and record is not None:
        # walking up from the new head must not meet the partner itself
        seen, current = set(), head
        while current is not None and current not in seen:
            if current == record.id:
                errors["head"] = "a partner cannot be its own head company, directly or through others"
                break
            seen.add(current)
            current = m.Partner.select(m.Partner.head).where(m.Partner.id == current).scalar()
    if not data.get("public_name") and data.get("name") and record is None:
        data["public_name"] = data["name"]
    if data.get("inn"):
        problem = inn_problem(data["inn"])
        if problem:
            errors["inn"] = problem
    if data.get("kpp") and not re.fullmatch(r"\d{4}[\dA-Z]{2}\d{3}", data["kpp"]):
        errors["kpp"] = "a KPP is 9 characters: 4 digits, 2 digits or capital letters, 3 digits"
    if not errors and (record is None or {"name", "inn", "kpp"} & set(data)):
        probe = {**({"name": record.name, "inn": record.inn, "kpp": record.kpp} if record is not None else {}),
                 **data}
        strict = [hit for hit in crm.duplicates("core.partner", probe, exclude=record.id if record else None)
                  if hit["mode"] == "strict"]
        if strict:
            names = ", ".join(f"{crm.display('core.partner', crm.get('core.partner', h['id']))} ({h['label']})"
                              for h in strict[:5])
            errors["name"] = f"a duplicate of {names}: merge them or change this one"


def inn_problem(inn: str):
    """Why an INN is not valid (10 digits for organisations, 12 for
    individuals, with their check digits), or None."""
    if not re.fullmatch(r"\d{10}|\d{12}", inn):
        return "an INN is 10 digits (organisations) or 12 digits (individuals)"
    digits = [int(c) for c in inn]

    def check(weights):
        return sum(w * d for w, d in zip(weights, digits)) % 11 % 10

    if len(digits) == 10:
        ok = check((2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[9]
    else:
        ok = (check((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[10]
              and check((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[11])
    return None if ok else "the INN's check digits do not match: mistyped?"


def _check_interaction(data, record, errors):
    kind = data.get("kind", getattr(record, "kind", None))
    direction = data.get("direction", getattr(record, "direction", None))
    if kind in ("call", "email", "sms") and direction is None:
        errors["direction"] = f"a {kind} is incoming or outgoing"
    if kind in ("meeting", "planned") and direction is not None:
        errors["direction"] = f"a {kind} has no direction"
    if data.get("duration") is not None and data["duration"] < 0:
        errors["duration"] = "cannot be negative"
    check_contact_of_partner(data, record, errors, required_partner=False)


def check_contact_of_partner(data, record, errors, contact="contact", partner="partner",
                             required_partner=True):
    """A contact person must belong to the partner of the record; when the
    partner is left blank it is taken from the contact. Core's public rule,
    for every entity with a partner and a contact person."""
    contact_id = value_after_write(data, record, contact)
    partner_id = value_after_write(data, record, partner)
    if contact_id is not None:
        owner = m.Contact.select(m.Contact.partner).where(m.Contact.id == contact_id).scalar()
        if partner_id is None:
            data[partner] = owner
        elif owner != partner_id:
            errors[contact] = "is a contact person of another partner"
    elif partner_id is None and required_partner:
        errors[partner] = "give a partner or a contact person"


def _fill_actor(crm, data, record, field, errors):
    if record is None and data.get(field) is None:
        if crm.actor.id is None:
            if field == "user":
                errors[field] = "required field (the system user has no reminders)"
        else:
            data[field] = crm.actor.id


def _check_segment(crm, data, record, errors):
    method = data.get("method", getattr(record, "method", "manual"))
    rule = data.get("rule", getattr(record, "rule", ""))
    if method == "rule":
        from .segments import compile_rule
        kind = data.get("kind", getattr(record, "kind", "partner"))
        try:
            compile_rule(crm, kind, json.loads(rule) if isinstance(rule, str) and rule else rule)
        except (ValueError, json.JSONDecodeError) as exc:
            errors["rule"] = str(exc)
    elif rule and "rule" in data:
        errors["rule"] = "only rule-based segments have a rule"


def validate_core(crm, entity, data, record):
    errors: dict = {}
    if entity == "core.contact_info":
        _check_contact_info(data, record, errors)
    elif entity == "core.partner":
        _check_partner(crm, data, record, errors)
    elif entity == "core.interaction":
        _check_interaction(data, record, errors)
        _fill_actor(crm, data, record, "responsible", errors)
    elif entity == "core.task":
        _fill_actor(crm, data, record, "author", errors)
        if data.get("state") == "done" and (record is None or record.state != "done"):
            from crmkit import utcnow
            data["done_at"] = utcnow()
    elif entity == "core.note":
        _fill_actor(crm, data, record, "author", errors)
    elif entity == "core.reminder":
        _fill_actor(crm, data, record, "user", errors)
        if data.get("user") not in (None, crm.actor.id) and not crm.actor.is_admin:
            errors["user"] = "you may set reminders for yourself only"
        if record is not None and "remind_at" in data and data["remind_at"] != record.remind_at:
            data["notified_at"] = None   # snoozed: it notifies again at its new moment
    elif entity == "core.segment":
        _check_segment(crm, data, record, errors)
    elif entity == "core.currency_rate":
        from .rates import check_rate
        check_rate(crm, data, record, errors)
    elif entity == "core.user":
        if "roles" in data:
            unknown = [r for r in data["roles"].split(",") if r.strip() and r.strip() not in crm.registry.roles]
            if unknown:
                errors["roles"] = f"unknown role(s): {', '.join(unknown)}; known: {', '.join(sorted(crm.registry.roles))}"
        if data.get("time_zone"):
            _check_time_zone(data, errors)
    return errors or None


def _check_time_zone(data, errors):
    """A user's zone is an IANA name this system knows (``Europe/Moscow``); "" is the operator's."""
    from crmkit import ValidationError, zone_named
    data["time_zone"] = data["time_zone"].strip()
    try:
        zone_named(data["time_zone"])
    except ValidationError as exc:
        errors["time_zone"] = exc.errors["time_zone"]


# core entities whose only rules are their schemas: bulk imports need no row-by-row pass
NO_RECORD_RULES = {"core.contact", "core.product", "core.product_group", "core.region", "core.department",
                   "core.access_group"}


def validate_core_frame(crm, entity, frame):
    """Vectorised checks for bulk imports: contact information is normalised;
    entities without record rules are answered for (so no row-by-row pass)."""
    if entity in NO_RECORD_RULES:
        return {}
    if entity == "core.currency_rate":
        from .rates import check_rate_frame
        return check_rate_frame(crm, frame)
    if entity != "core.contact_info" or "value" not in frame.columns:
        return None
    errors = {}
    normalized = []
    for pos, (kind, value) in enumerate(zip(frame["kind"], frame["value"])):
        row = {"kind": kind, "value": value, "partner": 1}
        errs: dict = {}
        _check_contact_info(row, None, errs)
        errs.pop("partner", None)
        if errs:
            errors[pos] = {k: [v] for k, v in errs.items()}
        normalized.append(row.get("normalized", ""))
    frame["normalized"] = normalized
    return errors


def _partner(crm, context):
    partner = context.get("partner")
    if partner is None and context.get("contact") is not None:
        partner = context["contact"].partner
    return partner


def partner_presentation(crm, context):
    partner = _partner(crm, context)
    return (partner.public_name or partner.name) if partner else ""


def contact_presentation(crm, context):
    contact = context.get("contact")
    return contact.name if contact else ""


def manager_presentation(crm, context):
    partner = _partner(crm, context)
    return partner.manager.name if partner and partner.manager_id else ""


TEMPLATE_PARAMETERS = [
    ("ПредставлениеПартнера", partner_presentation, "the partner's public name"),
    ("ПредставлениеКонтакта", contact_presentation, "the contact person's name"),
    ("ОсновнойМенеджер", manager_presentation, "the partner's main manager"),
    ("partner_name", partner_presentation, "the partner's public name"),
    ("contact_name", contact_presentation, "the contact person's name"),
    ("manager_name", manager_presentation, "the partner's main manager"),
]
