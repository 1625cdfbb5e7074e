"""Leads (Лиды): people and companies that showed an interest, qualified
before they become partners, contacts and deals."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="leads", title="Leads", requires=("core", "marketing"), after=("deals", "notify_email"),
                    description="Leads: capture, qualification, conversion into partners and deals")
