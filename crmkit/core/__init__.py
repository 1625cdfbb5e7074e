"""The core CRM domain, a built-in plugin that cannot be disabled: partners,
contacts, contact information, users and departments, regions, access
groups, products, interactions, tasks, notes, reminders and segments."""
from crmkit.kernel.specs import PluginMeta

PLUGIN = PluginMeta(name="core", title="Partners and contacts",
                    description="partners, contacts, interactions, tasks, notes, reminders, segments, users, products")
