"""Field visits of sales representatives to partners: a complete minimal
third-party crmkit plugin."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="visits", requires=("core",), description="field visits to partners")
