"""Fixed choices of the plugin's fields (no imports: the CLI reads them at start-up)."""

CLASS_KINDS = ("partner", "product")
CLASSES = ("A", "B", "C", "X", "Y", "Z", "potential", "lost")
MEASURES = ("revenue", "gross_profit", "documents")
ABC_CLASSES = ("A", "B", "C", "potential", "lost")
XYZ_CLASSES = ("X", "Y", "Z", "potential", "lost")
