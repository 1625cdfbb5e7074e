"""Command help in the operator's language.

Click writes a command's help through a ``HelpFormatter``; ours translates
what passes through it (the usage prefix, headings, the help text, each
option's and subcommand's help) in the domain of the plugin whose command it
is, and keeps what a user types (option names, choices, examples) as it is.
The language is ``--lang`` (root option, eager) or ``$CRMKIT_LANG``.

Click's own words ("Usage:", "Error: No such option", "Missing argument",
"Invalid value for", "Show this message and exit.") go through gettext's
``_``/``ngettext``, which each click module binds at import
(``from gettext import gettext as _``). :func:`translate_click` rebinds
those two names in click's modules to ours, which look the text up in the
kernel's catalogue (msgctxt ``kernel.click``) in the language of the command
running; gettext's process-wide domain and the other libraries using it are
left alone. A text click took at import (the ``--version`` message) is
said in the language of the moment it is filled in (``.format``, ``%``).

Only click is imported here: ``crmkit --help`` stays fast.
"""
from __future__ import annotations

import contextvars
import inspect
import os
import re
import sys

import click

LANG_KEY = "crmkit.lang"
EXTRA = re.compile(r"^(?P<text>.*?)(?:(?:^|\s\s)\[(?P<extra>[^\[\]]*)\])?$", re.S)   # click's "  [default: x]"
CLICK = "kernel.click"                   # msgctxt of click's own words in the kernel's catalogue
_running: contextvars.ContextVar[str | None] = contextvars.ContextVar("crmkit_cli_run_lang", default=None)


def help_lang():
    """The language of the command running: ``--lang`` once parsed, else the
    one its command line names (an error in parsing is said before the
    option's callback runs, and after the context is gone), else
    ``$CRMKIT_LANG``, else English."""
    ctx = click.get_current_context(silent=True)
    lang = ctx.meta.get(LANG_KEY) if ctx is not None else None
    return lang or _running.get() or os.environ.get("CRMKIT_LANG") or "en"


def lang_in_args(args):
    """The ``--lang`` a root command line gives (``--lang ru``, ``--lang=ru``),
    read before click parses it; ``None`` when none or not one crmkit speaks."""
    args = list(args or ())
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        elif arg in ("--db", "--user"):
            i += 2
            continue
        elif not arg.startswith("-"):      # the subcommand: what follows is its own
            return None
        else:
            i += 1
            continue
        from .kernel.i18n import LANGUAGES
        return value if value in LANGUAGES else None
    return None


def running(lang):
    """Say click's words in ``lang`` until :func:`stopped` (a root command's ``main``)."""
    return _running.set(lang)


def stopped(token):
    _running.reset(token)


def _click_lang():
    """The language of click's words: the command's; English outside a
    crmkit command (click's texts taken when commands are defined, another
    program's click)."""
    ctx = click.get_current_context(silent=True)
    lang = ctx.meta.get(LANG_KEY) if ctx is not None else None
    return lang or _running.get() or "en"


def _click_said(msgid):
    lang = _click_lang()
    if lang == "en" or not msgid:
        return msgid
    from .kernel.i18n import translate
    ensure_domains()
    return translate(msgid, lang, context=CLICK, domain="kernel")


# the values click fills into its texts that are its own words (a type's name), said too
_VALUE_KEYS = ("number_type", "param_type")


class ClickText(str):
    """What our ``_`` gives click: the text in the language of the moment
    (as a ``str``); filled in later (``.format``, ``%``), said in the
    language of *that* moment, with click's own words among its values
    (``integer``, ``file``) said too."""

    def __new__(cls, msgid):
        obj = super().__new__(cls, _click_said(msgid))
        obj.msgid = msgid
        return obj

    def _values(self, values):
        keys = _VALUE_KEYS + (("name",) if "{filename!r}" in self.msgid else ())
        return {k: (_click_said(v) if k in keys and isinstance(v, str) else v) for k, v in values.items()}

    def format(self, *args, **kwargs):
        return str.format(_click_said(self.msgid), *args, **self._values(kwargs))

    def __mod__(self, values):
        return str.__mod__(_click_said(self.msgid), values)


def click_gettext(message):
    return ClickText(message)


def click_ngettext(singular, plural, n):
    # Russian's texts are written to read for any number ("Лишние аргументы: ..."):
    # the English form chosen by n is the msgid
    return ClickText(singular if n == 1 else plural)


def translate_click():
    """Rebind ``_`` and ``ngettext`` in click's modules loaded so far to ours
    (again after one is loaded late: the progress bar's, the completion's)."""
    import gettext
    for name, module in list(sys.modules.items()):
        if (name == "click" or name.startswith("click.")) and module is not None:
            if getattr(module, "_", None) is gettext.gettext:
                module._ = click_gettext
            if getattr(module, "ngettext", None) is gettext.ngettext:
                module.ngettext = click_ngettext


translate_click()


def set_lang(ctx, param, value):
    """``--lang``'s callback: checked before anything runs, and remembered
    for the help of every subcommand (``ctx.meta`` is shared)."""
    if value:
        from .kernel.i18n import check_language
        try:
            check_language(value)
        except ValueError as exc:
            raise click.BadParameter(exc.said(help_lang()), ctx=ctx, param=param) from None
        ctx.meta[LANG_KEY] = value
    return value


def ensure_domains(ctx=None):
    """Declare the installed plugins' translation domains (once): only a
    help or an error said in another language needs them, so English
    ``crmkit --help`` never imports the catalogue machinery."""
    ctx = ctx or click.get_current_context(silent=True)
    root = ctx.find_root().command if ctx is not None else None
    built = getattr(root, "plugin_manager", None)
    if built and not getattr(root, "_crmkit_domains", False):
        from .kernel.i18n import add_plugin_domains
        add_plugin_domains(built[1])
        root._crmkit_domains = True


def command_domain(command):
    """The translation domain of a command: its plugin's (by the module of
    its callback, or of a lazy group's target), else the kernel's."""
    target = getattr(command, "target", None)
    module = target.partition(":")[0] if target else getattr(getattr(command, "callback", None), "__module__", "")
    top = (module or "").split(".")[0]
    if top.startswith("crmkit_"):
        return top[len("crmkit_"):]
    return "core" if module.startswith("crmkit.core") else "kernel"


def said(text, lang, domain):
    """``text`` in ``lang``: whole, else paragraph by paragraph."""
    from .kernel.i18n import translate
    ensure_domains()
    whole = translate(text, lang, domain=domain)
    if whole != text or "\n\n" not in text:
        return whole
    return "\n\n".join(translate(p, lang, domain=domain) for p in text.split("\n\n"))


def _extra(extra, lang):
    """Click's ``[default: x; required]`` notes."""
    from .kernel.i18n import translate
    parts = []
    for part in extra.split("; "):
        name, sep, value = part.partition(": ")
        parts.append(f"{translate(name, lang, context='kernel.help')}{sep}{value}")
    return "; ".join(parts)


def short_help(text, limit):
    """A command's line in its group's list: its first sentence, cut at a
    word to ``limit`` characters (as click makes it)."""
    first = " ".join(text.split("\n\n")[0].split())
    end = first.find(". ")
    first = first[:end + 1] if end >= 0 else first
    if len(first) <= limit:
        return first
    cut = first[:max(limit - 3, 1)].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "..."


# the metavars click makes of a type (``--limit INTEGER``) and a usage line's
# ``[OPTIONS]``: said in the language (kernel.metavar), as GNU tools' help says "ЧИСЛО";
# an argument's own metavar (ENTITY, KEY) is what the help's text names, and stays
TYPE_METAVAR = re.compile(r"(?<= )(INTEGER RANGE|FLOAT RANGE|TEXT|INTEGER|FLOAT|FILE|DIRECTORY|PATH|BOOLEAN"
                          r"|FILENAME|UUID)$")
USAGE_WORDS = ("[OPTIONS]", "COMMAND [ARGS]...")


def _metavar(word, lang):
    from .kernel.i18n import translate
    return translate(word, lang, context="kernel.metavar", domain="kernel")


class TranslatingFormatter(click.HelpFormatter):
    """A help formatter that says everything in the operator's language."""

    def _lang(self):
        return help_lang()

    def _domain(self):
        ctx = click.get_current_context(silent=True)
        return command_domain(ctx.command) if ctx is not None else "kernel"

    def write_usage(self, prog, args="", prefix=None):
        lang = self._lang()
        if lang != "en":
            from .kernel.i18n import translate
            if prefix is None:
                prefix = translate("Usage:", lang, domain="kernel") + " "
            for word in USAGE_WORDS:
                args = args.replace(word, _metavar(word, lang))
        super().write_usage(prog, args, prefix)

    def write_heading(self, heading):
        lang = self._lang()
        if lang != "en":
            from .kernel.i18n import translate
            heading = translate(heading, lang, domain="kernel")
        super().write_heading(heading)

    def write_text(self, text):
        lang = self._lang()
        super().write_text(said(text, lang, self._domain()) if lang != "en" else text)

    def write_dl(self, rows, col_max=30, col_spacing=2):
        lang = self._lang()
        if lang != "en":
            rows = list(rows)
            ctx = click.get_current_context(silent=True)
            commands = getattr(ctx.command, "commands", {}) if ctx is not None else {}
            limit = self.width - 6 - max((len(term) for term, _ in rows), default=0)
            domain = self._domain()
            rows = [(TYPE_METAVAR.sub(lambda m: _metavar(m.group(1), lang), term) if term.startswith("-") else term,
                     self._row_help(term, text, lang, domain, commands, limit)) for term, text in rows]
        super().write_dl(rows, col_max, col_spacing)

    def _row_help(self, term, text, lang, domain, commands, limit):
        sub = commands.get(term) if isinstance(commands, dict) else None
        if sub is not None:             # a subcommand: its short help, from its whole help in its domain
            full = sub.short_help or inspect.cleandoc(sub.help or "").partition("\f")[0]
            return short_help(said(full, lang, command_domain(sub)), limit)
        match = EXTRA.match(text or "")
        base, extra = match.group("text"), match.group("extra")
        out = said(base, lang, domain) if base else base
        if not extra:
            return out
        return f"{out}  [{_extra(extra, lang)}]" if out else f"[{_extra(extra, lang)}]"


class CrmContext(click.Context):
    formatter_class = TranslatingFormatter


def adopt(command):
    """Let ``command`` and its subcommands write help through our formatter.
    Walks the whole tree each time: a command added to a group adopted
    before (a plugin's, on a later ``build_cli``) is adopted too."""
    command.context_class = CrmContext
    subs = command.__dict__.get("commands") if not hasattr(command, "target") else None
    for sub in (subs or {}).values():
        adopt(sub)
    return command
