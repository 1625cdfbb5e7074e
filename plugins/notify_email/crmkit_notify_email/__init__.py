"""Email for crmkit: the outbox's ``email`` channel over SMTP, and incoming
mail (Maildir/.eml folders or IMAP) registered as interactions."""
from crmkit import PluginMeta

PLUGIN = PluginMeta(name="notify_email", requires=("core",), after=("marketing",),
                    description="SMTP delivery of outbox email; incoming mail as interactions")
