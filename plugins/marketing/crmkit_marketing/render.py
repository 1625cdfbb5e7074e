"""Rendering a template for one recipient, in the kernel's sandbox.

A template embeds the images attached to it as files (its Files tab, with
the files plugin): ``#Картинка1#`` (or ``#Image1#``) is the first image file
attached, ``#Картинка2#`` the second, and so on. In the HTML body it is an
``<img src="cid:...">``, and the rendered message carries the image
(``images``), which ``queue_message`` puts in the outbox meta as ``inline``
(by the content's SHA-256, held by the files plugin until the message is
sent) for notify_email to send in a multipart/related part; in the text
body and the subject it is the file's name in brackets.
"""
from __future__ import annotations

import re

from crmkit import ValidationError

IMAGE_NAMES = ("Картинка", "Image")
IMAGES_MAX = 9
IMAGE_USED = re.compile(r"(Картинка|Image)[1-9]")
INLINE_MAX_BYTES = 1024 * 1024   # an image of one message: every recipient's email carries it on the wire


def image_parameters():
    """``(name, n)`` of every image parameter: Картинка1 ... Картинка9, Image1 ... Image9."""
    return [(f"{word}{n}", n) for word in IMAGE_NAMES for n in range(1, IMAGES_MAX + 1)]


def image_value(n):
    """The value of image parameter ``n`` in the context ``render_message`` made."""
    def compute(crm, context):
        images = context.get("template_images")
        if images is None:       # rendered outside a message (a check at save time, another plugin)
            return ""
        if n > len(images["files"]):
            raise ValidationError({f"Картинка{n}": f"the template has {len(images['files'])} image files, "
                                                   f"not {n} (attach images on its Files tab)"}, "marketing.template")
        item = images["files"][n - 1]
        if not images["html"]:
            return f"[{item['filename']}]"
        from markupsafe import Markup, escape
        images["used"].add(n)
        return Markup(f'<img src="cid:{item["cid"]}" alt="{escape(item["filename"])}">')
    return compute


def template_images(crm, template) -> list:
    """The image files attached to ``template`` the user sees, in the order
    attached, each ``{"cid", "filename", "content_type", "sha256"}``: the
    content by its hash, not its bytes, which every recipient's message
    would repeat; notify_email reads them when it sends, and the files
    plugin keeps them until then (``crmkit_files.store.hold``). Listed once
    per template record (a mailing renders it per recipient)."""
    cached = getattr(template, "_crmkit_images", None)
    if cached is not None:
        return cached
    images = []
    if "files.file" in crm.registry.entities and crm.can("read", "files.file"):
        F = crm.model("files.file")
        rows = (crm.query("files.file").where((F.subject_type == "marketing.template") & (F.subject_id == template.id)
                                             & F.mime.startswith("image/")).order_by(F.id).limit(IMAGES_MAX))
        for row in rows:
            if row.size > INLINE_MAX_BYTES:
                raise ValidationError({"Картинка": f"{row.name} is {row.size} bytes: an embedded image is at most "
                                                   f"{INLINE_MAX_BYTES} bytes"}, "marketing.template")
            images.append({"cid": f"image{len(images) + 1}.{row.sha256[:16]}@crmkit", "filename": row.name,
                           "content_type": row.mime, "sha256": row.sha256})
    template._crmkit_images = images
    return images

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
    sources = (template.subject, template.body_text, template.body_html, template.sms_text)
    if any(IMAGE_USED.search(text or "") for text in sources):
        files = template_images(crm, template)
        images = {"files": files, "html": False, "used": set()}
        context = {**context, "template_images": images}
    else:
        images = None
    if template.email:
        out["subject"] = crm.render_template(template.subject, context, field="subject", entity=entity).strip()
        out["text"] = crm.render_template(template.body_text, context, field="body_text", entity=entity)
        if template.body_html:
            if images is not None:
                images["html"] = True
            out["html"] = crm.render_template(template.body_html, context, html=True, field="body_html",
                                              entity=entity)
            if images is not None:
                images["html"] = False
                out["images"] = [images["files"][n - 1] for n in sorted(images["used"])]
    if template.sms:
        out["sms"] = crm.render_template(template.sms_text, context, field="sms_text", entity=entity).strip()
    if "\r" in out["subject"] or "\n" in out["subject"]:
        raise ValidationError({"subject": "the rendered subject contains a line break (CR/LF)"},
                              "marketing.template")
    return out
