"""Files (1C's Файлы): documents attached to any subject — a partner, a
deal, a marketing event, a claim, an interaction, a lead — stored once per
content (SHA-256) in the database, typed by their content, not their name,
and seen only by those who see their subject."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="files", requires=("core",), after=("deals", "marketing", "claims", "leads",
                                                            "notify_email"),
                    description="Files attached to subjects, typed by content, stored once per content")
