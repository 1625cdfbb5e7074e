"""Rendering a template for one recipient, in the kernel's sandbox."""
from __future__ import annotations

from crmkit import ValidationError

def wrap(value):
    """Records pass as they are: the kernel's render_template shows them to the
    template as read-only views that follow references through the acting
    user's access."""
    return value


def context_for(crm, partner=None, contact=None, record=None, record_entity=None, extra=None):
    """The template context: records (seen as read-only views) plus plain values."""
    ctx = {k: wrap(v) for k, v in (extra or {}).items()}
    if contact is not None and partner is None:
        partner = contact.partner
    ctx.update({"partner": wrap(partner), "contact": wrap(contact)})
    if record is not None:
        ctx["record"] = wrap(record)
        if record_entity:
            ctx.setdefault("record_presentation", crm.display(record_entity, record))
        ctx.setdefault("status", getattr(record, "status", "") or "")
    return ctx


def render_message(crm, template, context, entity=None):
    """``{"subject", "text", "html", "sms"}`` of a template for one recipient.

    Raises ValidationError naming the template field the sandbox refused,
    or ``subject`` when the rendered subject would carry a line break.
    """
    if template.method == "processing":
        built = crm.pm.hook.crmkit_marketing_build_message(
            crm=crm, processing=template.processing, template=template, context=context)
        if built is None:
            raise ValidationError({"processing": f"no plugin handles processing {template.processing!r}"},
                                  "marketing.template")
        return {"subject": built.get("subject", ""), "text": built.get("text", ""),
                "html": built.get("html"), "sms": built.get("sms", "")}
    out = {"subject": "", "text": "", "html": None, "sms": ""}
    if template.email:
        out["subject"] = crm.render_template(template.subject, context, field="subject", entity=entity).strip()
        out["text"] = crm.render_template(template.body_text, context, field="body_text", entity=entity)
        if template.body_html:
            out["html"] = crm.render_template(template.body_html, context, html=True, field="body_html",
                                              entity=entity)
    if template.sms:
        out["sms"] = crm.render_template(template.sms_text, context, field="sms_text", entity=entity).strip()
    if "\r" in out["subject"] or "\n" in out["subject"]:
        raise ValidationError({"subject": "the rendered subject contains a line break (CR/LF)"},
                              "marketing.template")
    return out
