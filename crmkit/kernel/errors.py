"""The errors crmkit raises. Every one is a ``CrmError``."""


class CrmError(Exception):
    """Base of every crmkit error."""


class StartupError(CrmError):
    """A plugin set that cannot start: duplicate names, missing requirements."""


class ValidationError(CrmError):
    """Bad input. ``errors`` maps each field to its messages, all at once.

    Row-level errors of a bulk import carry ``rows``: {row number: {field: [msgs]}}.
    """

    def __init__(self, errors, entity=None, rows=None):
        self.errors = {k: list(v) if isinstance(v, (list, tuple)) else [v]
                       for k, v in (errors or {}).items()}
        self.entity = entity
        self.rows = rows or {}
        super().__init__(self.describe())

    def describe(self):
        head = f"{self.entity}: " if self.entity else ""
        parts = [f"{field}: {'; '.join(map(str, msgs))}" for field, msgs in self.errors.items()]
        if self.rows:
            parts.append(f"{len(self.rows)} invalid row(s)")
        return head + ", ".join(parts)


class Conflict(ValidationError):
    """The write clashes with stored data: a value that must be unique is
    taken, or the database refused it (HTTP 409)."""


class AccessDenied(CrmError):
    """The acting user may not do this. Says what, never whose data."""


class NotFound(CrmError):
    """No such record, or none the acting user may see (the two look alike)."""


class Busy(CrmError):
    """The database stayed locked past the timeout: try again."""


class StorageError(CrmError):
    """The disk is full, or the database is read-only: nothing was written."""
