"""The presentation's eleven claims and every report's figures on them."""
import datetime as dt
from decimal import Decimal

import pytest

pytestmark = pytest.mark.plugins("claims")

MSK = dt.timezone(dt.timedelta(hours=3))
# The presentation's claim list, as its columns show it (cut where the
# screen cuts): registration date, end date, status, name.
PRESENTATION = """\
06.04.2015 0:00:00	06.05.2015 1	Удовлетворена	Претензии по обслуживанию
03.04.2015 12:18	30.04.2015 1	Удовлетворена	Претензии по обслуживанию
04.05.2015 0:00:00	12.05.2015 1	Не удовлетворена	Претензия по качеству товара
11.04.2015 12:31:	14.04.2015 1	Удовлетворена	Претензия по качеству товара
02.04.2015 18:04	12.04.2015 1	Не удовлетворена	Претензия по качеству товара
12.05.2015 18:05		Зарегистрирована	Претензия по качеству товара
01.05.2015 0:00:00	10.05.2015 0	Удовлетворена	Претензия по качеству товара
02.04.2015 8:11:01	12.04.2015 1	Удовлетворена	Претензия по качеству товара
02.05.2015 18:11:	12.05.2015 1	Не удовлетворена	Претензия по качеству товара
02.05.2015 18:02	05.05.2015 1	Удовлетворена	Срыв сроков поставки
10.03.2015 18:07	20.03.2015 1	Удовлетворена	Срыв сроков поставки"""
AT = "2015-06-01T00:00:00+03:00"


def _shown(moment):
    """A moment as 1C shows it in Moscow time: 2.04.2015 → 02.04.2015 8:11:01."""
    if moment is None:
        return ""
    local = moment.astimezone(MSK)
    return f"{local:%d.%m.%Y} {local.hour}:{local:%M:%S}"


@pytest.fixture
def demo(crm):
    crm.call_in_order("crmkit_load_demo", crm=crm)
    return crm


def check_the_claim_list_is_the_presentations(demo):
    from crmkit import translate
    frame = demo.as_user("volkov").report("claims.register").frame
    assert len(frame) == 11
    for row, line in zip(frame.itertuples(), PRESENTATION.splitlines()):
        registered, ended, status, name = line.split("\t")
        assert _shown(row.registered_at).startswith(registered)
        assert _shown(row.end_date).startswith(ended) and bool(ended) == (row.end_date is not None)
        assert translate(row.status, "ru", context="claims.claim") == status and row.name == name
    assert list(frame["status"]) == ["satisfied", "satisfied", "not_satisfied", "satisfied", "not_satisfied",
                                     "registered", "satisfied", "satisfied", "not_satisfied", "satisfied",
                                     "satisfied"]


def check_the_claim_form_of_alkhimov(demo):
    claim = demo.find("claims.claim", client=demo.get("core.partner", "00-00000020").id)
    assert len(claim) == 1
    claim = claim[0]
    assert (claim.name, claim.description, claim.status) == (
        "Претензия по качеству товара", "Претензия от клиента по качеству товара.", "not_satisfied")
    assert claim.cause.name == "Испорченный товар"
    assert claim.responsible.name == "Волков Андрей Иванович"
    assert claim.guilty_department.name == "Отдел закупок торгового направления"
    assert claim.guilty_employee.name == "Петров Станислав Игоревич"
    assert claim.registered_at == dt.datetime(2015, 5, 4, 0, 0, tzinfo=MSK)
    assert claim.actual_end == dt.datetime(2015, 5, 12, 18, 0, 9, tzinfo=MSK)
    history = [(h.old_status, h.new_status, h.login, h.at) for h in demo.find("claims.status_change", claim=claim.id)]
    assert history == [(None, "registered", "volkov", claim.registered_at),
                       ("registered", "in_work", "volkov", claim.registered_at + dt.timedelta(hours=1)),
                       ("in_work", "not_satisfied", "volkov", claim.actual_end)]
    stages = demo.find("claims.stage", claim=claim.id, order_by="position")
    assert [(s.position, s.title, s.done) for s in stages] == [
        (1, "Проверка обоснованности претензии", True), (2, "Подготовка ответа клиенту", True)]


def check_the_open_claim_has_a_task_and_is_overdue_then(demo):
    from crmkit_claims import api
    open_claims = demo.find("claims.claim", status="registered")
    assert [c.client.name for c in open_claims] == ["Сатурн"]
    stage = demo.find("claims.stage", claim=open_claims[0].id)[0]
    assert stage.task.performer.login == "volkov" and stage.task.subject_id == open_claims[0].id
    assert api.overdue(demo, dt.datetime(2015, 5, 22, 17, 0, tzinfo=MSK)) == []
    assert [c.id for c in api.overdue(demo, dt.datetime.fromisoformat(AT))] == [open_claims[0].id]


def _rows(frame, *columns):
    return [tuple(r) for r in frame[list(columns)].itertuples(index=False)]


def check_by_cause(demo):
    result = demo.report("claims.by_cause")
    assert _rows(result.frame, "cause", "claims", "open", "satisfied", "partly_satisfied", "not_satisfied",
                 "satisfied_share") == [
        ("Брак производителя", 3, 1, 1, 0, 1, 50.0),
        ("Испорченный товар", 4, 0, 2, 0, 2, 50.0),
        ("Некачественное обслуживание", 2, 0, 2, 0, 0, 100.0),
        ("Срыв сроков поставки", 2, 0, 2, 0, 0, 100.0)]
    assert _rows(result["compensation"], "cause", "currency", "compensation", "compensated") == [
        ("Брак производителя", "RUB", Decimal("15000.00"), 1),
        ("Испорченный товар", "RUB", Decimal("20990.50"), 2),
        ("Некачественное обслуживание", "RUB", Decimal("7500.00"), 2),
        ("Срыв сроков поставки", "RUB", Decimal("10000.00"), 2)]


def check_by_department(demo):
    result = demo.report("claims.by_department")
    assert _rows(result.frame, "guilty_department", "claims", "open", "satisfied", "not_satisfied") == [
        ("(not set)", 1, 1, 0, 0),
        ("Отдел закупок торгового направления", 4, 0, 1, 3),
        ("Отдел продаж", 2, 0, 2, 0),
        ("Склад", 2, 0, 2, 0),
        ("Служба доставки", 2, 0, 2, 0)]
    assert list(result.frame["satisfied_share"].fillna(-1)) == [-1, 25.0, 100.0, 100.0, 100.0]
    assert _rows(result["compensation"], "guilty_department", "compensation") == [
        ("Отдел закупок торгового направления", Decimal("15000.00")),
        ("Отдел продаж", Decimal("7500.00")),
        ("Склад", Decimal("20990.50")),
        ("Служба доставки", Decimal("10000.00"))]


def check_by_employee(demo):
    result = demo.report("claims.by_employee")
    assert _rows(result.frame, "guilty_employee", "claims", "open", "satisfied", "not_satisfied",
                 "satisfied_share") == [
        ("(not set)", 5, 1, 4, 0, 100.0),
        ("Лазуренко Илья Николаевич", 1, 0, 1, 0, 100.0),
        ("Петров Станислав Игоревич", 4, 0, 1, 3, 25.0),
        ("Федоров Борис Михайлович", 1, 0, 1, 0, 100.0)]
    assert _rows(result["compensation"], "guilty_employee", "compensation", "compensated") == [
        ("(not set)", Decimal("30990.50"), 4),
        ("Лазуренко Илья Николаевич", Decimal("2500.00"), 1),
        ("Петров Станислав Игоревич", Decimal("15000.00"), 1),
        ("Федоров Борис Михайлович", Decimal("5000.00"), 1)]


def check_resolution(demo):
    # days to close: обслуживание 30.5, 27; качество 8.75 (+9 s), 3, 10, 9, 10.25, 10; срыв 2.75, 9.75
    result = demo.report("claims.resolution", at=AT)
    assert _rows(result["by cause"], "cause", "claims", "closed", "overdue", "closed_late", "avg_days",
                 "p90_days") == [
        ("Брак производителя", 3, 2, 1, 1, 10.12, 10.22),       # 10, 10.25; one open past 22.05
        ("Испорченный товар", 4, 4, 0, 1, 7.69, 9.7),           # 8.75, 3, 9, 10
        ("Некачественное обслуживание", 2, 2, 0, 2, 28.75, 30.15),
        ("Срыв сроков поставки", 2, 2, 0, 0, 6.25, 9.05)]
    assert _rows(result["by responsible"], "responsible", "claims", "closed", "overdue", "closed_late",
                 "avg_days", "p90_days") == [
        ("Волков Андрей Иванович", 9, 8, 1, 2, 7.94, 10.07),
        ("Орлов Александр Владимирович", 2, 2, 0, 2, 28.75, 30.15)]
    assert _rows(result["total"], "claims", "closed", "overdue", "closed_late", "avg_days", "p90_days") == [
        (11, 10, 1, 4, 12.1, 27.35)]
    before = demo.report("claims.resolution", at="2015-05-20T00:00:00+03:00")
    assert before["total"]["overdue"].tolist() == [0]


def check_access_narrows_every_report(demo):
    lazurenko = demo.as_user("lazurenko")       # wholesale buyers only: not Алхимов А.А.
    names = lazurenko.report("claims.register").frame["client"].tolist()
    assert len(names) == 10 and "Алхимов А.А." not in names
    assert lazurenko.report("claims.by_employee").frame.set_index("guilty_employee")["claims"][
        "Петров Станислав Игоревич"] == 3
    assert lazurenko.report("claims.resolution", at=AT)["total"]["closed"].tolist() == [9]
    petrov = demo.as_user("petrov_s")           # no access group
    assert petrov.report("claims.register").frame.empty
    assert petrov.report("claims.by_cause").frame.empty
    assert petrov.find("claims.status_change") == []


def check_every_report_renders_in_russian(demo):
    from crmkit import translate
    demo.lang = "ru"
    for report_id in ("claims.register", "claims.by_cause", "claims.by_department", "claims.by_employee",
                      "claims.resolution"):
        result = demo.report(report_id, **({"at": AT} if report_id == "claims.resolution" else {}))
        text = result.render("table")
        title = translate(result.spec.title, "ru", context=report_id)
        assert title in text and title != result.spec.title
        for name, frame in result.sections.items():
            untranslated = [c for c in frame.columns if translate(c, "ru", context=report_id) == c]
            assert untranslated == [], (report_id, name)
    register = demo.report("claims.register").render("table")
    assert "Не удовлетворена" in register and "Дата регистрации" in register
    assert "Претензии клиентов" in demo.report("claims.register").render("html")


# The demo load dominates the time of these tests: a few tests, each
# checking several things on one load.
def test_the_list_the_form_and_the_open_claim(demo):
    check_the_claim_list_is_the_presentations(demo)
    demo.lang = "en"
    check_the_claim_form_of_alkhimov(demo)
    check_the_open_claim_has_a_task_and_is_overdue_then(demo)


def test_breakdown_reports(demo):
    check_by_cause(demo)
    check_by_department(demo)
    check_by_employee(demo)


def test_resolution_access_and_russian(demo):
    check_resolution(demo)
    check_access_narrows_every_report(demo)
    check_every_report_renders_in_russian(demo)
