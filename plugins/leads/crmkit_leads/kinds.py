"""The fixed choices of lead fields (no imports: the CLI reads them at start-up)."""

STATUSES = ("new", "in_work", "qualified", "disqualified")
OPEN_STATUSES = ("new", "in_work")
