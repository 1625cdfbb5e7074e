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
import re
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
_speaking: contextvars.ContextVar[str] = contextvars.ContextVar("crmkit_i18n_lang", default="en")


class UnknownLanguage(CrmError, ValueError):
    """A language crmkit has no catalogue for."""


def check_language(lang):
    """``lang`` itself when crmkit speaks it, else an error naming those it does."""
    if lang not in LANGUAGES:
        raise UnknownLanguage(Message("unknown language {lang}: crmkit speaks {languages}", domain=KERNEL,
                                      lang=repr(lang), languages=", ".join(LANGUAGES)))
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
        _patterns.clear()
    if package:
        _packages[package.split(".")[0] if package != "crmkit.core" else package] = name


def add_plugin_domains(loaded):
    """Each loaded plugin translates in its own domain (its ``locale/``
    folder), falling back to the plugins it requires, then core."""
    for plugin in loaded:
        add_domain(plugin.name, plugin.package_dir / "locale" if plugin.package_dir else None,
                   tuple(plugin.meta.requires) + (() if plugin.name == "core" else ("core",)),
                   package=getattr(plugin.package, "__name__", None))


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
    if domain == KERNEL:        # the kernel's screens speak its own words, then core's
        return [KERNEL] + (["core"] if "core" in _domains else [])
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


@contextlib.contextmanager
def speaking(lang):
    """Within, ``translate(text)`` without a language speaks ``lang``: what
    a record's display function says (``crm.display``) is in the user's."""
    token = _speaking.set(lang or "en")
    try:
        yield
    finally:
        _speaking.reset(token)


def current_language() -> str:
    return _speaking.get()


def translate(text: str, lang: str | None = None, context: str | None = None, domain: str | None = None) -> str:
    """``text`` in ``lang`` (default: the one :func:`speaking` sets, else
    English). ``context``: the entity, report or template the text belongs
    to (its plugin is the domain; default the enclosing :func:`in_context`);
    ``domain``: the plugin, when not the caller's."""
    if lang is None:
        lang = _speaking.get()
    if not lang or lang == "en" or not text:
        return text
    if context is None and domain is None:
        context = _scope.get()
    if domain is None:
        domain = (domain_of(context) if context else None) or calling_domain()
    contexts = _contexts(context)
    for name in _chain(domain):
        messages = catalog(name, lang)
        for ctx in contexts:
            if (ctx, text) in messages:
                return messages[(ctx, text)]
    return text


def _contexts(context):
    """``deals.kind.process`` -> itself, ``deals.kind``, then no context: a
    field's choices may mean other than the entity's words."""
    if context is None:
        return (None,)
    out = [context]
    while context.count(".") > 1:
        context = context.rsplit(".", 1)[0]
        out.append(context)
    return (*out, None)


def pgettext(context: str, text: str, lang: str = "en") -> str:
    """gettext's name for a translation within a context."""
    return translate(text, lang, context=context)


def translator(domain):
    """``_ = translator("deals")``: translate in one domain without naming it each time."""
    def _(text, lang="en", context=None):
        return translate(text, lang, context=context, domain=domain)
    return _


_ = translate

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_patterns: dict[tuple[str, str], list] = {}


def _patterns_of(domain, lang):
    """A domain's message templates (msgids with ``{name}`` placeholders)
    as regular expressions, with their translations."""
    key = (domain, lang)
    if key not in _patterns:
        out = []
        for (context, msgid), text in catalog(domain, lang).items():
            if context is None and _PLACEHOLDER.search(msgid):
                parts = _PLACEHOLDER.split(msgid)        # literal, name, literal, ...
                # a value never spans "; " or ": ": a message made of several is said piece by piece
                regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>(?:(?!; |: ).)+?)"
                                for i, p in enumerate(parts))
                out.append((len(msgid) - len("".join(parts[1::2])), re.compile(f"^{regex}$", re.S), text))
        out.sort(key=lambda p: -p[0])               # the most literal template first
        _patterns[key] = [(regex, text) for _, regex, text in out]
    return _patterns[key]


def _value_said(value, lang, domain):
    """A value in a message: a verb the kernel says ("create"), a code with
    a label ("won", "done") in the message's domain, a date as the language
    writes it (a stored message's "2015-04-06" is "06.04.2015"); anything
    else as given."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return format_value(dt.date.fromisoformat(value), lang)
        except ValueError:
            return value
    said = catalog(KERNEL, lang).get(("kernel.message", value))
    if said is None and re.fullmatch(r"[a-z][a-z_ ]*", value):
        said = translate(value, lang, domain=domain)
    return said or value


def translate_message(text, lang=None, context=None, domain=None) -> str:
    """A message made from a template (an error: "{entity} {key} not found")
    in ``lang``: as a whole if a catalogue has it, else by the template it
    matches (the values kept), else piece by piece between "; " and ": "."""
    if lang is None:
        lang = _speaking.get()
    if not lang or lang == "en" or not text:
        return text
    if domain is None:
        domain = (domain_of(context) if context else None) or calling_domain()
    whole = translate(text, lang, context=context, domain=domain)
    if whole != text:
        return whole
    for name in _chain(domain):
        for regex, template in _patterns_of(name, lang):
            found = regex.match(text)
            if found:
                return template.format_map({k: _value_said(v, lang, domain) for k, v in found.groupdict().items()})
    for separator in ("; ", ": "):
        if separator in text:
            return separator.join(translate_message(part, lang, context, domain) for part in text.split(separator))
    return text


class Message(str):
    """A message made from a msgid with ``{name}`` placeholders and its
    values: ``Message("created {entity} {id}", entity="core.partner", id=5)``.
    As a ``str`` it is the English text (what an f-string gave); ``said(lang)``
    translates the *msgid* in the domain of the plugin that made it (or
    ``domain``; ``context`` is its msgctxt) and then fills the values in:
    a ``Choice`` by its label, an ``Either`` with the language's "or", a
    nested ``Message`` said too, dates and money in the language's format,
    anything else as given. Commands say what they did this way
    (``crmkit.cli.say``) and errors carry one (``CrmError(Message(...))``),
    so no message depends on matching its English text against templates."""

    def __new__(cls, msgid, context=None, domain=None, **values):
        obj = super().__new__(cls, msgid.format_map({k: _plain(v) for k, v in values.items()}) if values
                              else msgid)
        obj.msgid, obj.context, obj.values = msgid, context, values
        obj.domain = domain or (domain_of(context) if context else None) or calling_domain()
        return obj

    def said(self, lang=None):
        """The message in ``lang`` (default: the one :func:`speaking` sets)."""
        if lang is None:
            lang = _speaking.get()
        if not lang or lang == "en":
            return str(self)
        template = translate(self.msgid, lang, context=self.context, domain=self.domain)
        return template.format_map({k: _value_in(v, lang, self.context, self.domain)
                                    for k, v in self.values.items()})

    def __reduce__(self):
        return (_message, (self.msgid, self.context, self.domain, self.values))


def _message(msgid, context, domain, values):
    return Message(msgid, context, domain, **values)


class Either(str):
    """Alternatives in a message: ``Either(["manager", "administrator"])`` is
    "manager or administrator", said with the language's "or"."""

    def __new__(cls, items, word="or"):
        items = [str(i) for i in items]
        obj = super().__new__(cls, f" {word} ".join(items))
        obj.items, obj.word = items, word
        return obj

    def said(self, lang=None):
        word = translate(self.word, lang, context="kernel.message", domain=KERNEL)
        return f" {word} ".join(self.items)


class Listed(str):
    """Items in a message, one after the other: ``Listed(["id", Message("code",
    context="core.partner")])`` is "id, code", said item by item (a
    ``Message`` in its words) and joined with ", "."""

    def __new__(cls, items):
        items = list(items)
        obj = super().__new__(cls, ", ".join(map(str, items)))
        obj.items = items
        return obj

    def said(self, lang=None):
        return ", ".join(i.said(lang) if isinstance(i, (Message, Either, Listed)) else str(i) for i in self.items)


def _plain(value):
    if isinstance(value, (Message, Either, Listed, BaseException)):
        return str(value)
    if isinstance(value, dt.date):       # a moment in the user's zone, as tables show it
        return format_value(value, "en")
    return value


def _value_in(value, lang, context, domain=None):
    if isinstance(value, (Message, Either, Listed)):
        return value.said(lang)
    if isinstance(value, BaseException):           # an error inside a message: said as the error is
        said = getattr(value, "said", None)
        return said(lang) if said is not None else translate_message(str(value), lang, context, domain)
    if isinstance(value, Choice):
        return value.label(lang)
    if isinstance(value, (bool, dt.date, decimal.Decimal, float)):
        return format_value(value, lang)
    return value


def message_in(text, lang=None, context=None, domain=None):
    """Any message in ``lang``: a :class:`Message` said, a plain text (an
    older error) through the catalogue's templates (:func:`translate_message`)."""
    if isinstance(text, Message):
        return text.said(lang)
    return translate_message(str(text), lang, context, domain)


class Choice(str):
    """A choice code (``in_work``) that people read by its label ("in work",
    "В работе") while JSON, CSV and comparisons keep the code.
    ``context``: the entity whose field it is."""

    def __new__(cls, code, context=None):
        obj = super().__new__(cls, code)
        obj.context = context
        return obj

    def label(self, lang="en"):
        return choice_label(str(self), lang, self.context)


def choice_label(code, lang="en", context=None):
    """A choice's label: its catalogue text, else the code as words."""
    text = translate(code, lang, context=context) if lang and lang != "en" else code
    return code.replace("_", " ") if text == code else text


def _pandas_nat():
    """pandas, if a report already loaded it (NaT marks a missing moment)."""
    import sys
    return sys.modules.get("pandas")


def operator_zone():
    """The operator's time zone: ``$CRMKIT_TZ`` (e.g. Europe/Moscow) or the system's
    (``crmkit.kernel.zones``; a misspelled name is a one-line error)."""
    from .zones import operator_zone as zone
    return zone()


def format_moment(value: dt.datetime, lang="en", zone=None) -> str:
    """A ``datetime`` as ``format_value`` shows it (what a column of moments
    calls directly, row after row)."""
    if value.tzinfo is not None:
        from .zones import output_zone
        value = value.astimezone(zone or output_zone()).replace(tzinfo=None)
    if lang == "ru":
        return value.strftime("%d.%m.%Y %H:%M:%S") if (value.hour, value.minute, value.second) != (0, 0, 0) \
            else value.strftime("%d.%m.%Y")
    return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else value.strftime("%Y-%m-%d")


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
    if isinstance(value, Choice):
        return value.label(lang)
    if isinstance(value, (Message, Either, Listed)):      # a table's message cell: said in the table's language
        return value.said(lang)
    if isinstance(value, bool):
        return translate("yes" if value else "no", lang, domain=KERNEL)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return format_moment(value, lang, zone)
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
