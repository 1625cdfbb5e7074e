"""The fixed choices of core fields (no imports: the CLI reads them at start-up)."""

PARTNER_KINDS = ("company", "individual")
GENDERS = ("male", "female")
CONTACT_INFO_KINDS = ("address", "phone", "email", "web", "fax", "other")
INTERACTION_KINDS = ("meeting", "planned", "call", "sms", "email")
DIRECTIONS = ("incoming", "outgoing")
PRIORITIES = ("low", "normal", "high")
TASK_STATES = ("active", "stopped", "done")
NOTE_COLOURS = ("none", "red", "orange", "yellow", "green", "blue", "violet")
SEGMENT_KINDS = ("partner", "product")
SEGMENT_METHODS = ("manual", "rule")
