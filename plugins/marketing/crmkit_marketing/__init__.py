"""crmkit marketing: advertising channels and primary interest, marketing
events, mailing groups, notification kinds and templates, subscriptions with
a consent ledger, mailings through the kernel's outbox."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="marketing", title="Marketing", requires=("core",), after=("deals",),
                    description="Channels, primary interest, events, mailings and notifications")
