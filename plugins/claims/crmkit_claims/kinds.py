"""Fixed choices of the plugin's fields (no imports: the CLI reads them at start-up)."""

STATUSES = ("registered", "in_work", "satisfied", "partly_satisfied", "not_satisfied")
FINAL_STATUSES = ("satisfied", "partly_satisfied", "not_satisfied")
