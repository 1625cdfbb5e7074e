"""``crmkit duplicates``: find, check and merge duplicate records of any
entity that has duplicate rules (partners and contacts in core)."""
from __future__ import annotations

import click

from .cli import emit, format_option, parse_assignments, pass_crm, refuse, say


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
    from .kernel.i18n import Choice, Message
    spec = crm.registry.entity(entity)
    rows = []
    for hit in crm.duplicates(entity, parse_assignments(values)):
        record = crm.get(entity, hit["id"])
        rows.append({"id": hit["id"], spec.lookup or "id": getattr(record, spec.lookup or "id"),
                     "name": crm.display(entity, record), "reason": Message(hit["label"], context=entity),
                     "score": hit["score"], "mode": Choice(hit["mode"], "kernel.duplicate_setting.mode")})
    emit(rows, fmt, lang=crm.lang, context="kernel.duplicates")


@duplicates.command("rules")
@click.argument("entity", default="core.partner")
@format_option
@pass_crm
def rules(crm, entity, fmt):
    """The entity's rules and how strict each is."""
    from .kernel.duplicates import rules as entity_rules
    from .kernel.i18n import Choice, Message
    emit([{"rule": r.name, "label": Message(r.label, context=entity), "fuzzy": r.fuzzy,
           "mode": Choice(s.get("mode") or r.mode, "kernel.duplicate_setting.mode"),
           "threshold": s.get("threshold") or (r.threshold if r.fuzzy else None)}
          for r, s in entity_rules(crm, entity)], fmt, lang=crm.lang, context="kernel.duplicates")


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
    from .kernel.i18n import Choice
    mode = Choice(row.mode, "kernel.duplicate_setting.mode")
    if row.threshold:
        say(crm, "{entity} {rule}: {mode}, threshold {threshold}", context="kernel.duplicates", entity=entity,
            rule=rule, mode=mode,
            threshold=f"{row.threshold:g}")
    else:
        say(crm, "{entity} {rule}: {mode}", context="kernel.duplicates", entity=entity, rule=rule, mode=mode)


@duplicates.command("reindex")
@click.argument("entity", default="core.partner")
@pass_crm
def reindex(crm, entity):
    """Rebuild the duplicate keys of every record (after an upgrade; saves keep them fresh)."""
    if not crm.actor.is_admin:
        refuse("reindex is for administrators")
    with crm.transaction():
        n = crm.reindex_duplicates(entity)
    say(crm, "{n} duplicate keys of {entity}", n=n, entity=entity)


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
    say(crm, "merged into {entity} {id} ({record})", entity=entity, id=kept.get_id(), record=crm.display(entity, kept))
