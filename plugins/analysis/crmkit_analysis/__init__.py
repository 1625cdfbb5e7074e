"""Sales analysis for crmkit: sales lines, ABC/XYZ classification of clients
and products (1C's "ABC/XYZ классификация"), the BCG matrix, class changes,
segment comparison, assortment dynamics and gross profit by deal."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="analysis", title="Analysis", requires=("core",), after=("deals",),
                    description="sales lines, ABC/XYZ classification, BCG matrix, class changes")
