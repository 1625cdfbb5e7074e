"""The core entities: their models, schemas, access paths and display."""
from decimal import Decimal

from crmkit import EntitySpec

from . import models as m

RATE_MIN = Decimal("0.000001")   # a rate of 0 (or below) converts nothing: refused


def _own_only(field):
    """Row filter: a non-administrator sees only their own records of ``field``."""
    def rule(actor, model):
        return getattr(model, field) == actor.id
    return rule


def _notes_rule(actor, model):
    return (model.private == False) | (model.author == actor.id)  # noqa: E712


def _member_rule(actor, model, view):
    """Members of partner segments are visible when the partner is; the
    stored members of a segment ranked over the whole base (by a
    classification) only to those who see every partner: others get its
    members evaluated over their own view (``segment members``)."""
    from .models import Partner, Segment
    from .segments import ranked_segment_ids
    groups = sorted(actor.access_groups)
    rule = Partner.access_group.is_null()
    if groups:
        rule |= Partner.access_group.in_(groups)
    visible = Partner.select(Partner.id).where(rule)
    partner_segments = Segment.select(Segment.id).where(Segment.kind == "partner")
    rule = model.segment.not_in(partner_segments) | model.member_id.in_(visible)
    ranked = ranked_segment_ids(view.registry)
    return (rule & model.segment.not_in(ranked)) if ranked else rule


def _user_display(user):
    return user.name


ENTITIES = [
    EntitySpec("core.access_group", m.AccessGroup, label="Access group", list_fields=("id", "name", "comment")),
    EntitySpec("core.department", m.Department, label="Department", list_fields=("id", "name", "parent")),
    EntitySpec("core.user", m.User, label="User", lookup="login", admin_only=("roles", "is_active"),
               schema={"login": {"regex": r"[A-Za-z0-9_.@-]+"}},
               list_fields=("id", "login", "name", "department", "email", "roles", "is_active")),
    EntitySpec("core.user_access", m.UserAccess, label="User access group", display=lambda r: f"{r.user_id}:{r.access_group_id}",
               list_fields=("id", "user", "access_group")),
    EntitySpec("core.region", m.Region, label="Business region", lookup="code", list_fields=("id", "code", "name")),
    EntitySpec("core.partner", m.Partner, label="Partner", subject=True, partner_path="self",
               lookup="code", code_prefix="00-", order_by=("name",),
               schema={"name": {"empty": False}},
               list_fields=("id", "code", "name", "kind", "is_client", "is_supplier", "is_competitor",
                            "head", "manager", "region", "access_group", "registered_on")),
    EntitySpec("core.contact", m.Contact, label="Contact person", partner_path="partner", subject=False,
               order_by=("name",), list_fields=("id", "name", "partner", "position", "role")),
    EntitySpec("core.contact_info", m.ContactInfo, label="Contact information",
               partner_path=("partner", "contact"),
               display="value", read_only=("normalized",),
               list_fields=("id", "partner", "contact", "kind", "label", "value", "normalized")),
    EntitySpec("core.product_group", m.ProductGroup, label="Product group", list_fields=("id", "name", "parent")),
    EntitySpec("core.product", m.Product, label="Product", lookup="code", order_by=("code",),
               list_fields=("id", "code", "name", "group", "unit")),
    EntitySpec("core.interaction", m.Interaction, label="Interaction", partner_path="partner",
               code_prefix="00-", code_field="number", display="topic", lookup="number",
               order_by=("-date",), admin_only=("external_id",),
               list_fields=("id", "number", "date", "kind", "direction", "topic", "partner", "contact",
                            "responsible", "subject_type", "subject_id")),
    EntitySpec("core.task", m.Task, label="Task", partner_path="partner", code_prefix="00-",
               code_field="number", display="title", lookup="number", order_by=("due", "id"),
               read_only=("done_at",), admin_only=("author",),
               list_fields=("id", "number", "created_at", "title", "author", "performer", "due",
                            "priority", "state", "done_at", "subject_type", "subject_id")),
    EntitySpec("core.note", m.Note, label="Note", partner_path="partner", display="title", admin_only=("author",),
               row_filter=_notes_rule, order_by=("-changed_at",),
               list_fields=("id", "title", "colour", "subject_type", "subject_id", "changed_at", "author")),
    EntitySpec("core.reminder", m.Reminder, label="Reminder", partner_path="partner",
               display="description", row_filter=_own_only("user"), order_by=("remind_at",),
               schema={"user": {"required": False}}, read_only=("notified_at",),
               list_fields=("id", "remind_at", "description", "event_at", "subject_type", "subject_id",
                            "user", "done")),
    EntitySpec("core.segment", m.Segment, label="Segment", read_only=("computed_at",),
               list_fields=("id", "name", "kind", "method", "rule", "computed_at")),
    EntitySpec("core.segment_member", m.SegmentMember, label="Segment member", row_filter=_member_rule,
               display=lambda r: f"{r.segment_id}:{r.member_id}",
               list_fields=("id", "segment", "member_id", "added_at", "removed_at")),
    # reference data of every report in a report currency: seen by everyone, no partner
    EntitySpec("core.currency_rate", m.CurrencyRate, label="Exchange rate", admin_writes=True,
               display=lambda r: f"{r.currency} {r.date.isoformat()}", order_by=("currency", "-date"),
               schema={"currency": {"regex": "[A-Za-z]{3}"},
                       "rate": {"min": RATE_MIN},
                       "multiplier": {"min": 1, "max": 1_000_000},
                       "source": {"regex": r"[A-Za-z0-9_.-]*"}},
               list_fields=("id", "currency", "date", "rate", "multiplier", "source")),
]
