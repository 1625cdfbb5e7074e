"""Languages: message catalogues and number/date formats.

Messages are English in code (msgid = the English text). Each plugin
translates in its own *domain*: ``locale/<lang>.po`` beside its package,
read with Babel when first needed. Where one plugin needs two meanings of
one msgid, the entry carries a message context (``msgctxt``): the name of
the entity, report or template it belongs to (``claims.stage``), as
gettext's ``pgettext`` does.

A lookup of ``text`` in domain ``d`` with context ``c`` tries ``(c, text)``
then ``(None, text)`` in ``d``, then in the plugins ``d`` requires (core
last), then the kernel's own catalogue. So one plugin's words never change
another's screens, which merging every catalogue into one did (the last
loaded won). Numbers and dates are formatted by Babel's locale data
(``1 769,40`` and ``03.03.2015`` in Russian).
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import sys
from pathlib import Path

import attrs

from .errors import CrmError

KERNEL = "kernel"
LOCALES = {"en": "en_US", "ru": "ru_RU"}
LANGUAGES = tuple(LOCALES)          # en is the msgids themselves


@attrs.frozen
class Domain:
    name: str
    folder: Path | None
    fallbacks: tuple[str, ...] = ()     # domains asked next, nearest first


_domains: dict[str, Domain] = {KERNEL: Domain(KERNEL, Path(__file__).parent / "locale")}
_packages: dict[str, str] = {"crmkit": KERNEL}    # top-level package -> domain
_catalogs: dict[tuple[str, str], dict] = {}
_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("crmkit_i18n_scope", default=None)


class UnknownLanguage(CrmError, ValueError):
    """A language crmkit has no catalogue for."""


def check_language(lang):
    """``lang`` itself when crmkit speaks it, else an error naming those it does."""
    if lang not in LANGUAGES:
        raise UnknownLanguage(f"unknown language {lang!r}: crmkit speaks {', '.join(LANGUAGES)}")
    return lang


def add_domain(name, folder, fallbacks=(), package=None):
    """Declare plugin ``name``'s translation domain: its catalogues in
    ``folder`` (``<lang>.po``), asked before ``fallbacks`` (the plugins it
    requires). ``package`` (``crmkit_deals``) lets a call from the plugin's
    code find its domain without naming it."""
    folder = Path(folder) if folder else None
    domain = Domain(name, folder, tuple(f for f in fallbacks if f != name))
    if _domains.get(name) != domain:
        _domains[name] = domain
        for key in [k for k in _catalogs if k[0] == name]:
            del _catalogs[key]
    if package:
        _packages[package.split(".")[0] if package != "crmkit.core" else package] = name


def add_catalog_dir(path, domain=None):
    """Older form of :func:`add_domain`: ``path`` is ``<package>/locale``."""
    path = Path(path)
    add_domain(domain or path.parent.name.removeprefix("crmkit_"), path, ("core",))


def domains() -> dict[str, Domain]:
    return dict(_domains)


def catalog(domain, lang) -> dict:
    """``{(context, msgid): text}`` of one domain's catalogue in ``lang``."""
    key = (domain, lang)
    if key not in _catalogs:
        messages = {}
        spec = _domains.get(domain)
        po = spec.folder / f"{lang}.po" if spec and spec.folder else None
        if po is not None and po.exists():
            from babel.messages.pofile import read_po
            with po.open("rb") as fh:
                for msg in read_po(fh):
                    if msg.id and msg.string and isinstance(msg.id, str):
                        messages[(msg.context or None, msg.id)] = msg.string
        _catalogs[key] = messages
    return _catalogs[key]


def _chain(domain):
    """The domain, its fallbacks (each one's own, depth first), the kernel."""
    seen, order, todo = set(), [], [domain]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        order.append(name)
        spec = _domains.get(name)
        todo[0:0] = list(spec.fallbacks) if spec else []
    if "core" in order and order[-1] != "core":     # core is everyone's last plugin
        order.remove("core")
        order.append("core")
    if domain == KERNEL and "core" in _domains:   # the kernel's screens speak core's words
        order.append("core")
    if KERNEL in order:
        order.remove(KERNEL)
    return order + [KERNEL]


def domain_of(name):
    """The domain a registered name belongs to: ``deals.deal`` -> ``deals``,
    ``claims/web/x.html`` -> ``claims``."""
    head = str(name).replace("/", ".").split(".")[0]
    return head if head in _domains else None


def calling_domain(depth=2):
    """The domain of the innermost plugin on the call stack (the kernel's
    when none): what ``translate`` uses when told neither domain nor context."""
    frame = sys._getframe(depth)
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if module.startswith("crmkit.core"):
            return _packages.get("crmkit.core", "core")
        top = module.split(".")[0]
        if top != "crmkit" and top in _packages:
            return _packages[top]
        if top.startswith("crmkit_") and top[7:] in _domains:
            return top[7:]
        frame = frame.f_back
    return KERNEL


@contextlib.contextmanager
def in_context(name):
    """Translate everything said within as belonging to ``name`` (an entity,
    report or template): the kernel renders a report or a record this way,
    so the words are its plugin's."""
    token = _scope.set(name)
    try:
        yield
    finally:
        _scope.reset(token)


def translate(text: str, lang: str = "en", context: str | None = None, domain: str | None = None) -> str:
    """``text`` in ``lang``. ``context``: the entity, report or template the
    text belongs to (its plugin is the domain; default the enclosing
    :func:`in_context`); ``domain``: the plugin, when not the caller's."""
    if not lang or lang == "en" or not text:
        return text
    if context is None and domain is None:
        context = _scope.get()
    if domain is None:
        domain = (domain_of(context) if context else None) or calling_domain()
    for name in _chain(domain):
        messages = catalog(name, lang)
        if context is not None and (context, text) in messages:
            return messages[(context, text)]
        if (None, text) in messages:
            return messages[(None, text)]
    return text


def pgettext(context: str, text: str, lang: str = "en") -> str:
    """gettext's name for a translation within a context."""
    return translate(text, lang, context=context)


def translator(domain):
    """``_ = translator("deals")``: translate in one domain without naming it each time."""
    def _(text, lang="en", context=None):
        return translate(text, lang, context=context, domain=domain)
    return _


_ = translate


def _pandas_nat():
    """pandas, if a report already loaded it (NaT marks a missing moment)."""
    import sys
    return sys.modules.get("pandas")


def operator_zone():
    """The operator's time zone: ``$CRMKIT_TZ`` (e.g. Europe/Moscow) or the system's
    (``crmkit.kernel.zones``; a misspelled name is a one-line error)."""
    from .zones import operator_zone as zone
    return zone()


def format_value(value, lang="en", zone=None) -> str:
    """A cell as a person reads it in ``lang``; aware times in ``zone``
    (a ``tzinfo``; default the acting user's within a CLI command, else the
    operator's, ``$CRMKIT_TZ``)."""
    if value is None or value is getattr(_pandas_nat(), "NaT", object()):
        return ""
    if isinstance(value, (float, decimal.Decimal)) and value != value:   # NaN, Decimal('NaN') too
        return ""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (AttributeError, ValueError):
            pass
    if isinstance(value, bool):
        return translate("yes" if value else "no", lang)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            from .zones import output_zone
            value = value.astimezone(zone or output_zone()).replace(tzinfo=None)
        if lang == "ru":
            return value.strftime("%d.%m.%Y %H:%M:%S") if (value.hour, value.minute, value.second) != (0, 0, 0) \
                else value.strftime("%d.%m.%Y")
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y") if lang == "ru" else value.isoformat()
    if isinstance(value, int):
        if lang == "ru":
            return f"{value:,}".replace(",", " ")
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, (float, decimal.Decimal)):
        text = f"{float(value):,.2f}"
        if lang == "ru":
            return text.replace(",", " ").replace(".", ",")
        return text
    from .values import terminal_safe
    return terminal_safe(str(value))
