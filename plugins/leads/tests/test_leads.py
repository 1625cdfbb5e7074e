"""Leads: capture with a primary interest, rules of their status, access by
group, conversion all or nothing, leads from unknown senders, reports."""
import datetime as dt

import pytest

import crmkit
from crmkit_leads.api import capture, convert, from_inbox, matches


@pytest.fixture
def world(crm):
    channel = crm.create("marketing.channel", {"name": "Выставки", "impact_type": "event"})
    web = crm.create("marketing.channel", {"name": "Сайт", "impact_type": "user"})
    event = crm.create("marketing.event", {"name": "Стройэкспо 2015"})
    kind = crm.create("deals.kind", {"name": "Произвольная продажа"}) \
        if "deals.kind" in crm.registry.entities else None
    orlov = crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    return {"channel": channel, "web": web, "event": event, "kind": kind, "orlov": orlov}


def _lead(crm, world, **extra):
    data = {"company": "ООО Ромашка", "person": "Анна Петрова", "email": "Anna@Romashka.ru",
            "phone": "8 (916) 123-45-67", "demand": "Поставка арматуры", "potential": "5000",
            "position": "закупщик", **extra}
    return capture(crm, data, world["channel"].id, f"marketing.event:{world['event'].id}")


def test_capture_keeps_the_primary_interest_and_normalises_contacts(crm, world):
    lead = _lead(crm, world)
    assert (lead.code, lead.status, lead.email, lead.phone) == ("LD-00000001", "new", "anna@romashka.ru",
                                                                "+79161234567")
    interest = crm.find("marketing.primary_interest", subject_type="leads.lead", subject_id=lead.id)
    assert [i.channel_id for i in interest] == [world["channel"].id]
    with pytest.raises(crmkit.ValidationError) as exc:
        crm.create("leads.lead", {"company": "X", "potential": "-1"})
    assert set(exc.value.errors) == {"potential"}
    with pytest.raises(crmkit.ValidationError) as exc:
        crm.create("leads.lead", {"email": "not an address"})
    assert set(exc.value.errors) == {"person", "email"}
    assert crm.count("leads.lead") == 1


def test_status_rules(crm, world):
    lead = _lead(crm, world)
    with pytest.raises(crmkit.ValidationError) as exc:
        crm.update("leads.lead", lead.code, {"status": "qualified"})
    assert "convert" in str(exc.value.errors["status"])
    with pytest.raises(crmkit.ValidationError) as exc:
        crm.update("leads.lead", lead.code, {"status": "disqualified"})
    assert "disqualify_reason" in exc.value.errors
    reason = crm.create("leads.disqualify_reason", {"name": "Нет бюджета"})
    lead = crm.update("leads.lead", lead.code, {"status": "disqualified", "disqualify_reason": reason.id})
    assert lead.closed_at is not None
    with pytest.raises(crmkit.ValidationError):
        convert(crm, lead.code)
    lead = crm.update("leads.lead", lead.code, {"status": "in_work"})
    assert (lead.disqualify_reason_id, lead.closed_at) == (None, None)


def test_conversion_creates_partner_contact_deal_and_moves_the_work(crm, world):
    lead = _lead(crm, world, responsible=world["orlov"].id)
    call = crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-10-21T10:00:00",
                                           "subject": ("leads.lead", lead.id), "topic": "первый звонок"})
    task = crm.create("core.task", {"title": "Перезвонить", "subject": ("leads.lead", lead.id)})
    result = convert(crm, lead.code, deal=True, deal_kind="Произвольная продажа")
    partner, contact, deal = result["partner"], result["contact"], result["deal"]
    assert (partner.name, partner.kind, partner.manager_id) == ("ООО Ромашка", "company", world["orlov"].id)
    assert (contact.name, contact.position, contact.partner_id) == ("Анна Петрова", "закупщик", partner.id)
    assert {(ci.kind, ci.normalized) for ci in crm.find("core.contact_info", contact=contact.id)} == {
        ("email", "anna@romashka.ru"), ("phone", "+79161234567")}
    assert (deal.client_id, deal.potential, deal.currency, deal.kind_id) == (
        partner.id, lead.potential, "RUB", world["kind"].id)
    for record, entity in ((call, "core.interaction"), (task, "core.task")):
        moved = crm.get(entity, record.id)
        assert (moved.subject_type, moved.subject_id, moved.partner_id) == ("deals.deal", deal.id, partner.id)
    assert crm.get("core.interaction", call.id).contact_id == contact.id
    lead = crm.get("leads.lead", lead.code)
    assert (lead.status, lead.partner_id, lead.contact_id, lead.deal_id) == ("qualified", partner.id,
                                                                              contact.id, deal.id)
    # the deal has the lead's primary interest; the lead keeps its own
    deal_interest = crm.find("marketing.primary_interest", subject_type="deals.deal", subject_id=deal.id)
    assert [(i.channel_id, i.source_id) for i in deal_interest] == [(world["channel"].id, world["event"].id)]
    assert crm.count("marketing.primary_interest", subject_type="leads.lead", subject_id=lead.id) == 1
    assert "convert" in [c.action for c in crm.history("leads.lead", lead.code)]


def test_conversion_is_all_or_nothing(crm, world):
    lead = _lead(crm, world)
    call = crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-10-21T10:00:00",
                                           "subject": ("leads.lead", lead.id)})
    counts = {e: crm.count(e, include_marked=True) for e in ("core.partner", "core.contact", "core.contact_info")}
    with pytest.raises(crmkit.ValidationError) as exc:
        convert(crm, lead.code, deal=True, deal_kind="Нет такого вида")
    assert "deal_kind" in exc.value.errors
    assert {e: crm.count(e, include_marked=True) for e in counts} == counts
    assert crm.get("core.interaction", call.id).subject_type == "leads.lead"
    assert crm.get("leads.lead", lead.code).status == "new"


def test_conversion_proposes_existing_partners(crm, world):
    existing = crm.create("core.partner", {"name": "Ромашка"})
    lead = _lead(crm, world)
    assert [m["id"] for m in matches(crm, lead.code)] == [existing.id]
    with pytest.raises(crmkit.ValidationError) as exc:
        convert(crm, lead.code)
    assert existing.code in str(exc.value.errors["partner"])
    result = convert(crm, lead.code, partner=existing.code)
    assert result["partner"].id == existing.id and result["contact"].partner_id == existing.id
    other = _lead(crm, world, email="b@romashka2.ru", phone="")
    assert convert(crm, other.code, allow_duplicate=True)["partner"].id != existing.id


def test_leads_follow_access_groups(crm, world, open_crm):
    mine = crm.create("core.access_group", {"name": "Оптовые"})
    theirs = crm.create("core.access_group", {"name": "Сетевые"})
    crm.create("core.user_access", {"user": world["orlov"].id, "access_group": mine.id})
    hidden = _lead(crm, world, access_group=theirs.id, company="Тайная", person="")
    orlov = open_crm(user="orlov")
    own = capture(orlov, {"company": "Своя"})
    assert own.access_group_id == mine.id
    assert [lead.code for lead in orlov.find("leads.lead")] == [own.code]
    with pytest.raises(crmkit.NotFound):
        orlov.get("leads.lead", hidden.code)
    with pytest.raises(crmkit.ValidationError):
        orlov.update("leads.lead", own.code, {"access_group": None})
    with pytest.raises(crmkit.ValidationError):
        orlov.update("leads.lead", own.code, {"access_group": theirs.id})
    table = orlov.report("leads.by_source").frame
    assert int(table["total"].iloc[-1]) == 1


def test_reports_count_leads_by_channel_status_and_responsible(crm, world):
    a = _lead(crm, world, responsible=world["orlov"].id)
    _lead(crm, world, company="Лютик", person="", email="", phone="")
    capture(crm, {"person": "Иван", "email": "ivan@site.ru"}, world["web"].id, f"core.user:{world['orlov'].id}")
    convert(crm, a.code, allow_duplicate=True)
    by_source = crm.report("leads.by_source").frame.set_index("channel")
    assert by_source.loc["Выставки", ["new", "qualified", "total"]].tolist() == [1, 1, 2]
    assert by_source.loc["Сайт", "new"] == 1 and by_source.iloc[-1]["total"] == 3
    sections = crm.report("leads.conversion").sections
    channel = sections["by channel"].set_index("channel")
    assert channel.loc["Выставки", "conversion_pct"] == 50.0
    assert channel.iloc[-1]["leads"] == 3 and round(channel.iloc[-1]["conversion_pct"], 1) == 33.3
    person = sections["by responsible"].set_index("responsible")
    assert person.loc["Орлов", "qualified"] == 1


def test_unknown_senders_become_leads(crm, world):
    pytest.importorskip("crmkit_notify_email")
    from crmkit_notify_email import models as mail
    now = dt.datetime(2015, 10, 21, 9, 0, tzinfo=dt.timezone.utc)
    for n, (sender, name) in enumerate([("new@client.ru", "Новый Клиент"), ("new@client.ru", "Новый Клиент"),
                                        ("other@x.ru", "")]):
        mail.Inbound.create(key=f"k{n}", message_id=f"<m{n}@x>", sender=sender, sender_name=name,
                            subject=f"Запрос {n}", sent_at=now, text="Нужна арматура", state="unknown")
    created, messages = from_inbox(crm)
    assert messages == 3 and [lead.email for lead in created] == ["new@client.ru", "other@x.ru"]
    lead = crm.get("leads.lead", created[0].code)
    assert crm.count("core.interaction", subject_type="leads.lead", subject_id=lead.id) == 2
    assert mail.Inbound.select().where(mail.Inbound.state == "unknown").count() == 0


def test_cli(cli, crm, world):
    result = cli("leads", "add", "company=ООО Ромашка", "person=Анна", "email=anna@romashka.ru",
                 "--channel", "Выставки", "--source", f"marketing.event:{world['event'].id}")
    assert result.exit_code == 0 and "LD-00000001" in result.output
    assert "LD-00000001" in cli("leads", "list").output
    result = cli("leads", "convert", "LD-00000001", "--deal", "--kind", "Произвольная продажа")
    assert result.exit_code == 0, result.output
    assert "partner 00-" in result.output and "deal 00-" in result.output
    result = cli("leads", "convert", "LD-00000001")
    assert result.exit_code == 1 and "only new or in-work leads convert" in result.output
