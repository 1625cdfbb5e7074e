"""``crmkit leads``: capture, qualify, convert."""
from __future__ import annotations

import click

from crmkit.cli import emit, format_option, parse_assignments, pass_crm, record_row


@click.group()
def leads():
    """Leads: capture, qualify, convert into partners and deals."""


@leads.command("add")
@click.argument("values", nargs=-1)
@click.option("--channel", default=None, help="Channel of primary interest (name or id).")
@click.option("--source", default=None, help="Its source: marketing.event:1, core.user:orlov ...")
@pass_crm
def add(crm, values, channel, source):
    """Capture a lead: crmkit leads add company="ООО Ромашка" person="Анна Петрова" email=a@romashka.ru"""
    lead = crm.act("leads.capture", lead=parse_assignments(values), channel=channel, source=source)
    click.echo(f"created lead {lead.code}")
    for hit in crm.duplicates("core.partner", {"name": lead.company or lead.person, "email": lead.email or None,
                                               "phone": lead.phone or None})[:5]:
        partner = crm.get("core.partner", hit["id"])
        click.echo(f"note: may be the partner {partner.code} {partner.name} ({hit['label']})", err=True)


@leads.command("list")
@click.option("--status", default=None, help="new, in_work, qualified or disqualified.")
@click.option("--limit", type=int, default=100, show_default=True)
@format_option
@pass_crm
def list_leads(crm, status, limit, fmt):
    """Leads you may see, newest first."""
    filters = {"status": status} if status else {}
    emit([record_row(crm, "leads.lead", r) for r in crm.find("leads.lead", limit=limit, **filters)], fmt,
         lang=crm.lang)


@leads.command("matches")
@click.argument("key")
@format_option
@pass_crm
def matches_cmd(crm, key, fmt):
    """Partners the lead may already be (link one when converting)."""
    rows = []
    for hit in crm.act("leads.matches", key)["matches"]:
        partner = crm.get("core.partner", hit["id"])
        rows.append({"code": partner.code, "name": partner.name, "reason": hit["label"], "score": hit["score"]})
    emit(rows, fmt, lang=crm.lang)


@leads.command("disqualify")
@click.argument("key")
@click.argument("reason")
@pass_crm
def disqualify(crm, key, reason):
    """Disqualify a lead with a reason (a leads.disqualify_reason name)."""
    lead = crm.act("leads.disqualify", key, reason=reason)
    click.echo(f"disqualified {lead.code}")


@leads.command("convert")
@click.argument("key")
@click.option("--partner", default=None, help="Link this existing partner (code or id) instead of creating one.")
@click.option("--contact", default=None, help="Link this existing contact person (id).")
@click.option("--deal/--no-deal", default=False, help="Also create a deal.")
@click.option("--kind", "deal_kind", default=None, help="The deal's kind (name).")
@click.option("--name", "deal_name", default=None, help="The deal's name (default: the lead's demand).")
@click.option("--allow-duplicate", is_flag=True, help="Create a new partner even if it looks like existing ones.")
@pass_crm
def convert_cmd(crm, key, partner, contact, deal, deal_kind, deal_name, allow_duplicate):
    """Convert a lead into a partner, a contact and optionally a deal, all or nothing."""
    result = crm.act("leads.convert", key, partner=partner, contact=contact, deal=deal, deal_kind=deal_kind,
                     deal_name=deal_name, allow_duplicate=allow_duplicate)
    click.echo(f"converted {result['lead']}: partner {result['partner']}"
               + (f", contact {result['contact']}" if result["contact"] else "")
               + (f", deal {result['deal']}" if result["deal"] else "")
               + "".join(f"; moved {n} {e}" for e, n in result["moved"].items()))


@leads.command("from-inbox")
@click.option("--limit", type=int, default=100, show_default=True)
@pass_crm
def from_inbox_cmd(crm, limit):
    """Make leads of the incoming mail from unknown senders."""
    result = crm.act("leads.from_inbox", limit=limit)
    click.echo(f"{result['messages']} messages, {len(result['leads'])} new leads")
