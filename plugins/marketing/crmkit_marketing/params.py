"""Template parameters the marketing plugin offers (#СтатусЗаказа# ...).

Values come from the template context that ``notify`` and mailings build;
other plugins pass their own values through ``context``.
"""
from __future__ import annotations

from crmkit import TemplateParameter


def _get(name, default=""):
    def compute(crm, context):
        value = context.get(name, default)
        return "" if value is None else value
    return compute


def lines_table(crm, context):
    """Lines (``context["lines"]``: dicts with name, quantity, price) as plain text."""
    out = []
    for line in context.get("lines") or []:
        if isinstance(line, dict):
            parts = [str(line.get("name", ""))]
            if line.get("quantity") not in (None, ""):
                parts.append(f"{line['quantity']}")
            if line.get("price") not in (None, ""):
                parts.append(f"x {line['price']}")
            out.append(" ".join(parts))
    return "\n".join(out)


def event_name(crm, context):
    event = context.get("event")
    return str(getattr(event, "name", "") or context.get("event_name", "")) if event is not None else \
        context.get("event_name", "")


PARAMETERS = [
    TemplateParameter("ПредставлениеЗаказа", _get("record_presentation"),
                      description="the record (order, claim ...) the notification is about"),
    TemplateParameter("ПредставлениеПредмета", _get("record_presentation"),
                      description="the record the notification is about"),
    TemplateParameter("СтатусЗаказа", _get("status"), description="the record's current status"),
    TemplateParameter("ДополнительнаяИнформация", _get("additional_info"),
                      description="free text the sender adds"),
    TemplateParameter("ТаблицаНоменклатуры", lines_table, description="the record's lines, one a line"),
    TemplateParameter("СсылкаОтписки", _get("unsubscribe_url"), description="the signed unsubscribe link"),
    TemplateParameter("ПредставлениеМероприятия", event_name, description="the marketing event's name"),
    TemplateParameter("record_presentation", _get("record_presentation"),
                      description="the record the notification is about"),
    TemplateParameter("status", _get("status"), description="the record's current status"),
    TemplateParameter("unsubscribe_url", _get("unsubscribe_url"), description="the signed unsubscribe link"),
]


def _images():
    from .render import image_parameters, image_value
    return [TemplateParameter(name, image_value(n), description=f"image file {n} attached to the template")
            for name, n in image_parameters()]


PARAMETERS += _images()
