"""crmkit: customer relations and marketing, a small kernel plus plugins.

The public API. Integrators and plugins import from here only::

    import crmkit
    crm = crmkit.open("sqlite:///crm.db", user="orlov")
    partner = crm.create("core.partner", {"name": "Дальстрой 2", "kind": "company"})

Names are loaded on first use (PEP 562), so ``crmkit --help`` imports
neither peewee nor pandas.
"""
import importlib

__version__ = "0.1.0"

_WHERE = {
    "open": "crm", "Crm": "crm",
    "Actor": "access",
    "BaseModel": "db", "RecordModel": "db", "choices": "db", "MoneyField": "db", "UtcDateTimeField": "db", "transaction": "db", "at_transaction_end": "db", "utcnow": "db", "statement_sql": "db",
    "CrmError": "errors", "ValidationError": "errors", "Conflict": "errors", "AccessDenied": "errors", "NotFound": "errors",
    "StartupError": "errors", "Busy": "errors", "StorageError": "errors", "DatabaseUnavailable": "errors",
    "format_value": "i18n", "format_moment": "i18n", "translate": "i18n", "Choice": "i18n", "current_language": "i18n", "translate_message": "i18n", "Message": "i18n", "Either": "i18n", "operator_zone": "i18n",
    "zone_named": "zones", "local_moment": "zones",
    "PermanentFailure": "outbox", "TemporaryFailure": "outbox", "ConnectionFailure": "outbox",
    "UnknownOutcome": "outbox", "check_header": "outbox", "delivery_deadline": "outbox", "retry_busy": "outbox", "unfinished_messages": "outbox",
    "hookimpl": "plugins", "make_plugin_manager": "plugins",
    "ReportResult": "reports", "neutralise": "reports",
    "ActionSpec": "specs", "ChannelSpec": "specs", "ChartSpec": "specs", "DuplicateRule": "specs", "EntitySpec": "specs", "PluginMeta": "specs",
    "ReportSpec": "specs", "RoleSpec": "specs", "SegmentField": "specs", "TemplateParameter": "specs",
    "Subject": "subjects",
    "report_progress": "progress",
    "lazy_module": "lazy",
    "value_after_write": "values", "plain": "values",
    "normalize_email": "validation", "normalize_phone": "validation",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'crmkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"crmkit.kernel.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
