"""Each plugin translates in its own domain: one plugin's words never change
another's screens, whatever order the catalogues were loaded in."""
from __future__ import annotations

import itertools

import pytest

from crmkit.kernel import i18n
from crmkit.kernel.crm import add_translation_domains
from crmkit.kernel.plugins import make_plugin_manager


@pytest.fixture
def domains():
    """Every installed plugin's domain, restored afterwards."""
    saved = dict(i18n._domains), dict(i18n._packages)
    _, loaded = make_plugin_manager()
    add_translation_domains(loaded)
    yield {p.name: p for p in loaded}
    i18n._domains.clear(), i18n._domains.update(saved[0])
    i18n._packages.clear(), i18n._packages.update(saved[1])
    i18n._catalogs.clear()


def shared_conflicts(lang="ru"):
    """``(domain, other, msgid, text, other_text)`` where a context-free msgid
    means one thing in a domain and another in a domain it falls back to:
    there both meanings compete for the same screens, so the plugin must say
    where its meaning applies (a ``msgctxt``)."""
    out = []
    for name in i18n.domains():
        own = {k[1]: v for k, v in i18n.catalog(name, lang).items() if k[0] is None}
        for other in i18n._chain(name)[1:]:
            theirs = {k[1]: v for k, v in i18n.catalog(other, lang).items() if k[0] is None}
            out += [(name, other, m, own[m], theirs[m]) for m in sorted(own.keys() & theirs.keys())
                    if own[m] != theirs[m]]
    return out


def test_no_msgid_has_two_meanings_in_a_shared_context(domains):
    assert len(domains) > 5        # the installed plugins, not just core
    assert shared_conflicts() == []


def test_the_conflict_check_sees_a_plugin_redefining_a_core_word(domains, tmp_path):
    (tmp_path / "ru.po").write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                                    'msgid "code"\nmsgstr "Номер"\n\n'
                                    'msgctxt "rogue.thing"\nmsgid "title"\nmsgstr "Этап"\n', encoding="utf-8")
    i18n.add_domain("rogue", tmp_path, ("core",))
    assert [c[:3] for c in shared_conflicts()] == [("rogue", "core", "code")]   # in a context it is fine


def test_each_plugins_contexts_are_its_own(domains):
    """A msgctxt names one of the plugin's entities, reports or templates
    (``claims.stage``, ``claims/web/x.html``), so contexts of two plugins never meet."""
    for name in i18n.domains():
        for context, msgid in i18n.catalog(name, "ru"):
            if context is not None:
                assert i18n.domain_of(context) == name, (name, context, msgid)


@pytest.mark.parametrize("order", [0, 1])
def test_translation_does_not_depend_on_the_order_catalogues_load(domains, order):
    names = list(domains)
    for name in (names if order == 0 else reversed(names)):
        i18n._catalogs.pop((name, "ru"), None)
        i18n.catalog(name, "ru")
    t = i18n.translate
    assert t("title", "ru", context="core.task") == "Задание"
    assert t("title", "ru", context="claims.stage") == "Этап"
    assert t("code", "ru", context="core.partner") == "Код"
    assert t("code", "ru", context="claims.claim") == "Номер"
    assert t("potential", "ru", context="deals.deal") == "Потенциал"
    assert t("potential", "ru", domain="analysis") == "Потенциальные"
    assert t("Work plan", "ru", domain="claims") == "План проекта"
    assert t("Loss reason", "ru", domain="deals") == "Причина проигрыша сделки"
    assert t("Total", "ru", domain="deals") == "Итого"              # the kernel's word, for everyone


def test_a_plugins_code_translates_in_its_domain_without_naming_it(domains):
    namespace = {"__name__": "crmkit_claims.somewhere", "translate": i18n.translate}
    exec("def said(): return translate('Work plan', 'ru')", namespace)
    assert namespace["said"]() == "План проекта"
    namespace["__name__"] = "crmkit_web.somewhere"
    exec("def said(): return translate('Work plan', 'ru')", namespace)
    assert namespace["said"]() == "План работ"
    namespace["__name__"] = "crmkit.core.somewhere"
    exec("def said(): return translate('title', 'ru')", namespace)
    assert namespace["said"]() == "Наименование"
    with i18n.in_context("claims.stage"):          # the kernel rendering a claim's plan
        assert i18n.translate("title", "ru") == "Этап"
    assert i18n.pgettext("core.task", "title", "ru") == "Задание"


def test_an_unknown_language_names_those_there_are():
    with pytest.raises(i18n.UnknownLanguage, match="'de'.*en, ru"):
        i18n.check_language("de")
    assert i18n.check_language("ru") == "ru"


def test_every_catalogue_reads(domains):
    for name, lang in itertools.product(i18n.domains(), i18n.LANGUAGES):
        i18n.catalog(name, lang)


def test_the_cli_refuses_a_language_it_does_not_speak():
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    result = CliRunner().invoke(build_cli(), ["--lang", "de", "entities"])
    assert result.exit_code != 0
    assert "unknown language 'de': crmkit speaks en, ru" in result.output
    result = CliRunner().invoke(build_cli(), ["--lang", "de", "entities"], env={"CRMKIT_LANG": "ru"})
    assert "неизвестный язык 'de'; crmkit знает языки: en, ru" in result.output, result.output   # said in $CRMKIT_LANG's


def test_no_catalogue_says_one_message_twice(domains):
    """Babel keeps one of two entries with the same msgctxt and msgid: the other is silently lost."""
    import collections
    import re
    for name, spec in i18n.domains().items():
        for po in sorted(spec.folder.glob("*.po")) if spec.folder and spec.folder.is_dir() else ():
            keys = re.findall(r'(?m)^(?:msgctxt "((?:[^"\\]|\\.)*)"\n)?msgid "((?:[^"\\]|\\.)+)"',
                              po.read_text(encoding="utf-8"))
            twice = [k for k, n in collections.Counter(keys).items() if n > 1]
            assert twice == [], (str(po), twice)


def test_every_entity_field_and_choice_has_a_russian_label(domains):
    """What `show`, `list` and the web's forms print: an entity's label, its
    fields and its choices (shown by their label, never the code)."""
    from crmkit.kernel.registry import Registry
    pm, _ = make_plugin_manager()
    registry = Registry()
    registry.fill(pm)
    missing = []
    for name, spec in registry.entities.items():
        label = spec.label or name
        missing += [(name, label)] if i18n.translate(label, "ru", context=name) == label else []
        for field_name, field in spec.model._meta.fields.items():
            if i18n.translate(field_name, "ru", context=name) == field_name:
                missing.append((name, field_name))
            missing += [(name, f"{field_name}={code}") for code, _ in field.choices or ()      # "A", "X" are their
                        if code and code.islower() and i18n.translate(code, "ru", context=f"{name}.{field_name}") == code]
    assert missing == []


def test_a_choice_reads_by_its_label_and_stays_its_code(domains):
    import json
    won = i18n.Choice("in_work", "deals.deal")
    assert won == "in_work" and json.dumps(won) == '"in_work"'
    assert i18n.format_value(won, "en") == "in work"
    assert i18n.format_value(i18n.Choice("company", "core.partner"), "ru") == "Компания"


def test_errors_are_said_in_russian(domains):
    from crmkit.kernel.errors import ValidationError
    exc = ValidationError({"kind": ["unallowed value 'compny' (allowed: company, individual)"],
                           "name": ["required field"]}, "core.partner")
    assert exc.describe("ru") == ("core.partner: Вид (kind): недопустимое значение 'compny' (допустимые: "
                                  "company, individual), Наименование (name): обязательное поле")
    assert exc.describe() == str(exc)                  # English as it was
    said = i18n.translate_message
    assert said("no entity 'core.partnr'; did you mean core.partner?", "ru") == \
        "нет сущности 'core.partnr'; возможно, имелось в виду core.partner?"
    assert said("user 'orlov' may not create claims.claim: no role grants it", "ru") == \
        "пользователю 'orlov' нельзя создавать claims.claim: ни одна роль этого не дает"
    assert said("something no catalogue says", "ru") == "something no catalogue says"


def test_the_cli_says_its_errors_in_the_operators_language(tmp_path):
    from click.testing import CliRunner
    from crmkit.cli import build_cli
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    out = CliRunner().invoke(build_cli(), ["--db", url, "--create", "--lang", "ru", "create", "core.partner",
                                           "name=Протон", "kind=compny"]).output
    assert "ошибка: core.partner: Вид (kind): недопустимое значение" in out
    out = CliRunner().invoke(build_cli(), ["--db", url, "--lang", "ru", "list", "core.partnr"]).output
    assert out.startswith("ошибка: нет сущности 'core.partnr'")
    assert "error: no entity" in CliRunner().invoke(build_cli(), ["--db", url, "list", "core.partnr"]).output
    out = CliRunner().invoke(build_cli(), ["--db", url, "--lang", "ru", "create", "core.partner", "name=Протон"]).output
    assert out.startswith("создано: core.partner ")         # what a command did, from its template
    out = CliRunner().invoke(build_cli(), ["--db", url, "create", "core.partner", "name=Протон 2"]).output
    assert out.startswith("created core.partner ")
