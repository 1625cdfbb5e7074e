"""Lead-capture forms through real servers (``crmkit serve`` on loopback) and
a real HTTP client, over the demo base: with the leads plugin a post captures
a lead through ``leads.capture`` (its primary interest from the form's
channel and source, the message as an interaction about it); without it
(``CRMKIT_DISABLE_PLUGINS=leads``, the same database) a post creates the
partner, its contact information, an interaction and the partner's interest.
Either way: bots, floods and bad input are refused, the field named,
nothing written. SQLite and PostgreSQL."""
from __future__ import annotations

import re
import time

import pytest

import crmkit
from web_fixtures import start_server, web_url  # noqa: F401  (fixtures)
from crmkit_web.ui.testing import WebClient, load_demo


@pytest.fixture(scope="module")
def site(web_url, start_server):
    load_demo(web_url)
    with_leads = start_server(web_url)
    without = start_server(web_url, env={"CRMKIT_DISABLE_PLUGINS": "leads"})
    crm = crmkit.open(web_url, migrate=False)
    channel = crm.find("marketing.channel", impact_type="event")[0]
    event = crm.find("marketing.event")[0]
    crm.close()
    return {"url": web_url, "leads": with_leads.base, "plain": without.base, "channel": channel,
            "event": event}


def open_as(site, login=None):
    crm = crmkit.open(site["url"], migrate=False)
    return crm.as_user(login) if login else crm


def publish(site, base, slug, fields="name,comment", **extra):
    """The administrator publishes a form through its generic page."""
    c = WebClient(site[base])
    assert c.sign_in("boss").status == 302
    return c.submit("/e/web.lead_form/new", fields={
        "slug": slug, "title": "Заявка с сайта", "fields": fields, "ask_email": "1", "ask_phone": "1",
        "interaction_kind": "email", "owner": "orlov", "is_published": "1", **extra})


def post(site, base, slug, fields, age=10, lang=None):
    from crmkit_web.ui import leads
    crm = open_as(site)
    token = leads.time_token(slug, time.time() - age)     # as if shown ``age`` seconds ago
    crm.close()
    c = WebClient(site[base])
    headers = {"Accept-Language": lang} if lang else {}
    assert c.get(f"/f/{slug}", headers=headers).status == 200          # no session needed
    return c.request("POST", f"/f/{slug}", form={"t": token, **fields}, headers=headers)


def counts(site):
    crm = open_as(site)
    try:
        return {e: crm.count(e) for e in ("core.partner", "core.contact_info", "core.interaction", "leads.lead",
                                          "marketing.primary_interest")}
    finally:
        crm.close()


def alerts(page):
    return re.findall(r'role="alert">([^<]*)<', page.text)


# -- with the leads plugin: a lead, through leads.capture -------------------------------
def test_a_form_captures_a_lead_with_its_primary_interest_and_an_interaction(site):
    channel, event = site["channel"], site["event"]
    r = publish(site, "leads", "lead-capture", fields="name,company,position,comment", channel=channel.name,
                source=f"marketing.event:{event.id}")
    assert r.status == 200, alerts(r)
    form_page = WebClient(site["leads"]).get("/f/lead-capture")
    assert 'for="lf-company"' in form_page.text and "Your name" in form_page.text
    before = counts(site)
    r = post(site, "leads", "lead-capture", {"name": "Иванов Пётр", "company": "ООО «Вектор»",
                                             "position": "Закупщик", "comment": "с сайта",
                                             "email": "Ivanov@Lead.Example", "phone": "+7 (495) 123-45-67",
                                             "message": "Нужны телевизоры"})
    assert r.status == 200 and "Thank you" in r.text, alerts(r)
    after = counts(site)
    assert after["leads.lead"] == before["leads.lead"] + 1
    assert after["core.partner"] == before["core.partner"]          # a lead, not a partner yet
    assert after["core.contact_info"] == before["core.contact_info"]
    crm = open_as(site)
    lead = crm.find("leads.lead", person="Иванов Пётр")[0]
    assert (lead.company, lead.position, lead.comment) == ("ООО «Вектор»", "Закупщик", "с сайта")
    assert lead.email == "ivanov@lead.example" and lead.phone == "+74951234567"     # leads' own normalising
    assert lead.demand == "Нужны телевизоры" and lead.status == "new" and lead.responsible.login == "orlov"
    interest = crm.find("marketing.primary_interest", subject_type="leads.lead", subject_id=lead.id)
    assert len(interest) == 1 and interest[0].channel_id == channel.id
    assert (interest[0].source_type, interest[0].source_id) == ("marketing.event", event.id)
    call = crm.find("core.interaction", subject_type="leads.lead", subject_id=lead.id)
    assert len(call) == 1 and call[0].text == "Нужны телевизоры" and call[0].direction == "incoming"
    assert call[0].kind == "email" and call[0].how == "web form lead-capture"
    crm.close()


def test_a_lead_form_refuses_bad_input_naming_the_field_and_writes_nothing(site):
    assert publish(site, "leads", "lead-bad-input", fields="name,company").status == 200
    before = counts(site)
    nameless = post(site, "leads", "lead-bad-input", {"name": "", "company": "", "email": "a@b.example"})
    assert nameless.status == 422 and 'id="err-name"' in nameless.text, alerts(nameless)
    bad_email = post(site, "leads", "lead-bad-input", {"name": "Сидоров", "email": "not an email"})
    assert bad_email.status == 422 and 'id="err-email"' in bad_email.text, alerts(bad_email)
    assert 'value="Сидоров"' in bad_email.text                        # what was typed is kept
    ru = post(site, "leads", "lead-bad-input", {"name": "", "company": "", "email": "a@b.example"}, lang="ru")
    assert ru.status == 422 and "лид" in " ".join(alerts(ru)).lower(), alerts(ru)
    assert counts(site) == before


def test_a_lead_form_a_lead_needs_a_name_field_and_stranger_fields_only(site):
    r = publish(site, "leads", "lead-no-name", fields="comment,demand")
    assert r.status == 422 and 'id="err-fields"' in r.text
    r = publish(site, "leads", "lead-status", fields="name,status,potential")
    assert r.status == 422 and 'id="err-fields"' in r.text
    crm = open_as(site)
    assert not crm.find("web.lead_form", slug="lead-no-name") and not crm.find("web.lead_form", slug="lead-status")
    crm.close()
    assert publish(site, "leads", "lead-company-only", fields="company,demand").status == 200


@pytest.mark.parametrize("base", ["leads", "plain"])
def test_bots_floods_and_forgeries_are_refused_writing_nothing(site, base):
    slug = f"guard-{base}"
    assert publish(site, base, slug).status == 200
    before = counts(site)
    honeypot = post(site, base, slug, {"name": "Бот", "email": "bot@x.example", "website": "http://spam"})
    assert honeypot.status == 200 and "Thank you" in honeypot.text   # looks accepted to the bot
    fast = post(site, base, slug, {"name": "Быстрый", "email": "f@x.example"}, age=0)
    assert fast.status == 400 and "too fast" in fast.text
    old = post(site, base, slug, {"name": "Старый", "email": "o@x.example"}, age=2 * 24 * 3600)
    assert old.status == 400 and "expired" in old.text
    forged = WebClient(site[base]).request("POST", f"/f/{slug}", form={"t": "1.forged", "name": "Подделка",
                                                                       "email": "p@x.example"})
    assert forged.status == 400
    assert counts(site) == before                                    # nothing written by any of them
    statuses = [post(site, base, slug, {"name": f"Поток {i}", "email": f"flood{i}@x.example"}).status
                for i in range(7)]
    assert statuses[-1] == 429 and statuses.count(200) <= 5          # five from one address in ten minutes
    crm = open_as(site)
    made = crm.count("leads.lead" if base == "leads" else "core.partner") - before[
        "leads.lead" if base == "leads" else "core.partner"]
    crm.close()
    assert made == statuses.count(200)


# -- without the leads plugin: today's partner, contact information and interaction --------
def test_without_leads_a_form_creates_partner_contact_info_interaction_and_interest(site):
    channel, event = site["channel"], site["event"]
    assert 'id="err-source"' in publish(site, "plain", "plain-nosource", channel=channel.name).text
    r = publish(site, "plain", "plain-ok", channel=channel.name, source=f"marketing.event:{event.id}")
    assert r.status == 200, alerts(r)
    assert "Your name" not in WebClient(site["plain"]).get("/f/plain-ok").text
    before = counts(site)
    r = post(site, "plain", "plain-ok", {"name": "Петров Иван", "email": "petrov@lead.example", "phone": "",
                                         "message": "Нужны холодильники", "comment": "с сайта"})
    assert r.status == 200 and "Thank you" in r.text, alerts(r)
    assert counts(site)["leads.lead"] == before["leads.lead"]
    crm = open_as(site)
    partner = crm.find("core.partner", name="Петров Иван")[0]
    assert partner.comment == "с сайта" and partner.kind == "individual"
    assert [i.value for i in crm.find("core.contact_info", partner=partner.id)] == ["petrov@lead.example"]
    call = crm.find("core.interaction", partner=partner.id)[0]
    assert call.text == "Нужны холодильники" and call.responsible.login == "orlov"
    interest = crm.find("marketing.primary_interest", subject_type="core.partner", subject_id=partner.id)
    assert interest and interest[0].channel_id == channel.id
    crm.close()
    bad = post(site, "plain", "plain-ok", {"name": "", "email": "not an email"})
    assert bad.status == 422 and "field-error" in bad.text
    crm = open_as(site)
    assert crm.count("core.partner") == before["core.partner"] + 1
    crm.close()


def test_form_fields_must_be_ones_a_stranger_may_fill(site):
    r = publish(site, "plain", "plain-bad", fields="name,access_group,manager")
    assert r.status == 422 and 'id="err-fields"' in r.text
    crm = open_as(site)
    assert not crm.find("web.lead_form", slug="plain-bad")
    crm.close()
    assert WebClient(site["plain"]).get("/f/plain-bad").status == 404
    assert WebClient(site["plain"]).get("/e/web.lead_form/", follow=False).status == 302   # lists need a session
