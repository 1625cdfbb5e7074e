"""The marketing plugin's web pages, through the web plugin's
``crmkit_register_pages``: a mailing's preview (the first recipients and
what each would get) and delivery status, a template's live preview
(rendered in the kernel's sandbox as you type, shown in a sandboxed frame),
and an event's participants. Sending is the mailing's ``marketing.send``
action, a test copy ``marketing.test_send``: the card's buttons."""
from __future__ import annotations

from crmkit import ValidationError
from crmkit_web.ui import CardTab, MenuEntry, Page, crm as current_crm, page_url, render_fragment
from crmkit_web.ui.entities import table

from . import mailings, models as m
from .render import context_for, render_message

PREVIEW_FIELDS = ("subject", "body_text", "body_html", "sms_text")


def mailing_panel(crm, mailing):
    try:
        preview, error = mailings.preview(crm, mailing.id), None
    except ValidationError as exc:
        preview, error = [], str(exc)
    return render_fragment("marketing/web/mailing_panel.html", mailing=mailing, preview=preview, error=error,
                           status=mailings.status(crm, mailing.id))


def template_preview_tab(crm, template):
    return render_fragment("marketing/web/template_preview.html", template=template,
                           url=page_url("marketing.template_preview", key=template.id))


def template_preview(key):
    """POST: the submitted text of a template rendered for a sample
    partner (the first one the user sees, or ``partner``), in the sandbox."""
    from flask import make_response, render_template, request
    crm = current_crm()
    saved = crm.get("marketing.template", key)
    draft = m.Template(**{**saved.__data__, **{f: request.form.get(f, getattr(saved, f) or "")
                                                for f in PREVIEW_FIELDS}})
    partner = None
    if request.form.get("partner"):
        partner = crm.get("core.partner", request.form["partner"])
    else:
        partner = crm.query("core.partner").order_by(m.Partner.id).first()
    try:
        out, error = render_message(crm, draft, context_for(crm, partner, None,
                                                            extra={"mailing_name": "preview"})), None
    except ValidationError as exc:
        out, error = None, exc.errors
    resp = make_response(render_template("marketing/web/preview_frame.html", out=out, error=error, partner=partner))
    # the frame's own policy: the rendered HTML may style itself, never run a script
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return resp


def event_panel(crm, event):
    cols = ["partner", "contact", "role", "comment"]
    rows = crm.find("marketing.participant", event=event.id)
    return render_fragment("web/core/related.html", entity="marketing.participant", partner=None, columns=cols,
                           rows=table(crm, crm.registry.entity("marketing.participant"), rows, cols),
                           new_args={"event": event.id}, can_create=crm.can("create", "marketing.participant"),
                           note=None)


def register_pages(register):
    register(CardTab("marketing.mailing", "preview", "Preview and delivery", mailing_panel, panel=True))
    register(CardTab("marketing.template", "preview", "Live preview", template_preview_tab, order=10))
    register(CardTab("marketing.event", "participants", "Participants", event_panel, panel=True))
    register(Page("/marketing/templates/<key>/preview", "marketing.template_preview", template_preview,
                  methods=("POST",)))
    for order, (entity, title) in enumerate((("marketing.event", "Marketing events"),
                                             ("marketing.mailing", "Mailings"),
                                             ("marketing.mailing_group", "Mailing groups"),
                                             ("marketing.template", "Notification templates"),
                                             ("marketing.channel", "Advertising channels"))):
        register(MenuEntry("Marketing", title, "entity:" + entity, entity=entity, order=order))
