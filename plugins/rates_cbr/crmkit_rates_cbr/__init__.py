"""Exchange rates of the Central Bank of Russia for crmkit: answers
``crmkit_currency_rates`` for source ``cbr`` with the daily XML bulletin."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="rates_cbr", requires=("core",),
                    description="daily exchange rates of the Central Bank of Russia (source cbr)")
