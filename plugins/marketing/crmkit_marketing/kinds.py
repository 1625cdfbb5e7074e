"""Fixed choices of the plugin's fields (no imports: the CLI reads them at start-up)."""

IMPACT_TYPES = ("event", "user", "partner", "contact", "individual")
SOURCE_ENTITIES = {"event": "marketing.event", "user": "core.user", "partner": "core.partner",
                   "contact": "core.contact", "individual": "core.partner"}
INTEREST_SUBJECTS = ("core.partner", "deals.deal", "leads.lead")   # the last two when installed
PARTICIPANT_ROLES = ("client", "partner", "organiser", "speaker", "other")
GROUP_MODES = ("subscription", "forced")
MESSAGE_CHANNELS = ("email", "sms")
TEMPLATE_PURPOSES = ("notification", "mailing")
TEMPLATE_METHODS = ("template", "processing")
CONSENT_ACTIONS = ("consent", "opt_out")
AUDIENCES = ("segment", "event", "subscribers")
MAILING_STATES = ("draft", "sent")
RECIPIENT_STATES = ("queued", "skipped", "sent", "failed")   # sent/failed: the outbox's outcome, followed
