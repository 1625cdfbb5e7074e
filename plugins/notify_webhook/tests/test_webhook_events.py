"""Events: written in the transaction that caused them, for every entity,
deals, claims and declared plugin events; patterns; access; payloads."""
import json
import types

import peewee as pw
import pytest

import crmkit
from crmkit import AccessDenied, NotFound, ValidationError
from crmkit_notify_webhook import events

from webhook_fixtures import receiver, subscribe  # noqa: F401 (receiver: a fixture)

ENTITY = "notify_webhook.subscription"


def queued(crm):
    return [(msg.subject, json.loads(msg.body_text)) for msg in reversed(crm.outbox.messages(channel="webhook"))]


@pytest.mark.plugins("notify_webhook")
def test_created_updated_marked_deleted_of_a_record(crm, receiver):
    subscribe(crm, receiver, "core.partner.*")
    p = crm.create("core.partner", {"name": "Протон"})
    crm.update("core.partner", p.id, {"name": "Протон-2"})
    crm.mark_deleted("core.partner", p.id)
    crm.delete("core.partner", p.id)
    got = queued(crm)
    assert [name for name, _ in got] == ["core.partner.created", "core.partner.updated", "core.partner.updated",
                                         "core.partner.deleted"]
    assert got[1][1]["data"]["changes"] == {"name": {"old": "Протон", "new": "Протон-2"}}
    assert got[2][1]["data"]["changes"] == {"deletion_mark": {"old": False, "new": True}}
    assert got[3][1]["data"]["fields"]["name"] == "Протон-2" and got[3][1]["data"]["id"] == p.id
    assert crm.outbox.deliver(channel="webhook")["sent"] == 4 and receiver.all_valid()


@pytest.mark.plugins("notify_webhook")
def test_a_rolled_back_write_queues_no_event(crm, receiver):
    subscribe(crm, receiver, "*")
    with pytest.raises(RuntimeError):
        with crm.transaction():
            crm.create("core.partner", {"name": "Призрак"})
            raise RuntimeError("the caller gives up")
    with pytest.raises(ValidationError):
        crm.create("core.partner", {"name": ""})        # refused by validation: nothing at all
    assert queued(crm) == []
    assert crm.find("core.partner") == []


@pytest.mark.plugins("notify_webhook")
def test_a_failing_listener_after_ours_undoes_the_event_too(open_crm, receiver):
    spoiler = types.ModuleType("spoiler")
    spoiler.PLUGIN = crmkit.PluginMeta(name="spoiler", requires=("notify_webhook",))

    @crmkit.hookimpl(trylast=True)
    def crmkit_entity_saved(crm, entity, record, created, changes):
        if entity == "core.partner" and record.name == "bad":
            raise RuntimeError("refused by another plugin")

    spoiler.crmkit_entity_saved = crmkit_entity_saved
    crm = open_crm(extra=[spoiler])
    subscribe(crm, receiver, "core.partner.created")
    with pytest.raises(RuntimeError):
        crm.create("core.partner", {"name": "bad"})
    crm.create("core.partner", {"name": "good"})
    assert [body["data"]["fields"]["name"] for _, body in queued(crm)] == ["good"]


@pytest.mark.plugins("notify_webhook")
def test_patterns_choose_events_and_bad_ones_name_the_field(crm, receiver):
    subscribe(crm, receiver, "core.contact.created, *.deleted")
    p = crm.create("core.partner", {"name": "P"})
    crm.create("core.contact", {"partner": p.id, "name": "Кузнецов"})
    assert [name for name, _ in queued(crm)] == ["core.contact.created"]
    for bad in ("", "core.partner.exploded", "DROP TABLE", "nosuch.*"):
        with pytest.raises(ValidationError) as exc:
            crm.create(ENTITY, {"url": "https://example.com/h", "events": bad})
        assert "events" in exc.value.errors
    assert len(crm.find(ENTITY)) == 1
    sub = crm.create(ENTITY, {"url": "https://example.com/h", "events": "core.partner.created  core.task.*,"
                                                                         "core.partner.created"})
    assert sub.events == "core.partner.created, core.task.*"


@pytest.mark.plugins("notify_webhook")
def test_only_administrators_see_or_change_subscriptions(crm, receiver):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    sub = subscribe(crm, receiver, "core.partner.created")
    orlov = crm.as_user("orlov")
    assert orlov.find(ENTITY) == []
    with pytest.raises(NotFound):
        orlov.get(ENTITY, sub.id)
    with pytest.raises(AccessDenied):
        orlov.create(ENTITY, {"url": "https://example.com/h", "events": "*"})
    with pytest.raises(AccessDenied):
        orlov.update(ENTITY, sub.id, {"url": "https://evil.example/"})
    from crmkit_notify_webhook.subscriptions import add, rotate_secret
    with pytest.raises(AccessDenied):
        add(orlov, "https://example.com/h", "*")
    with pytest.raises(AccessDenied):
        rotate_secret(orlov, sub.id)


@pytest.mark.plugins("notify_webhook")
def test_the_secret_is_never_part_of_a_record_and_bookkeeping_is_read_only(crm, receiver):
    sub = subscribe(crm, receiver, "core.partner.created")
    assert "secret" not in sub._meta.fields
    for field in ("failure_count", "owner", "disabled_reason", "secret"):
        with pytest.raises(ValidationError) as exc:
            crm.update(ENTITY, sub.id, {field: "x"})
        assert field in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        crm.update(ENTITY, sub.id, {"url": "ftp://example.com/"})
    assert "only http and https" in str(exc.value.errors["url"])


def test_credential_fields_never_travel():
    class Account(pw.Model):
        login = pw.CharField()
        password_hash = pw.CharField()
        api_token = pw.CharField()
        secret = pw.CharField()

    record = Account(id=3, login="x", password_hash="h", api_token="t", secret="s")
    data = events.record_data(None, "x.account", record)
    assert data["fields"] == {"id": 3, "login": "x"}
    assert events.changes_data({"login": ("a", "b"), "password_hash": ("h1", "h2")}) == {
        "login": {"old": "a", "new": "b"}}


@pytest.mark.plugins("deals", "notify_webhook")
def test_deal_stage_won_lost_and_reopened(crm, receiver):
    from crmkit_deals import api
    subscribe(crm, receiver, "deals.deal.stage_changed, deals.deal.won, deals.deal.lost, deals.deal.reopened")
    partner = crm.create("core.partner", {"name": "P"}).id
    kind = crm.create("deals.kind", {"name": "K"}).id
    s1, s2 = (crm.create("deals.stage", {"name": n}).id for n in ("A", "B"))
    for s in (s1, s2):
        crm.create("deals.kind_stage", {"kind": kind, "stage": s})
    deal = crm.create("deals.deal", {"name": "D", "client": partner, "kind": kind})
    api.move_to_stage(crm, deal.id, "next")
    api.win(crm, deal.id)
    got = queued(crm)
    assert [name for name, _ in got] == ["deals.deal.stage_changed", "deals.deal.won"]
    assert (got[0][1]["data"]["old_stage"], got[0][1]["data"]["new_stage"]) == (s1, s2)
    assert got[1][1]["data"]["fields"]["status"] == "won" and got[1][1]["data"]["old_status"] == "in_work"
    assert crm.outbox.deliver(channel="webhook")["sent"] == 2 and receiver.all_valid()


@pytest.mark.plugins("claims", "notify_webhook")
def test_claim_status_changed(crm, receiver):
    subscribe(crm, receiver, "claims.claim.status_changed")
    client = crm.create("core.partner", {"name": "P"}).id
    cause = crm.create("claims.cause", {"name": "C"}).id
    claim = crm.create("claims.claim", {"name": "Срыв сроков", "client": client, "cause": cause})
    crm.update("claims.claim", claim.id, {"status": "in_work"})
    ((name, body),) = queued(crm)
    assert name == "claims.claim.status_changed"
    assert (body["data"]["old_status"], body["data"]["new_status"]) == ("registered", "in_work")
    assert body["data"]["code"] == claim.code


@pytest.mark.plugins("notify_webhook")
def test_a_plugin_declares_and_emits_its_own_event(open_crm, receiver):
    declarer = types.ModuleType("visits")
    declarer.PLUGIN = crmkit.PluginMeta(name="visits", requires=("notify_webhook",))

    @crmkit.hookimpl(optionalhook=True)
    def crmkit_register_webhook_events(register):
        register("visits.visit.confirmed", "a client confirmed a visit", "core.partner",
                 {"when": "the visit's moment"})

    declarer.crmkit_register_webhook_events = crmkit_register_webhook_events
    crm = open_crm(extra=[declarer])
    from crmkit_notify_webhook import emit
    subscribe(crm, receiver, "visits.*")
    p = crm.create("core.partner", {"name": "P"})
    with crm.transaction():
        assert emit(crm, "visits.visit.confirmed", p, "core.partner", {"when": "2026-12-01T10:00:00"}) == 1
    ((name, body),) = queued(crm)
    assert name == "visits.visit.confirmed" and body["data"]["when"] == "2026-12-01T10:00:00"
    assert "visits.visit.confirmed" in events.catalogue(crm)
    with pytest.raises(ValidationError, match="not a declared webhook event"):
        emit(crm, "visits.visit.undeclared", p, "core.partner")


@pytest.mark.plugins("notify_webhook")
def test_delivery_bookkeeping_raises_no_events_of_its_own(crm, receiver):
    subscribe(crm, receiver, "*")
    receiver.script = [{"status": 500}]
    crm.create("core.partner", {"name": "P"})
    crm.outbox.deliver(channel="webhook")
    assert [name for name, _ in queued(crm)] == ["core.partner.created"]


@pytest.mark.plugins("marketing", "notify_webhook")
def test_mailing_finished_once(open_crm, receiver):
    from crmkit import ChannelSpec, PluginMeta, hookimpl
    from crmkit_marketing import mailings
    from crmkit_marketing.api import subscribe as subscribe_to_group
    from crmkit_notify_webhook.events import emit
    mail = types.ModuleType("fake_mail")
    mail.PLUGIN = PluginMeta(name="fake_mail")
    mail.crmkit_register_channels = hookimpl(lambda register: register(ChannelSpec("email", lambda crm, m: None)))
    crm = open_crm(extra=[mail])
    subscribe(crm, receiver, "marketing.mailing.finished")
    group = crm.create("marketing.mailing_group", {"name": "G", "mode": "subscription"})
    template = crm.create("marketing.template", {"name": "T", "purpose": "mailing", "group": group.id,
                                                 "subject": "S", "body_text": "B"})
    for name in ("A", "B"):
        pid = crm.create("core.partner", {"name": name}).id
        crm.create("core.contact_info", {"partner": pid, "kind": "email", "value": f"{name}@x.example"})
        subscribe_to_group(crm, group.id, "email", partner=pid, method="web form")
    mailing = crm.create("marketing.mailing", {"name": "M", "group": group.id, "template": template.id,
                                               "audience": "subscribers"})
    mailings.send(crm, mailing.id)
    assert queued(crm) == []
    crm.outbox.deliver(channel="email")
    ((name, body),) = queued(crm)
    assert name == "marketing.mailing.finished"
    assert body["data"]["counts"] == {"recipients": 2, "sent": 2, "failed": 0, "skipped": 0}
    assert body["data"]["id"] == mailing.id
    # noticed again (a second worker): nothing new is queued
    emit(crm, "marketing.mailing.finished", mailing, "marketing.mailing", {"counts": {}},
         key=f"marketing.mailing.finished:{mailing.id}")
    assert len(queued(crm)) == 1
    assert crm.outbox.deliver(channel="webhook")["sent"] == 1 and receiver.all_valid()
