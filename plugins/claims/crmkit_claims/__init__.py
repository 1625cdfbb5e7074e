"""Client claims (Претензии клиентов): registration, a work plan, causes,
culprits, status history and reports."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="claims", title="Claims", requires=("core",), after=("marketing", "deals"),
                    description="Client claims with a work plan, causes, culprits and reports")
