"""``crmkit attributes``: the additional attributes an administrator adds to
an entity without code. Thin: each command runs a core action."""
from __future__ import annotations

import click

from .cli import database_url, destructive, emit, format_option, pass_crm, say

KINDS = ("string", "number", "money", "date", "boolean", "choice", "reference")


@click.group()
def attributes():
    """Additional attributes: typed fields added to an entity without code."""


@attributes.command("list")
@click.argument("entity", required=False)
@format_option
@pass_crm
def list_attributes(crm, entity, fmt):
    """The additional attributes of ENTITY (or of every entity)."""
    from .kernel.attributes import describe
    names = [entity] if entity else sorted(crm.registry.entities)
    rows = [describe(a, crm.lang) for name in names if crm.can("read", name) for a in crm.attributes(name)]
    emit(rows, fmt, lang=crm.lang)


@attributes.command("add")
@click.argument("entity")
@click.argument("name")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--label", default="", help="The label shown in English.")
@click.option("--label-ru", default="", help="The label shown in Russian.")
@click.option("--choice", "choices", multiple=True, help="A value of a choice list (repeatable).")
@click.option("--target", default="", help="The entity a reference points at (core.partner, core.product, core.user).")
@click.option("--currency", default="", help="A money attribute's currency (default RUB).")
@pass_crm
def add(crm, entity, name, kind, label, label_ru, choices, target, currency):
    """Add attribute NAME of KIND to ENTITY (administrators):
    crmkit attributes add core.partner employees number --label-ru "Число сотрудников\""""
    result = crm.act("core.add_attribute", entity=entity, name=name, kind=kind, label=label, label_ru=label_ru,
                     choices=list(choices), target=target, currency=currency)
    from .kernel.i18n import Choice
    say(crm, "added attribute {name} of {entity} ({kind})", name=result["name"], entity=entity,
        kind=Choice(result["kind"], "kernel.attribute.kind"))


def _target(state, **params):
    return database_url(state), True


@attributes.command("change")
@click.argument("entity")
@click.argument("name")
@click.option("--label", default=None, help="The label shown in English.")
@click.option("--label-ru", default=None, help="The label shown in Russian.")
@click.option("--choice", "choices", multiple=True, help="The whole new choice list, a value each (repeatable).")
@pass_crm
def change(crm, entity, name, label, label_ru, choices):
    """Change the labels or the choice list of attribute NAME of ENTITY (administrators); its kind stays."""
    crm.act("core.change_attribute", entity=entity, name=name, label=label, label_ru=label_ru,
            choices=list(choices) if choices else None)
    say(crm, "changed {entity} {name}", entity=entity, name=name)


@attributes.command("remove")
@click.argument("entity")
@click.argument("name")
@pass_crm
def remove(crm, entity, name):
    """Remove attribute NAME of ENTITY and every value of it (administrators)."""
    result = crm.act("core.remove_attribute", entity=entity, name=name)
    say(crm, "removed attribute {name} of {entity} ({n} values)", name=name, entity=entity,
        n=result["removed_values"])


remove = destructive("remove an attribute and its values", _target)(remove)
