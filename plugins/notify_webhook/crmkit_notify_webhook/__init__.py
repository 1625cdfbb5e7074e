"""Webhooks for crmkit: administrators subscribe URLs to events (records
created, updated, deleted; deals moved, won, lost; claims' status; mailings
finished; any event a plugin declares). Each event is written to the outbox
in the transaction that caused it and delivered by the ``webhook`` channel,
signed as the Standard Webhooks specification says.

Public API for other plugins: ``emit(crm, event, record=None, entity=None,
data=None)`` (see ``events.emit``) and ``WebhookEvent``.
"""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="notify_webhook", requires=("core",),
                    description="Signed webhooks (Standard Webhooks) for record and business events")


def __getattr__(name):  # the public names, loaded on first use (the CLI starts without peewee)
    if name in ("emit", "WebhookEvent"):
        from . import events
        return getattr(events, name)
    raise AttributeError(name)
