"""The web pages' tables (``web_`` prefix): sessions and lead-capture forms."""
import peewee as pw

from crmkit import BaseModel, RecordModel, UtcDateTimeField, utcnow


class Session(BaseModel):
    """A signed-in browser. The cookie holds a random token; only its
    SHA-256 is stored, so reading the table gives no usable session."""

    token_hash = pw.CharField(max_length=64, unique=True)
    login = pw.CharField(max_length=64, index=True)
    csrf = pw.CharField(max_length=64)
    lang = pw.CharField(max_length=8, default="")
    time_zone = pw.CharField(max_length=64, default="")
    created_at = UtcDateTimeField(default=utcnow)
    seen_at = UtcDateTimeField(default=utcnow)
    expires_at = UtcDateTimeField(index=True)

    class Meta:
        table_name = "web_session"


class LeadForm(RecordModel):
    """A public form (``/f/<slug>``) an administrator publishes: posting it
    creates a partner with the chosen ``fields`` of ``core.partner`` (comma
    separated), its email and phone when asked, and an interaction of
    ``interaction_kind`` with the message; with marketing installed and a
    ``channel`` named, the partner's primary interest (channel and
    ``source``, ``entity:id``). Writes act as the ``owner`` user."""

    slug = pw.CharField(max_length=64, unique=True)
    title = pw.CharField(max_length=200)
    fields = pw.CharField(max_length=500, default="name")
    ask_email = pw.BooleanField(default=True)
    ask_phone = pw.BooleanField(default=True)
    interaction_kind = pw.CharField(max_length=16, default="email")
    channel = pw.CharField(max_length=150, default="")
    source = pw.CharField(max_length=120, default="")
    owner = pw.CharField(max_length=64)
    is_published = pw.BooleanField(default=False)

    class Meta:
        table_name = "web_lead_form"


class Secret(BaseModel):
    """Random keys made once per database (the lead forms' time tokens), so
    every server process signs and checks alike."""

    name = pw.CharField(max_length=64, unique=True)
    value = pw.CharField(max_length=128)

    class Meta:
        table_name = "web_secret"


class LeadHit(BaseModel):
    """One post to a lead form from one client address: the rate limit."""

    form = pw.ForeignKeyField(LeadForm, on_delete="CASCADE")
    client = pw.CharField(max_length=64)
    at = UtcDateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "web_lead_hit"
