"""Webhook events: the catalogue, who is subscribed, and writing them out.

An event is written to the outbox inside the transaction of the change that
caused it (the kernel's and plugins' event hooks run there), one message per
matching active subscription; a rolled-back write leaves no event behind.
The body is fixed when queued (a resend carries the same bytes and the same
``webhook-id``); it is signed at each attempt.

Payloads carry a record as the API shows it: entity, id, code and its
fields, references as ids. Subscriptions belong to administrators, who may
see every row and field, so nothing is filtered by row; credentials
(fields named like password, secret, token or hash) are never sent, and the
plugin's own subscriptions raise no events (a delivery updating its
subscription would otherwise announce itself forever).
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import uuid
import weakref

import attrs

from crmkit import Message, ValidationError, plain, utcnow

CHANNEL = "webhook"
OWN_ENTITIES = "notify_webhook."
SECRET_FIELD = re.compile(r"password|secret|token|hash|api_?key", re.I)
PATTERN = re.compile(r"^[a-z0-9_.*?]+$")


@attrs.frozen
class WebhookEvent:
    """An event subscribers can choose.

    :param name: ``<plugin>.<thing>.<what happened>``, e.g. ``deals.deal.won``.
    :param description: one line for ``crmkit webhook events``.
    :param entity: the entity whose record ``data`` carries, if any.
    :param payload: ``{key: description}`` of what ``data`` holds beyond the record.
    """

    name: str
    description: str = ""
    entity: str | None = None
    payload: dict = attrs.field(factory=dict)


def _builtin(registry) -> list[WebhookEvent]:
    # descriptions are Messages: English as a str (JSON, the API), said in the user's language
    # in a table; an entity by its label in its own plugin's words
    found = []
    for name in sorted(registry.entities):
        if name.startswith(OWN_ENTITIES):
            continue
        label = Message(registry.entities[name].label or name, context=name)
        found += [WebhookEvent(f"{name}.created", Message("a {label} was created", label=label), name),
                  WebhookEvent(f"{name}.updated", Message("a {label} was changed (or marked for deletion)",
                                                          label=label), name,
                               {"changes": "{field: {old, new}} of what changed"}),
                  WebhookEvent(f"{name}.deleted", Message("a {label} was deleted for good", label=label), name)]
    if "deals.deal" in registry.entities:
        found += [WebhookEvent("deals.deal.stage_changed", Message("a deal moved to another stage"), "deals.deal",
                               {"old_stage": "id of the stage left", "new_stage": "id of the stage entered"}),
                  WebhookEvent("deals.deal.won", Message("a deal was won"), "deals.deal",
                               {"old_status": "status before"}),
                  WebhookEvent("deals.deal.lost", Message("a deal was lost"), "deals.deal",
                               {"old_status": "status before"}),
                  WebhookEvent("deals.deal.reopened", Message("a won or lost deal is in work again"), "deals.deal",
                               {"old_status": "status before"})]
    if "claims.claim" in registry.entities:
        found.append(WebhookEvent("claims.claim.status_changed", Message("a claim's status changed"), "claims.claim",
                                  {"old_status": "status before", "new_status": "status now"}))
    if "marketing.mailing" in registry.entities:
        found.append(WebhookEvent("marketing.mailing.finished",
                                  Message("every message of a mailing has its outcome (sent, failed or skipped)"),
                                  "marketing.mailing", {"counts": "{recipients, sent, failed, skipped}"}))
    return found


_catalogues: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def catalogue(crm) -> dict[str, WebhookEvent]:
    """Every event of the installed plugins, by name (built once per registry)."""
    found = _catalogues.get(crm.registry)
    if found is not None:
        return found
    found = {e.name: e for e in _builtin(crm.registry)}
    owners = {}

    def register(event, description="", entity=None, payload=None):
        if isinstance(event, str):
            event = WebhookEvent(event, description, entity, payload or {})
        if not isinstance(event, WebhookEvent) or not PATTERN.match(event.name) or "*" in event.name \
                or "?" in event.name or event.name.count(".") < 1:
            raise ValidationError({"event": f"{event!r}: an event is named <plugin>.<thing>.<what happened> "
                                            f"in lower case"})
        if event.name in found:
            raise ValidationError({"event": f"webhook event {event.name!r} is declared twice"
                                            + (f" ({owners[event.name]})" if event.name in owners else "")})
        found[event.name] = event
        owners[event.name] = "declared by a plugin"

    for impl in reversed(crm.pm.hook.crmkit_register_webhook_events.get_hookimpls()):
        impl.function(register=register)
    _catalogues[crm.registry] = found
    return found


def parse_patterns(text) -> list[str]:
    """``"deals.deal.*, *.created"`` (or a list) -> the patterns, deduplicated."""
    items = text if isinstance(text, (list, tuple)) else re.split(r"[,\s]+", str(text or ""))
    return list(dict.fromkeys(p.strip().lower() for p in items if p and p.strip()))


def check_patterns(crm, text) -> tuple[str, list[str]]:
    """The normalised events text and its problems (each naming the pattern)."""
    patterns = parse_patterns(text)
    problems = []
    if not patterns:
        problems.append("name at least one event or pattern (crmkit webhook events lists them)")
    known = catalogue(crm)
    for p in patterns:
        if not PATTERN.match(p):
            problems.append(f"{p!r}: only lower-case letters, digits, '_', '.', '*' and '?'")
        elif not any(fnmatch.fnmatchcase(name, p) for name in known):
            problems.append(f"{p!r} matches no event (crmkit webhook events lists them)")
    return ", ".join(patterns), problems


_matchers: dict = {}


def matches(events_text: str, name: str) -> bool:
    regex = _matchers.get(events_text)
    if regex is None:
        if len(_matchers) > 1000:
            _matchers.clear()
        regex = _matchers[events_text] = re.compile(
            "|".join(f"(?:{fnmatch.translate(p)})" for p in parse_patterns(events_text)) or "(?!)")
    return regex.match(name) is not None


# -- payloads ---------------------------------------------------------------

def _value(field, record):
    value = record.__data__.get(field.name)
    return plain(value)


def record_data(crm, entity, record) -> dict:
    """A record as the API shows it: entity, id, code, fields (references as ids)."""
    model = record._meta.model if hasattr(record, "_meta") else crm.model(entity)
    fields = {}
    for name, field in model._meta.fields.items():
        if SECRET_FIELD.search(name):
            continue
        fields[name] = _value(field, record)
    out = {"entity": entity, "id": record.get_id()}
    if "code" in fields:
        out["code"] = fields["code"]
    out["fields"] = fields
    return out


def changes_data(changes) -> dict:
    return {name: {"old": plain(old), "new": plain(new)} for name, (old, new) in changes.items()
            if not SECRET_FIELD.search(name)}


def _partner_of(crm, entity, record):
    """The partner a record belongs to (one step), so the outbox hides its
    messages from users who may not see that partner."""
    spec = crm.registry.entities.get(entity)
    path = spec.partner_path if spec is not None else None
    if isinstance(path, tuple):
        path = path[0]
    if path == "self":
        return record.get_id()
    if path:
        field = record._meta.fields.get(path)
        target = crm.registry.spec_of_model(field.rel_model) if field is not None and hasattr(field, "rel_model") \
            else None
        if target is not None and target.partner_path == "self":
            return record.__data__.get(path)
    return None


# -- writing events ------------------------------------------------------------

_ACTIVE_SQL = ('SELECT "id", "url", "events" FROM "notify_webhook_subscription" '
               'WHERE "active" = {p} AND "deletion_mark" = {p}')


def subscribers(crm, name) -> list[tuple]:
    """(id, url) of active subscriptions to event ``name``: one small query."""
    sql = _ACTIVE_SQL.format(p=crm.db.param)
    rows = crm.db.execute_sql(sql, (True, False)).fetchall()
    return [(sid, url) for sid, url, events in rows if matches(events, name)]


def emit(crm, event, record=None, entity=None, data=None, key=None) -> int:
    """Write event ``event`` for every subscription that wants it, in the
    caller's transaction; returns how many messages were queued.

    :param record: the record the event is about (sent as ``data``'s record
        part), with ``entity`` its entity name.
    :param data: further JSON-able values merged into ``data``.
    :param key: for an event that may be noticed twice (two workers finishing
        a mailing's last messages): emitted again with the same key, it
        queues nothing new.
    """
    if event not in catalogue(crm):
        raise ValidationError({"event": f"{event!r} is not a declared webhook event "
                                        f"(declare it with crmkit_register_webhook_events)"})
    targets = subscribers(crm, event)
    if not targets:
        return 0
    body_data = record_data(crm, entity, record) if record is not None else {}
    body_data.update(data or {})
    now = utcnow()
    body = json.dumps({"type": event, "timestamp": now.isoformat(), "actor": crm.actor.login,
                       "data": body_data}, ensure_ascii=False, default=plain, separators=(",", ":"))
    partner_id = _partner_of(crm, entity, record) if record is not None else None
    with crm.transaction():
        for sid, url in targets:
            webhook_id = f"msg_{hashlib.sha256(f'{sid}:{key}'.encode()).hexdigest()[:32]}" if key \
                else f"msg_{uuid.uuid4().hex}"
            crm.outbox.queue(CHANNEL, url[:320], subject=event, text=body, key=f"webhook:{sid}:{webhook_id}",
                             meta={"subscription": sid, "webhook_id": webhook_id, "event": event},
                             source=f"notify_webhook.subscription:{sid}", partner_id=partner_id)
    return len(targets)
