"""SMS for crmkit: the outbox's ``sms`` channel through pluggable providers
(a configurable HTTP gateway built in), segment counting, STOP replies."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="notify_sms", requires=("core",),
                    description="SMS delivery through HTTP gateways; GSM-7/UCS-2 segments; opt-out replies")
