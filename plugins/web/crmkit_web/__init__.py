"""The crmkit web application: the HTTP API under ``/api/v1`` (generated
from the entity, report and action registries), the one-click unsubscribe
endpoint, the web pages, and ``crmkit serve``."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="web", requires=("core",),
                    description="WSGI application: HTTP API, unsubscribe endpoint, web pages; crmkit serve")
