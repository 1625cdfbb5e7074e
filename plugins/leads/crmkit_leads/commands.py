"""``crmkit leads``: capture, qualify, convert."""
from __future__ import annotations

import click

from crmkit import Message
from crmkit.cli import emit, format_option, parse_assignments, pass_crm, record_row, say


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
    say(crm, "created lead {code}", code=lead.code)
    for hit in crm.duplicates("core.partner", {"name": lead.company or lead.person, "email": lead.email or None,
                                               "phone": lead.phone or None})[:5]:
        partner = crm.get("core.partner", hit["id"])
        say(crm, "note: may be the partner {code} {name} ({rule})", err=True, code=partner.code, name=partner.name,
            rule=Message(hit["label"], context="core.partner"))


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
        rows.append({"code": partner.code, "name": partner.name,
                     "reason": Message(hit["label"], context="core.partner"), "score": hit["score"]})
    emit(rows, fmt, lang=crm.lang)


@leads.command("disqualify")
@click.argument("key")
@click.argument("reason")
@pass_crm
def disqualify(crm, key, reason):
    """Disqualify a lead with a reason (a leads.disqualify_reason name)."""
    lead = crm.act("leads.disqualify", key, reason=reason)
    say(crm, "disqualified {code}", code=lead.code)


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
    parts = [Message("converted {lead}: partner {partner}", lead=result["lead"], partner=result["partner"])]
    if result["contact"]:
        parts.append(Message(", contact {contact}", contact=result["contact"]))
    if result["deal"]:
        parts.append(Message(", deal {deal}", deal=result["deal"]))
    parts += [Message("; moved {n} {entity}", n=n, entity=e) for e, n in result["moved"].items()]
    say(crm, parts)


@leads.command("from-inbox")
@click.option("--limit", type=int, default=100, show_default=True)
@pass_crm
def from_inbox_cmd(crm, limit):
    """Make leads of the incoming mail from unknown senders."""
    result = crm.act("leads.from_inbox", limit=limit)
    say(crm, "{messages} messages, {leads} new leads", messages=result["messages"], leads=len(result["leads"]))
