"""The errors crmkit raises. Every one is a ``CrmError``."""


class CrmError(Exception):
    """Base of every crmkit error. Its text is best a ``crmkit.Message`` (a
    msgid with placeholders and its values): ``said(lang)`` is then the
    catalogue's translation of the msgid, filled in; a plain text is said
    through the catalogue's templates."""

    def __init__(self, *args):
        super().__init__(*args)
        self.domain = _raising_domain()

    def said(self, lang="en", domain=None):
        """The error in ``lang``; a plain text in the catalogue of the plugin
        that raised it (``domain``: another's)."""
        from .i18n import message_in
        first = self.args[0] if len(self.args) == 1 else str(self)
        return message_in(first, lang, domain=domain or getattr(self, "domain", None) or "kernel")


def _raising_domain():
    """The translation domain of the plugin whose code raises the error (the
    kernel's when none): a plain text is looked up there, where its plugin's
    templates are, not in the kernel's that prints it once the stack is gone."""
    import sys
    i18n = sys.modules.get("crmkit.kernel.i18n")
    return i18n.calling_domain(3) if i18n is not None else None


def did_you_mean(word, known, tail=False) -> str:
    """" did you mean core.partner?" for the names of ``known`` close to
    ``word`` (difflib), or "". ``tail``: also compare the part after the
    dot (``partner`` finds ``core.partner``)."""
    import difflib
    known = sorted(set(map(str, known)))
    close = _closest(difflib, str(word), known)
    if tail and not close:
        by_tail = {}
        for name in known:
            by_tail.setdefault(name.rpartition(".")[2], []).append(name)
        for hit in _closest(difflib, str(word).rpartition(".")[2], list(by_tail)):
            close += by_tail[hit]
    if not close:
        return ""
    from .i18n import Either, Message
    return Message(" did you mean {other}?", domain="kernel", other=Either(close[:3]))


def _closest(difflib, word, known):
    """The close matches that are about as close as the best one (a
    misspelling has one answer, not three)."""
    scored = sorted(((difflib.SequenceMatcher(None, word, k).ratio(), k) for k in known), reverse=True)
    scored = [(r, k) for r, k in scored if r >= 0.6]
    return [k for r, k in scored if r >= scored[0][0] - 0.05][:3] if scored else []


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

    def field_said(self, field, lang="en"):
        """A field as a message names it: ``Наименование (name)``, by its
        label in the entity's words and the name a user types."""
        if not lang or lang == "en" or field == "_":
            return field
        from .i18n import KERNEL, catalog, translate
        about = catalog(KERNEL, lang).get(("kernel.message", field))
        if about is not None:           # no field: the file's rows, the file, the key
            return about
        label = translate(field, lang, context=self.entity)
        return field if label == field else f"{label} ({field})"

    def describe(self, lang="en"):
        """Every problem in one line; in ``lang``, each field by its label
        and each message from the catalogue (the values as given)."""
        head = f"{self.entity}: " if self.entity else ""
        if lang and lang != "en":
            from .i18n import message_in, translate_message
            ctx = self.entity

            def field_said(field):
                return self.field_said(field, lang)
            domain = (None if ctx else getattr(self, "domain", None))
            parts = [f"{field_said(f)}: {'; '.join(message_in(m, lang, ctx, domain) for m in msgs)}"
                     for f, msgs in self.errors.items()]
            if self.rows:
                parts.append(translate_message(f"{len(self.rows)} invalid row(s)", lang, ctx, domain))
            return head + ", ".join(parts)
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


class DatabaseUnavailable(CrmError):
    """The database cannot be opened: no such SQLite file (and creating it
    was not asked for), a URL of no known kind, a server that cannot be
    reached. The message is one line that says what to do."""


class StorageError(CrmError):
    """The disk is full, or the database is read-only: nothing was written."""
