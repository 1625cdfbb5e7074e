"""``crmkit duplicates``: find, check and merge duplicate records of any
entity that has duplicate rules (partners and contacts in core)."""
from __future__ import annotations

import click

from .cli import emit, format_option, parse_assignments, pass_crm


@click.group()
def duplicates():
    """Duplicate records: candidate groups, checks, merge."""


@duplicates.command("find")
@click.argument("entity", default="core.partner")
@click.option("--rule", "rules", multiple=True, help="Only these rules (repeatable).")
@format_option
@pass_crm
def find(crm, entity, rules, fmt):
    """Candidate groups among the records you may see, with score and reason."""
    frame = crm.duplicate_groups(entity, list(rules) or None)
    emit(frame.to_dict("records"), fmt, lang=crm.lang)


@duplicates.command("check")
@click.argument("entity")
@click.argument("values", nargs=-1)
@format_option
@pass_crm
def check(crm, entity, values, fmt):
    """Records that look like these values: crmkit duplicates check core.partner name="ООО Ромашка" inn=7707083893"""
    spec = crm.registry.entity(entity)
    rows = []
    for hit in crm.duplicates(entity, parse_assignments(values)):
        record = crm.get(entity, hit["id"])
        rows.append({"id": hit["id"], spec.lookup or "id": getattr(record, spec.lookup or "id"),
                     "name": crm.display(entity, record), "reason": hit["label"], "score": hit["score"],
                     "mode": hit["mode"]})
    emit(rows, fmt, lang=crm.lang)


@duplicates.command("rules")
@click.argument("entity", default="core.partner")
@format_option
@pass_crm
def rules(crm, entity, fmt):
    """The entity's rules and how strict each is."""
    from .kernel.duplicates import rules as entity_rules
    emit([{"rule": r.name, "label": r.label, "fuzzy": r.fuzzy, "mode": s.get("mode") or r.mode,
           "threshold": s.get("threshold") or (r.threshold if r.fuzzy else None)}
          for r, s in entity_rules(crm, entity)], fmt, lang=crm.lang)


@duplicates.command("configure")
@click.argument("entity")
@click.argument("rule")
@click.option("--mode", type=click.Choice(["warn", "strict", "off"]), default=None,
              help="warn: list candidates on create; strict: refuse the write; off: skip the rule.")
@click.option("--threshold", type=float, default=None, help="Similarity 0-100 a fuzzy rule needs.")
@pass_crm
def configure(crm, entity, rule, mode, threshold):
    """Set how strict a rule is (administrators)."""
    from .kernel.duplicates import configure as set_rule
    row = set_rule(crm, entity, rule, mode, threshold)
    click.echo(f"{entity} {rule}: {row.mode}" + (f", threshold {row.threshold:g}" if row.threshold else ""))


@duplicates.command("reindex")
@click.argument("entity", default="core.partner")
@pass_crm
def reindex(crm, entity):
    """Rebuild the duplicate keys of every record (after an upgrade; saves keep them fresh)."""
    if not crm.actor.is_admin:
        raise click.ClickException("reindex is for administrators")
    with crm.transaction():
        n = crm.reindex_duplicates(entity)
    click.echo(f"{n} keys")


@duplicates.command("merge")
@click.argument("entity")
@click.argument("survivor")
@click.argument("merged")
@click.option("--take", default="", help="Comma-separated fields whose value comes from MERGED.")
@pass_crm
def merge(crm, entity, survivor, merged, take):
    """Merge MERGED into SURVIVOR: every reference moves, MERGED stays marked for deletion."""
    fields = [f.strip() for f in take.split(",") if f.strip()]
    action = next((a for a in crm.registry.actions.values() if a.entity == entity and a.verb == "merge"), None)
    kept = crm.act(action.name, survivor, merged=merged, take=fields) if action is not None \
        else crm.merge(entity, survivor, merged, fields)   # an entity no plugin offers merging for on the API
    click.echo(f"merged into {entity} {kept.get_id()} ({crm.display(entity, kept)})")
