"""Lead capture: public forms an administrator publishes (entity
``web.lead_form``, edited with the generic pages), at ``/f/<slug>``.

With the leads plugin installed, a post captures a lead through the
``leads.capture`` action (the one the CLI's ``crmkit leads capture`` and the
API run): the form's chosen ``leads.lead`` fields (``name`` is the person's
name), the email and phone when asked, the message as the lead's demand,
the form's owner as responsible, and the form's channel and source as its
primary interest; then an incoming interaction of the form's kind about the
lead with the message (it moves to the partner when the lead converts).

Without the leads plugin, a post creates, in one transaction and acting as
the form's owner: a partner from the form's chosen ``core.partner`` fields
(validated by the partner's schema, so a bad value is refused naming the
field and nothing is written), its email and phone as contact information
when asked, an interaction with the message, and — with marketing installed
and a channel named — the new partner's primary interest (channel and
source), through the ``marketing.set_interest`` action.

Against bots and floods: a honeypot field that people never see, a signed
time token (a post sooner than ``MIN_SECONDS`` after the form was shown, or
older than a day, is refused), and a rate limit per client address and per
form. Nothing else is reachable without a session: these two URLs only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

from crmkit import AccessDenied, CrmError, ValidationError, translate, utcnow

HONEYPOT = "website"
MIN_SECONDS = 3
MAX_AGE = 24 * 3600
PER_CLIENT = (5, dt.timedelta(minutes=10))     # posts per address per window
PER_FORM = (200, dt.timedelta(hours=1))        # posts per form per window
MESSAGE_MAX = 4000
EXTRA = ("email", "phone", "message")


def chosen_fields(form) -> list[str]:
    return [f.strip() for f in (form.fields or "").split(",") if f.strip()]


LEAD_FIELDS = ("name", "person", "company", "position", "website", "address", "demand", "comment")


def makes_leads(crm) -> bool:
    """Whether a post captures a lead (the leads plugin is installed)."""
    return "leads.capture" in crm.registry.actions


def check_form(crm, data, record):
    """Rules of ``web.lead_form``: the fields must be ones a stranger may
    fill (on a lead with the leads plugin, else on a partner), the owner an
    active user, the kind an interaction kind."""
    from crmkit.core.kinds import INTERACTION_KINDS
    from crmkit.core.models import User
    errors = {}
    fields = data.get("fields", record.fields if record is not None else "name")
    allowed = form_fields(crm)
    names = [f.strip() for f in (fields or "").split(",") if f.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        errors["fields"] = [f"not fields a form may fill: {', '.join(bad) or '(none)'}; choose from {', '.join(allowed)}"]
    elif makes_leads(crm) and not {"name", "person", "company"} & set(names):
        errors["fields"] = ["must include name, person or company (a lead needs a name)"]
    elif not makes_leads(crm) and "name" not in names:
        errors["fields"] = ["must include name (a partner needs one)"]
    owner = data.get("owner", record.owner if record is not None else None)
    if owner is not None and not User.select().where((User.login == owner) & (User.is_active == True)).exists():  # noqa: E712
        errors["owner"] = [f"no active user {owner!r}"]
    channel = data.get("channel", record.channel if record is not None else "")
    source = data.get("source", record.source if record is not None else "")
    if channel:
        if "marketing.channel" not in crm.registry.entities:
            errors["channel"] = ["primary interests need the marketing plugin"]
        elif not crm.find("marketing.channel", name=channel):
            errors["channel"] = [f"no advertising channel {channel!r}"]
        elif not source or ":" not in source:
            errors["source"] = ["a channel's interest needs its source, entity:id (marketing.event:3)"]
    kind = data.get("interaction_kind")
    if kind is not None and kind not in INTERACTION_KINDS:
        errors["interaction_kind"] = [f"one of {', '.join(INTERACTION_KINDS)}"]
    return errors


def form_fields(crm):
    """Fields a public form may ask: a lead's (``name`` standing for the
    person's name) with the leads plugin, else a partner's."""
    return list(LEAD_FIELDS) if makes_leads(crm) else _partner_fields(crm)


def _partner_fields(crm):
    """Partner fields a public form may fill: not read-only, not admin-only,
    and no reference (a stranger cannot pick records)."""
    import peewee as pw
    spec = crm.registry.entity("core.partner")
    locked = set(spec.read_only) | set(spec.admin_only) | {"id", "created_at", "changed_at", "deletion_mark",
                                                           spec.code_field}
    return [n for n, f in spec.model._meta.fields.items()
            if n not in locked and not isinstance(f, pw.ForeignKeyField)]


def _secret():
    from .models import Secret
    row = Secret.get_or_none(Secret.name == "lead_forms")
    if row is None:
        Secret.insert(name="lead_forms", value=secrets.token_hex(32)).on_conflict_ignore().execute()
        row = Secret.get(Secret.name == "lead_forms")
    return row.value.encode()


def time_token(slug, now=None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    mac = hmac.new(_secret(), f"{slug}:{stamp}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{stamp}.{mac}"


def check_time_token(slug, token, now=None) -> str | None:
    """Why the token is refused, or None."""
    now = now if now is not None else time.time()
    stamp, _, mac = (token or "").partition(".")
    if not stamp.isdigit():
        return "the form is incomplete: reload it"
    good = hmac.new(_secret(), f"{slug}:{stamp}".encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(good, mac):
        return "the form is incomplete: reload it"
    age = now - int(stamp)
    if age < MIN_SECONDS:
        return "sent too fast: please try again"
    if age > MAX_AGE:
        return "the form has expired: reload it"
    return None


def _over_limit(form, client, now) -> bool:
    from .models import LeadHit
    n, window = PER_CLIENT
    mine = LeadHit.select().where((LeadHit.form == form.id) & (LeadHit.client == client)
                                  & (LeadHit.at > now - window)).count()
    total_n, total_window = PER_FORM
    total = LeadHit.select().where((LeadHit.form == form.id) & (LeadHit.at > now - total_window)).count()
    return mine >= n or total >= total_n


def submit(crm, form, values: dict):
    """Create the lead from the posted ``values`` as the form's owner; a
    ValidationError names the field, and nothing is written."""
    owner = crm.as_user(form.owner)
    errors = {}
    data = {name: values.get(name, "").strip() for name in chosen_fields(form)}
    data = {k: v for k, v in data.items() if v != ""}
    email = (values.get("email") or "").strip() if form.ask_email else ""
    phone = (values.get("phone") or "").strip() if form.ask_phone else ""
    message = (values.get("message") or "").strip()
    if len(message) > MESSAGE_MAX:
        errors["message"] = [f"at most {MESSAGE_MAX} characters"]
    if form.ask_email and not email and not phone:
        errors["email"] = ["give an email or a phone"]
    if errors:
        raise ValidationError(errors, "web.lead_form")
    if makes_leads(owner):
        return _capture_lead(owner, form, data, email, phone, message)
    with owner.transaction():
        partner = owner.create("core.partner", {"kind": "individual", **data})
        for kind, value in (("email", email), ("phone", phone)):
            if value:
                try:
                    owner.create("core.contact_info", {"partner": partner.id, "kind": kind, "value": value})
                except ValidationError as exc:
                    raise ValidationError({kind: msgs for msgs in exc.errors.values()}, "web.lead_form") from None
        call = owner.create("core.interaction", {
            "kind": form.interaction_kind, "direction": "incoming", "date": utcnow(), "partner": partner.id,
            "topic": form.title[:300], "text": message, "how": f"web form {form.slug}",
            "responsible": owner.actor.id})
        if form.channel and "marketing.set_interest" in owner.registry.actions:
            channel = owner.find("marketing.channel", name=form.channel)
            if not channel:
                raise ValidationError({"channel": f"no advertising channel {form.channel!r}"}, "web.lead_form")
            params = {"subject": f"core.partner:{partner.id}", "channel": channel[0].id}
            if form.source:
                params["source"] = form.source
            owner.act("marketing.set_interest", None, **params)
    return partner, call


def _capture_lead(owner, form, data, email, phone, message):
    """The lead through ``leads.capture`` (its validation, its primary
    interest), and the message as an incoming interaction about it; one
    transaction, so a refusal of either writes nothing."""
    lead = {("person" if k == "name" else k): v for k, v in data.items()}
    lead.update({k: v for k, v in (("email", email), ("phone", phone)) if v})
    if message and not lead.get("demand"):
        lead["demand"] = message
    lead["responsible"] = owner.actor.id
    params = {"lead": lead}
    if form.channel:
        params["channel"] = form.channel
        if form.source:
            params["source"] = form.source
    asked_name = "name" in data or "name" in chosen_fields(form)
    try:
        with owner.transaction():
            record = owner.act("leads.capture", None, **params)
            call = owner.create("core.interaction", {
                "kind": form.interaction_kind, "direction": "incoming", "date": utcnow(),
                "subject": ("leads.lead", record.id), "topic": form.title[:300], "text": message,
                "how": f"web form {form.slug}", "responsible": owner.actor.id})
    except ValidationError as exc:
        errors = {}
        for field, msgs in exc.errors.items():
            field = "name" if field == "person" and asked_name else field
            if field == "demand" and "demand" not in chosen_fields(form):
                field = "message"
            errors[field] = msgs if isinstance(msgs, list) else [msgs]
        raise ValidationError(errors, "web.lead_form") from None
    return record, call


def add_routes(bp):
    from flask import abort, g, render_template, request

    def _form(slug):
        from .models import LeadForm
        form = LeadForm.get_or_none((LeadForm.slug == slug) & (LeadForm.is_published == True)  # noqa: E712
                                    & (LeadForm.deletion_mark == False))  # noqa: E712
        if form is None:
            abort(404)
        return form

    def _page(form, errors=None, values=None, done=False, status=200):
        return render_template("web/lead_form.html", form=form, fields=chosen_fields(form), errors=errors or {},
                               values=values or {}, done=done, token=time_token(form.slug),
                               honeypot=HONEYPOT, title=form.title,
                               labels=_labels(form)), status

    def _labels(form):
        entity = "leads.lead" if makes_leads(g.crm) else "core.partner"
        out = {}
        for n in chosen_fields(form) + list(EXTRA):
            said = translate(n, _lang(), context=entity)
            out[n] = said.replace("_", " ").capitalize() if said == n else said
        out["message"] = translate("Message", _lang())
        if "name" in out and entity == "leads.lead":
            out["name"] = translate("Your name", _lang())
        return out

    def _say(message):
        """A refusal in the page's language: the form's own words, else the
        words of the entity that refused (the lead's, the partner's)."""
        from crmkit import translate_message
        said = translate(message, _lang())
        if said == message:
            said = translate_message(message, _lang(), context="leads.lead" if makes_leads(g.crm) else "core.partner")
        return said

    def _lang():
        from .locale import browser_lang
        return browser_lang(request)

    @bp.get("/f/<slug>", endpoint="lead_form")
    def lead_form(slug):
        return _page(_form(slug))

    @bp.post("/f/<slug>", endpoint="lead_submit")
    def lead_submit(slug):
        from .models import LeadHit
        form = _form(slug)
        values = {k: v for k, v in request.form.items() if k in chosen_fields(form) or k in EXTRA}
        if request.form.get(HONEYPOT):
            return _page(form, done=True)        # a bot: looks accepted, writes nothing
        reason = check_time_token(form.slug, request.form.get("t"))
        if reason:
            return _page(form, {"_": [reason]}, values, status=400)
        now = utcnow()
        client = (request.remote_addr or "?")[:64]
        if _over_limit(form, client, now):
            return _page(form, {"_": ["too many forms sent: try again later"]}, values, status=429)
        LeadHit.create(form=form.id, client=client, at=now)
        try:
            submit(g.crm, form, values)
        except ValidationError as exc:
            return _page(form, {k: [_say(str(m)) for m in (v if isinstance(v, list) else [v])]
                                for k, v in exc.errors.items()}, values, status=422)
        except (AccessDenied, CrmError):
            return _page(form, {"_": ["the form cannot be accepted now"]}, values, status=503)
        return _page(form, done=True)
