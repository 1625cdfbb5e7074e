"""A status change tells the client through marketing's notification kind
and the outbox (email channel of notify_email). Claims work without them:
see test_claims_rules.py, which loads claims alone."""
import pytest

pytest.importorskip("crmkit_marketing")
pytest.importorskip("crmkit_notify_email")

from claims_fixtures import at, base, claim  # noqa: E402

pytestmark = pytest.mark.plugins("claims", "marketing", "notify_email")


def test_status_change_queues_the_clients_email(crm):
    from crmkit_claims import api
    from crmkit_claims.notify import ensure_notification_kind
    ids = base(crm)
    crm.create("core.contact_info", {"partner": ids["wholesale"], "kind": "email", "value": "Proton@Example.com"})
    record = claim(crm, ids)
    assert crm.outbox.messages() == []            # registering tells nobody: no kind yet, and no change
    api.set_status(crm, record.id, "in_work")
    assert crm.outbox.messages() == []            # the kind is not set up: nothing extra happens
    kind = ensure_notification_kind(crm)
    assert ensure_notification_kind(crm).id == kind.id
    api.set_status(crm, record.id, "satisfied", decision="Вернуть деньги", actual_end=at("2015-05-10T00:00:00"))
    messages = crm.outbox.messages()
    assert len(messages) == 1
    message = messages[0]
    assert (message.channel, message.recipient, message.partner_id) == ("email", "proton@example.com",
                                                                         ids["wholesale"])
    assert message.subject == f"Претензия {record.code}: Удовлетворена"
    assert "Здравствуйте, Протон!" in message.body_text
    assert "В работе → Удовлетворена" in message.body_text and "Решение: Вернуть деньги" in message.body_text
    # a second change is a second message, not deduplicated away
    api.set_status(crm, record.id, "in_work")
    assert len(crm.outbox.messages()) == 2


def test_a_refused_status_change_queues_nothing(crm):
    from crmkit_claims import api
    from crmkit_claims.notify import ensure_notification_kind
    from crmkit import ValidationError
    ids = base(crm)
    crm.create("core.contact_info", {"partner": ids["wholesale"], "kind": "email", "value": "proton@example.com"})
    ensure_notification_kind(crm)
    record = claim(crm, ids)
    api.add_stage(crm, record.id, "Экспертиза")
    with pytest.raises(ValidationError):
        api.set_status(crm, record.id, "not_satisfied")
    assert crm.outbox.messages() == []


def test_demo_sets_up_the_kind_and_notifies_clients_with_an_address(crm):
    crm.call_in_order("crmkit_load_demo", crm=crm)
    assert crm.get("marketing.notification_kind", "claims.status_changed").based_on == "claims.claim"
    # the demo's claims are 2015's history: loading them tells no client anything
    def told():
        return [m for m in crm.outbox.messages(limit=1000) if m.source.startswith("marketing.notification")]
    assert told() == []
    # a change made after the load is told: only Альтаир's contact Сидоров has an email among the
    # claims' clients (the demo's claims of Альтаир are closed: a new one is registered and moved)
    altair = crm.get("core.partner", "00-00000011")
    officer = crm.as_user("volkov")
    claim = officer.create("claims.claim", {"name": "Новая", "client": altair.id,
                                            "contact": crm.find("core.contact", name="Сидоров Иван Петрович")[0].id,
                                            "cause": crm.find("claims.cause")[0].id})
    officer.update("claims.claim", claim.id, {"status": "in_work"})
    assert [m.recipient for m in told()] == ["sidorov@altair.example"]   # the move to in work
