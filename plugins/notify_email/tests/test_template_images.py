"""A template embeds an image file (1C's #Картинка1#): the marketing
template holds it on its Files tab, the placeholder becomes a cid: image,
and the email arrives at a real SMTP server (aiosmtpd) as
multipart/related with the image inside."""
import io
import json

import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins("marketing", "files", "notify_email")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(60))
GIF = b"GIF89a" + bytes(40)
PDF = b"%PDF-1.4\n%%EOF\n"


def _attach(crm, template, name, data):
    from crmkit_files.store import attach
    return attach(crm, ("marketing.template", template.id), name, io.BytesIO(data))


@pytest.fixture
def kind(crm):
    partner = crm.create("core.partner", {"name": "Протон"})
    crm.create("core.contact_info", {"partner": partner.id, "kind": "email", "value": "info@proton.example"})
    forced = crm.create("marketing.mailing_group", {"name": "Заказы", "mode": "forced"})
    kind = crm.create("marketing.notification_kind", {"code": "orders.changed", "name": "Заказ изменился",
                                                      "group": forced.id})
    template = crm.create("marketing.template", {
        "name": "Оповещение при изменившемся", "kind": kind.id, "subject": "Заказ #ПредставлениеЗаказа#",
        "body_text": "Добрый день, #ПредставлениеПартнера#.\n#Картинка1#",
        "body_html": "<p>Добрый день, #ПредставлениеПартнера#.</p>#Картинка1#<p>#Image2#</p>"})
    return {"crm": crm, "partner": partner, "template": template}


def test_the_placeholder_is_an_inline_image_of_a_related_part(kind, smtp_server):
    from crmkit_marketing.api import notify
    crm, template = kind["crm"], kind["template"]
    _attach(crm, template, "прайс.pdf", PDF)          # not an image: not counted
    logo = _attach(crm, template, "логотип.png", PNG)
    _attach(crm, template, "stamp.gif", GIF)
    [message] = notify(crm, "orders.changed", "core.partner", kind["partner"], partner=kind["partner"])
    assert "[логотип.png]" in message.body_text
    meta = json.loads(message.meta)
    assert [i["filename"] for i in meta["inline"]] == ["логотип.png", "stamp.gif"]
    assert meta["inline"][0]["sha256"] == logo.sha256 and "content_b64" not in meta["inline"][0]   # by reference
    assert crm.outbox.deliver()["sent"] == 1
    [mail] = smtp_server.handler.parsed()
    alternative = mail.get_payload()[0] if mail.get_content_type() == "multipart/mixed" else mail
    assert alternative.get_content_type() == "multipart/alternative"
    plain, related = alternative.get_payload()
    assert (plain.get_content_type(), related.get_content_type()) == ("text/plain", "multipart/related")
    html, first, second = related.get_payload()
    assert html.get_content_type() == "text/html"
    cid = first["Content-ID"].strip("<>")
    assert f'<img src="cid:{cid}" alt="логотип.png">' in html.get_content()
    assert first.get_content_type() == "image/png" and first.get_content() == PNG
    assert first.get_content_disposition() == "inline" and first.get_filename() == "логотип.png"
    assert second.get_content_type() == "image/gif" and second.get_content() == GIF
    assert f'cid:{second["Content-ID"].strip("<>")}' in html.get_content()
    assert logo.sha256[:16] in cid


def test_a_missing_image_is_an_error_naming_it_and_nothing_is_queued(kind):
    from crmkit_marketing.render import context_for, render_message
    crm, template = kind["crm"], kind["template"]
    _attach(crm, template, "logo.png", PNG)
    with pytest.raises(ValidationError) as exc:      # #Image2#: one image attached
        render_message(crm, template, context_for(crm, kind["partner"]))
    assert "the template has 1 image files, not 2" in str(exc.value.errors)
    # a template without images renders its text, and its email has no related part
    crm.update("marketing.template", template.id, {"body_html": "<p>Без картинок</p>",
                                                    "body_text": "Без картинок"})
    out = render_message(crm, crm.get("marketing.template", template.id), context_for(crm, kind["partner"]))
    assert "images" not in out and out["html"] == "<p>Без картинок</p>"


def test_the_placeholder_of_a_user_who_may_not_read_files_is_refused(kind, open_crm):
    """Images are read as the sending user reads them: one whose role has
    no files sees no image, and the placeholder says so."""
    from crmkit_marketing.render import context_for, render_message
    crm, template = kind["crm"], kind["template"]
    _attach(crm, template, "logo.png", PNG)
    _attach(crm, template, "stamp.gif", GIF)
    crm.create("core.user", {"login": "reader", "name": "Читатель", "roles": "marketing_admin"})
    reader = open_crm(user="reader")
    assert reader.can("read", "marketing.template") and not reader.can("read", "files.file")
    with pytest.raises(ValidationError, match="has 0 image files"):
        render_message(reader, reader.get("marketing.template", template.id), context_for(reader, kind["partner"]))


@pytest.mark.parametrize("item, field", [
    ({"cid": "a@b", "filename": "x.exe", "content_type": "application/octet-stream", "content_b64": "AA=="},
     "inline.0.content_type"),
    ({"cid": "a b@c\r\nBcc: v@x", "filename": "x.png", "content_type": "image/png", "content_b64": "AA=="},
     "inline.0.cid"),
    ({"cid": "a@b", "filename": "x.png", "content_type": "image/png", "content_b64": "not base64!"},
     "inline.0.content_b64"),
    ({"cid": "a@b", "content_type": "image/png", "content_b64": "AA=="}, "inline.0"),
    ({"cid": "a@b", "filename": "x.png", "content_type": "image/png", "sha256": "../../etc/passwd"},
     "inline.0.sha256"),
    ({"cid": "a@b", "filename": "x.png", "content_type": "image/png", "sha256": "ab" * 32}, "inline.0.sha256"),
])
def test_a_bad_inline_image_fails_permanently_naming_the_field(crm, smtp_server, item, field):
    msg = crm.outbox.queue("email", "a@client.example", subject="s", text="t", html="<img src='cid:a@b'>",
                           key="bad", meta={"inline": [item]})
    assert crm.outbox.deliver()["failed"] == 1
    assert field in crm.outbox.messages()[0].last_error and msg.id == crm.outbox.messages()[0].id
    assert smtp_server.handler.received == []


def _files_only_plugin():
    import types

    from crmkit import PluginMeta, RoleSpec, hookimpl
    plugin = types.ModuleType("filesonly")
    plugin.PLUGIN = PluginMeta(name="filesonly", requires=("core", "files"))

    @hookimpl
    def crmkit_register_roles(register):
        register(RoleSpec("files_only", {"files.file": "r", "core.partner": "r"}))
    plugin.crmkit_register_roles = crmkit_register_roles
    return plugin


def test_a_templates_images_are_seen_only_by_who_reads_templates(kind, open_crm):
    """A file is seen with its subject: a role reading files and partners
    but not marketing templates sees the partner's file, not the template's."""
    from crmkit import NotFound
    from crmkit_files.store import attach, content
    crm, template = kind["crm"], kind["template"]
    logo = _attach(crm, template, "logo.png", PNG)
    own = attach(crm, ("core.partner", kind["partner"].id), "offer.pdf", io.BytesIO(PDF))
    plugin = _files_only_plugin()
    admin = open_crm(extra=[plugin])
    admin.create("core.user", {"login": "clerk", "name": "Клерк", "roles": "files_only"})
    clerk = open_crm(user="clerk", extra=[plugin])
    assert not clerk.can("read", "marketing.template")
    assert [f.id for f in clerk.find("files.file")] == [own.id]
    with pytest.raises(NotFound):
        content(clerk, logo.id)
    assert content(clerk, own.id)[1] == PDF


@pytest.fixture(params=["database", "disk"])
def storage(request, tmp_path, monkeypatch):
    if request.param == "database":
        monkeypatch.delenv("CRMKIT_FILES_DIR", raising=False)
        return None
    monkeypatch.setenv("CRMKIT_FILES_DIR", str(tmp_path / "store"))
    return tmp_path / "store"


def test_a_mailing_queues_its_image_once_and_a_removed_image_still_sends_what_was_queued(kind, storage,
                                                                                          smtp_server):
    """Every recipient's message refers to the image by its hash (not 1 MiB of
    base64 each); the image removed from the template after queueing is kept
    until those messages are sent, they carry it, and it goes after them."""
    from crmkit_files import models as fm
    from crmkit_files.store import remove
    from crmkit_marketing.api import notify
    crm, template = kind["crm"], kind["template"]
    crm.update("marketing.template", template.id, {"body_html": "<p>#ПредставлениеПартнера#</p>#Картинка1#",
                                                    "body_text": "Добрый день"})
    big = PNG + bytes(range(256)) * 1024     # 256 KiB of image
    logo = _attach(crm, template, "logo.png", big)
    for n in range(3):
        other = crm.create("core.partner", {"name": f"Клиент {n}"})
        crm.create("core.contact_info", {"partner": other.id, "kind": "email", "value": f"c{n}@client.example"})
        notify(crm, "orders.changed", "core.partner", other, partner=other)
    messages = crm.outbox.messages()
    assert len(messages) == 3 and all(len(m.meta) < 2000 for m in messages)   # no image bytes in the outbox
    assert {h.message_id for h in fm.Hold.select().where(fm.Hold.sha256 == logo.sha256)} == {m.id for m in messages}
    remove(crm, logo.id)                                        # the template loses its image ...
    assert crm.find("files.file", include_marked=True) == []
    assert fm.Blob.get_or_none(fm.Blob.sha256 == logo.sha256) is not None    # ... its content is kept for them
    if storage is not None:
        assert (storage / logo.sha256[:2] / logo.sha256[2:4] / logo.sha256).read_bytes() == big
    assert crm.outbox.deliver()["sent"] == 3
    mails = smtp_server.handler.parsed()
    assert len(mails) == 3
    for mail in mails:
        related = mail.get_payload()[1]
        assert related.get_content_type() == "multipart/related"
        assert related.get_payload()[1].get_content() == big
    assert fm.Hold.select().count() == 0                         # sent: held no longer ...
    assert fm.Blob.get_or_none(fm.Blob.sha256 == logo.sha256) is None   # ... and nothing else names it
    if storage is not None:
        assert not (storage / logo.sha256[:2] / logo.sha256[2:4] / logo.sha256).exists()


def test_an_image_still_on_the_template_stays_after_its_messages_are_sent(kind, smtp_server):
    from crmkit_files import models as fm
    from crmkit_marketing.api import notify
    crm, template = kind["crm"], kind["template"]
    logo = _attach(crm, template, "logo.png", PNG)
    _attach(crm, template, "stamp.gif", GIF)
    notify(crm, "orders.changed", "core.partner", kind["partner"], partner=kind["partner"])
    assert crm.outbox.deliver()["sent"] == 1
    assert fm.Hold.select().count() == 0 and fm.Blob.get_or_none(fm.Blob.sha256 == logo.sha256) is not None
    from crmkit_files.store import content
    assert content(crm, logo.id)[1] == PNG


def test_a_failed_message_keeps_its_image_for_a_retry(kind, smtp_server):
    """A failed message may be sent again (``outbox retry``): removing the
    image meanwhile keeps its content for it."""
    from crmkit_files import models as fm
    from crmkit_files.store import release, remove
    from crmkit_marketing.api import notify
    crm, template = kind["crm"], kind["template"]
    logo = _attach(crm, template, "logo.png", PNG)
    _attach(crm, template, "stamp.gif", GIF)
    [message] = notify(crm, "orders.changed", "core.partner", kind["partner"], partner=kind["partner"])
    from crmkit.kernel.models import OutboxMessage
    OutboxMessage.update(state="failed").where(OutboxMessage.id == message.id).execute()
    remove(crm, logo.id)
    with crm.transaction():
        release(message.id + 1000)     # another message's release does not drop it
    assert fm.Blob.get_or_none(fm.Blob.sha256 == logo.sha256) is not None
    assert crm.outbox.retry([message.id]) == 1 and crm.outbox.deliver()["sent"] == 1
    [mail] = smtp_server.handler.parsed()
    assert mail.get_payload()[1].get_payload()[1].get_content() == PNG
    assert fm.Blob.get_or_none(fm.Blob.sha256 == logo.sha256) is None
