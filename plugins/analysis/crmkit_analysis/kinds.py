"""Fixed choices of the plugin's fields (no imports: the CLI reads them at start-up)."""

CLASS_KINDS = ("partner", "product")
CLASSES = ("A", "B", "C", "X", "Y", "Z", "potential", "lost")
