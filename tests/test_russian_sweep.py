"""Under ``--lang ru`` nothing is left in English: every report (its table
and its HTML page), every entity's ``list`` and ``show``, every plugin's
``show``-like command and every command's help are rendered in Russian over
the demo base, and none of them may contain a word that a catalogue
translates (a msgid) or a choice code that has a label, left as it was.

What a user types stays as it is and is not checked: option names, choice
lists (``[in_work|won|lost]``), ``field=value`` examples, dotted names
(``deals.deal``), command names in help.
"""
from __future__ import annotations

import collections
import json
import re

import click
import pytest
from click.testing import CliRunner

import crmkit
from crmkit.cli import build_cli
from crmkit.kernel import i18n

SYNTAX = set("=./[]|<>#@\\`{}*:-")       # a chunk with one of these is something typed
PUNCTUATION = ".,;:!?()\"'«»"

# Each `show`-like command with the key the demo base has for it; a new one
# fails test_every_show_command_is_swept until it is added here.
SHOW_KEYS = {
    ("deals", "show"): ["00-00000001"],
    ("claims", "show"): ["1"],
    ("marketing", "event", "show"): ["1"],
    ("marketing", "interest", "show"): ["deals.deal:3"],
    ("marketing", "mailing", "status"): ["1"],
    ("analysis", "history"): ["00-00000002"],
    ("partner", "history"): ["00-00000002"],
    ("segment", "members"): ["1"],
    ("history",): ["deals.deal", "1"],
    ("webhook", "show"): None,          # the demo base subscribes no webhook: nothing to show
    ("show",): None,                    # swept entity by entity below
}
LISTINGS = [("deals", "list"), ("deals", "kind", "list"), ("deals", "stage", "list"), ("claims", "list"),
            ("leads", "list"), ("marketing", "channel", "list"), ("marketing", "event", "list"),
            ("marketing", "group", "list"), ("marketing", "mailing", "list"), ("outbox", "list"),
            ("report", "list"), ("entities",)]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("russian")
    url = f"sqlite:///{folder / 'demo.db'}"
    result = CliRunner().invoke(build_cli(), ["--db", url, "demo", "--book", str(folder / "book")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return url


@pytest.fixture(scope="module")
def english():
    return english_words()


def english_words():
    """Every English word a catalogue translates, and every choice code with
    a label: none may appear in Russian output. Words the Russian texts use
    themselves (SMS, ABC, Email) are not English left behind."""
    root = build_cli()
    i18n.add_plugin_domains(root.plugin_manager[1])
    words, russian = set(), []
    for name in i18n.domains():
        for (_, msgid), text in i18n.catalog(name, "ru").items():
            russian.append(text)
            if msgid != text and re.fullmatch(r"[A-Za-z][a-z_]*", msgid):
                words.add(msgid)
    from crmkit.kernel.plugins import make_plugin_manager
    from crmkit.kernel.registry import Registry
    registry = Registry()
    registry.fill(make_plugin_manager()[0])
    for entity, spec in registry.entities.items():
        for field in spec.model._meta.fields.values():
            words |= {code for code, _ in field.choices or ()
                      if code and i18n.translate(code, "ru", context=entity) != code}
    words -= set(left_in_english(" ".join(russian), words))
    return words, _command_names(root)


def _command_names(root):
    names = set()

    def walk(cmd, ctx):
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                names.add(name)
                walk(cmd.get_command(ctx, name), click.Context(cmd, info_name=name, parent=ctx))
    walk(root, click.Context(root, info_name="crmkit"))
    return names


def left_in_english(text, words, skip=frozenset()):
    found = collections.Counter()
    for chunk in text.split():
        if any(c in SYNTAX for c in chunk.strip(PUNCTUATION)) or chunk.rstrip(",;:").endswith('"'):
            continue                                    # typed, or a quoted literal (JSON, an example)
        chunk = chunk.strip(PUNCTUATION)
        if chunk in words and chunk not in skip:
            found[chunk] += 1
    return dict(found)


def stored_words(crm):
    """Words of what people typed (names, labels, comments, roles): data, not
    messages, whatever language it is in."""
    import peewee as pw
    words = set()
    for entity, spec in crm.registry.entities.items():
        for name, field in spec.model._meta.fields.items():
            if isinstance(field, (pw.CharField, pw.TextField)) and not field.choices:
                for (value,) in spec.model.select(field).distinct().tuples():
                    words |= {w.strip(PUNCTUATION) for w in re.split(r"[\s,]+", str(value or ""))}
    return frozenset(words)


def ru(url, *args):
    result = CliRunner().invoke(build_cli(), ["--db", url, "--lang", "ru", *args], catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def _page_text(html):
    html = re.sub(r"(?s)<style.*?</style>|<script.*?</script>", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


def test_every_report_in_russian(demo_url, english):
    words, _ = english
    crm = crmkit.open(demo_url, lang="ru")
    data = stored_words(crm)
    left = {}
    for report_id in crm.registry.reports:
        result = crm.report(report_id)
        text = result.render("table") + _page_text(result.render("html"))
        if found := left_in_english(text, words, data):
            left[report_id] = found
    assert len(crm.registry.reports) > 20
    assert left == {}


def test_every_list_and_show_in_russian(demo_url, english):
    words, _ = english
    crm = crmkit.open(demo_url)
    data = stored_words(crm)
    left = {}
    for entity in crm.registry.entities:
        text = ru(demo_url, "list", entity)
        first = crm.find(entity, limit=1)
        if first:
            text += ru(demo_url, "show", entity, str(first[0].get_id()))
        if found := left_in_english(text, words, data):
            left[entity] = found
    for path in LISTINGS:
        if found := left_in_english(ru(demo_url, *path), words, data):
            left[" ".join(path)] = found
    for path, key in SHOW_KEYS.items():
        if key is not None and (found := left_in_english(ru(demo_url, *path, *key), words, data)):
            left[" ".join(path)] = found
    assert left == {}, json.dumps(left, ensure_ascii=False)


def test_every_show_command_is_swept():
    root = build_cli()
    shows = set()

    def walk(cmd, ctx, path):
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), click.Context(cmd, info_name=name, parent=ctx), path + (name,))
        elif path[-1] in ("show", "members", "history", "status") and any(
                isinstance(p, click.Argument) for p in cmd.params):
            shows.add(path)
    walk(root, click.Context(root, info_name="crmkit"), ())
    assert shows - set(SHOW_KEYS) == set()


def _help_text(output):
    """Help without what a user types: the usage line, and each option's or
    subcommand's name column."""
    lines = []
    for line in output.splitlines():
        if line.startswith(("Usage:", i18n.translate("Usage:", "ru", domain="kernel"))):
            continue
        lines.append(re.sub(r"^  (?! )\S+(?: \S+)*?(?=\s{2,}|$)", "", line))
    return "\n".join(lines)


def test_every_commands_help_in_russian(english):
    words, command_names = english
    root = build_cli()
    left, seen = {}, 0

    def walk(cmd, ctx, path):
        nonlocal seen
        result = CliRunner().invoke(root, ["--lang", "ru", *path, "--help"], catch_exceptions=False)
        assert result.exit_code == 0, (path, result.output)
        seen += 1
        if found := left_in_english(_help_text(result.output), words, command_names):
            left[" ".join(path) or "crmkit"] = found
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), click.Context(cmd, info_name=name, parent=ctx), path + [name])
    walk(root, click.Context(root, info_name="crmkit"), [])
    assert seen > 100
    assert left == {}


def test_help_follows_crmkit_lang(monkeypatch):
    monkeypatch.setenv("CRMKIT_LANG", "ru")
    out = CliRunner().invoke(build_cli(), ["deals", "--help"]).output
    assert "Использование:" in out and "Сделки с клиентами" in out
    monkeypatch.setenv("CRMKIT_LANG", "en")
    assert "Deals with clients" in CliRunner().invoke(build_cli(), ["deals", "--help"]).output


def test_the_sweep_sees_english_left_behind(english):
    """The same check over English output finds the words it looks for."""
    words, command_names = english
    out = CliRunner().invoke(build_cli(), ["--lang", "en", "claims", "plan", "--help"]).output
    assert left_in_english(_help_text(out), words, command_names)
    assert left_in_english("Вид: partner; Статус: in_work", words) == {"partner": 1, "in_work": 1}


def test_a_command_added_by_a_later_build_is_said_in_russian():
    """``build_cli`` fills one root group: a plugin's command added by a later
    build (after one with fewer plugins) gets the translating help too."""
    build_cli(only=["deals"])
    result = CliRunner().invoke(build_cli(), ["--lang", "ru", "serve", "--help"], catch_exceptions=False)
    assert result.exit_code == 0 and "Параметры:" in result.output and "Options" not in result.output
