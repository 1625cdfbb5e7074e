"""Fixed choices of the plugin's fields (no imports: the CLI reads them at start-up)."""

PROCESSES = ("process", "manual", "none")      # process-driven, stages by hand, no stages
STATUSES = ("in_work", "won", "lost")
PROBABILITY_METHODS = ("manual", "statistics")
TARGET_PERIODS = ("month", "quarter")
