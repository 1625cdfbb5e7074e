"""Deals (сделки с клиентами): kinds, stages and processes, stage history,
win probability, and the funnel, efficiency, loss-reason, forecast,
primary-demand and manager reports."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="deals", title="Sales", requires=("core",),
                    description="deals, deal kinds and stages, sales funnel and deal reports")
