"""``crmkit marketing ...`` commands."""
import pytest

pytestmark = pytest.mark.plugins("marketing")


def test_marketing_cli(crm, cli):
    partner = crm.create("core.partner", {"name": "Дальстрой", "code": "00-00000035"})
    crm.create("core.contact_info", {"partner": partner.id, "kind": "email", "value": "info@dalstroy.example"})
    assert cli("marketing", "channel", "add", "Выставки", "event").exit_code == 0
    assert cli("marketing", "channel", "add", "Сеть магазинов", "partner").exit_code == 0
    out = cli("marketing", "event", "add", "name=Выставка", "planned_start=2015-04-15", "budget_planned=150000")
    assert out.exit_code == 0 and "00-00000001" in out.output
    assert cli("marketing", "event", "participant", "00-00000001", "00-00000035").exit_code == 0
    assert "Дальстрой" in cli("marketing", "event", "show", "00-00000001").output
    out = cli("marketing", "interest", "set", f"core.partner:{partner.id}", "Выставки", "marketing.event:1")
    assert out.exit_code == 0, out.output
    bad = cli("marketing", "interest", "set", f"core.partner:{partner.id}", "Сеть магазинов", "marketing.event:1")
    assert bad.exit_code == 1 and "source" in bad.output
    assert "Выставка" in cli("marketing", "interest", "show", f"core.partner:{partner.id}").output
    assert cli("marketing", "group", "add", "name=Юбилей").exit_code == 0
    tpl = crm.create("marketing.template", {"name": "Приглашение", "purpose": "mailing", "group": 1,
                                            "subject": "Привет, #ПредставлениеПартнера#", "body_text": "Текст"})
    out = cli("marketing", "template", "preview", str(tpl.id), "--partner", "00-00000035")
    assert "Subject: Привет, Дальстрой" in out.output
    assert cli("marketing", "subscribe", "Юбилей", "--partner", "00-00000035", "--method", "web form").exit_code == 0
    out = cli("marketing", "mailing", "create", "name=Приглашение", "group=1", f"template={tpl.id}",
              "audience=subscribers")
    assert out.exit_code == 0
    assert "info@dalstroy.example" in cli("marketing", "mailing", "preview", "1").output
    send = cli("marketing", "mailing", "send", "1")
    assert send.exit_code == 1 and "not installed" in send.output
    assert cli("marketing", "opt-out", "--partner", "00-00000035", "--group", "Юбилей").exit_code == 0
    out = cli("marketing", "consents", "--format", "json")
    assert '"opt_out"' in out.output and '"consent"' in out.output
    assert "opted out" in cli("marketing", "mailing", "preview", "1").output
    assert cli("marketing", "unsubscribe", "abc.def").exit_code == 1
    assert cli("report", "run", "marketing.primary_interest").exit_code == 0
