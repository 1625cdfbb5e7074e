"""Telling the client about a status change through marketing's
notification kinds. Imported only when the marketing plugin is loaded."""
from __future__ import annotations

from crmkit import translate

from . import models as m

KIND_CODE = "claims.status_changed"
GROUP_NAME = "Оповещения по претензиям"
SUBJECT = "Претензия {{ record.code }}: {{ status_label }}"
TEXT = ("Здравствуйте, #ПредставлениеПартнера#!\n\n"
        "Статус вашей претензии «{{ record.name }}» ({{ record.code }}) изменен: "
        "{{ old_status_label }} → {{ status_label }}.\n"
        "{% if record.decision %}Решение: {{ record.decision }}\n{% endif %}"
        "\nС уважением, отдел по работе с претензиями")


def send_status_notification(crm, claim, old, new):
    """Queue the ``claims.status_changed`` notification for the claim's
    client (or its contact person); marketing returns nothing queued when
    the kind is not set up."""
    from crmkit_marketing.api import notify
    change = m.StatusChange.select(m.StatusChange.id).where(m.StatusChange.claim == claim.id) \
        .order_by(m.StatusChange.id.desc()).scalar()
    lang = "ru"   # the client reads the template's language, not the operator's
    context = {"old_status": old or "", "new_status": new,
               "old_status_label": translate(old, lang) if old else "",
               "status_label": translate(new, lang),
               "key": f"claims.status_change:{change}"}
    return notify(crm, KIND_CODE, "claims.claim", claim, partner=claim.client_id, contact=claim.contact_id,
                  context=context)


def ensure_notification_kind(crm):
    """Set up the notification kind, its group (sent to the client forcibly,
    by email) and template, unless they exist. Returns the kind."""
    found = crm.find("marketing.notification_kind", code=KIND_CODE, include_marked=True)
    if found:
        return found[0]
    groups = crm.find("marketing.mailing_group", name=GROUP_NAME)
    group = groups[0] if groups else crm.create("marketing.mailing_group", {
        "name": GROUP_NAME, "mode": "forced", "send_email": True, "send_sms": False,
        "description": "Клиенту сообщается о каждом изменении статуса его претензии."})
    kind = crm.create("marketing.notification_kind", {
        "code": KIND_CODE, "name": "Изменение статуса претензии", "group": group.id, "based_on": "claims.claim"})
    crm.create("marketing.template", {
        "name": "Изменение статуса претензии", "purpose": "notification", "kind": kind.id, "group": group.id,
        "email": True, "sms": False, "subject": SUBJECT, "body_text": TEXT})
    return kind
