"""crmkit: customer relations and marketing, a small kernel plus plugins.

The public API. Integrators and plugins import from here only::

    import crmkit
    crm = crmkit.open("sqlite:///crm.db", user="orlov")
    partner = crm.create("core.partner", {"name": "Дальстрой 2", "kind": "company"})
"""
from .kernel.access import Actor
from .kernel.crm import Crm, open
from .kernel.db import BaseModel, MoneyField, UtcDateTimeField, transaction, utcnow
from .kernel.errors import AccessDenied, Busy, CrmError, NotFound, StartupError, ValidationError
from .kernel.i18n import format_value, translate
from .kernel.outbox import PermanentFailure, TemporaryFailure
from .kernel.plugins import hookimpl, make_plugin_manager
from .kernel.reports import ReportResult, neutralise
from .kernel.specs import (ChannelSpec, ChartSpec, EntitySpec, PluginMeta, ReportSpec, RoleSpec,
                           SegmentField, TemplateParameter)
from .kernel.subjects import Subject
from .kernel.validation import normalize_email, normalize_phone

__version__ = "0.1.0"

__all__ = [
    "open", "Crm", "Actor", "hookimpl", "make_plugin_manager",
    "PluginMeta", "EntitySpec", "ReportSpec", "ChartSpec", "ChannelSpec", "RoleSpec",
    "TemplateParameter", "SegmentField", "Subject", "ReportResult",
    "BaseModel", "MoneyField", "UtcDateTimeField", "transaction", "utcnow",
    "CrmError", "ValidationError", "AccessDenied", "NotFound", "StartupError", "Busy",
    "TemporaryFailure", "PermanentFailure", "normalize_email", "normalize_phone",
    "neutralise", "translate", "format_value",
]
