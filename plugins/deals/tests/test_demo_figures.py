"""The presentation's 2015 figures, from core's and this plugin's demo."""
from decimal import Decimal as D

import pytest

pytestmark = pytest.mark.plugins("deals")
YEAR = {"date_from": "2015-01-01", "date_to": "2015-12-31"}


@pytest.fixture
def demo(crm):
    crm.call_in_order("crmkit_load_demo", crm=crm)
    return crm


def rows(frame):
    return [tuple(r) for r in frame.itertuples(index=False)]


def test_presentation_figures(demo):
    check_efficiency_by_status(demo)
    check_efficiency_in_work_and_won_detail(demo)
    check_efficiency_lost_by_responsible(demo)
    check_loss_reasons(demo)
    check_funnel_of_the_same_deals(demo)
    check_first_contact_task_of_the_new_deal(demo)
    check_deal_card_of_the_presentation(demo)
    check_as_of_a_past_date(demo)
    check_plan_and_actual(demo)
    check_russian_rendering(demo)


def check_efficiency_by_status(demo):
    result = demo.report("deals.efficiency", **YEAR)
    assert rows(result["By status"]) == [("In work", 3, D("15000.00")), ("Won", 3, D("2654.10")),
                                         ("Lost", 1, D("707.76"))]


def check_efficiency_in_work_and_won_detail(demo):
    frame = demo.report("deals.efficiency", **YEAR)["Deals in work and won"]
    fed, laz, orl = "Федоров Борис Михайлович", "Лазуренко Илья Николаевич", "Орлов Александр Владимирович"
    got = [(r[0], r[1], r[2], r[3], r[4], r[5], r[7], r[9]) for r in rows(frame)]
    assert got == [
        (0, "Долгосрочные проекты", "", 2, D("66.67"), D("15000.00"), 0, D("0.00")),
        (1, 'Продажа товаров в магазины сети "Все для дома"', fed, 1, D("50.00"), D("10000.00"), 0, D("0.00")),
        (2, "Все для дома Магазин", "Сетевые магазины (комиссия)", 1, D("100.00"), D("10000.00"), 0, D("0.00")),
        (1, 'Продажа товаров в магазины сети Торговый дом "Сигма"', fed, 1, D("50.00"), D("5000.00"), 0, D("0.00")),
        (2, 'Торговый дом "Сигма"', "Дистрибьюторское (обувь)", 1, D("100.00"), D("5000.00"), 0, D("0.00")),
        (0, "Обособленный учет по сделкам", "", 0, None, D("0.00"), 1, D("884.70")),
        (1, "Продажа пылесосов", laz, 0, None, D("0.00"), 1, D("884.70")),
        (2, "Альтаир", "Оптовые продажи (предоплата)", 0, None, D("0.00"), 1, D("884.70")),
        (0, "Произвольная продажа", "", 0, None, D("0.00"), 1, D("884.70")),
        (1, "Покупка кондиционеров", fed, 0, None, D("0.00"), 0, D("0.00")),
        (2, "Видео маркет", "Видео маркет", 0, None, D("0.00"), 0, D("0.00")),
        (1, "Продажа вентиляторов", fed, 0, None, D("0.00"), 1, D("884.70")),
        (2, "Ассоль", "Оптовое (кредит)", 0, None, D("0.00"), 1, D("884.70")),
        (0, "Типовая продажа", "", 1, D("33.33"), D("0.00"), 1, D("884.70")),
        (1, "Продажа телевизоров", fed, 0, None, D("0.00"), 1, D("884.70")),
        (2, "Протон", "Оптовые продажи (предоплата)", 0, None, D("0.00"), 1, D("884.70")),
        (1, "что-то продаём", orl, 1, D("100.00"), D("0.00"), 0, D("0.00")),
        (2, "Альтаир", "ДС Продажи инструментов", 1, D("100.00"), D("0.00"), 0, D("0.00")),
    ]
    won_shares = [r[8] for r in rows(frame) if r[0] == 0]
    assert won_shares == [None, D("33.33"), D("33.33"), D("33.33")]


def check_efficiency_lost_by_responsible(demo):
    frame = demo.report("deals.efficiency", **YEAR)["Lost deals"]
    assert rows(frame) == [
        (0, "Федоров Борис Михайлович", "", 1, D("100.00"), D("707.76"), D("100.00")),
        (1, "Произвольная продажа", "", 1, D("100.00"), D("707.76"), D("100.00")),
        (2, "Покупка кондиционеров", "", 1, D("100.00"), D("707.76"), D("100.00")),
        (3, "Видео маркет", "Видео маркет", 1, D("100.00"), D("707.76"), D("100.00"))]


def check_loss_reasons(demo):
    frame = demo.report("deals.loss_reasons", reason="Проигрыш конкуренту", **YEAR).frame
    assert rows(frame) == [("Проигрыш конкуренту", 1, D("707.76")), ("Total", 1, D("707.76"))]


def check_funnel_of_the_same_deals(demo):
    frame = demo.report("deals.funnel", **YEAR)["Sales funnel"]
    assert rows(frame) == [
        ("Первичный контакт", 1, D("0.00"), 2, D("1769.40"), 1, D("707.76"), D("8.50"), D("12.63"), D("0.25")),
        ("Квалификация клиента", 0, D("0.00"), 2, D("1769.40"), 0, D("0.00"), D("3.00"), D("3.00"), None),
        ("Формирование предложения", 0, D("0.00"), 2, D("1769.40"), 0, D("0.00"), D("4.00"), D("4.00"), None),
        ("Презентация", 0, D("0.00"), 1, D("884.70"), 0, D("0.00"), D("3.00"), D("3.00"), None),
        ("Согласование условий", 0, D("0.00"), 1, D("884.70"), 0, D("0.00"), D("2.00"), D("2.00"), None),
        ("Подготовка к выполнению обязательств", 0, D("0.00"), 1, D("884.70"), 0, D("0.00"), D("2.00"), D("2.00"),
         None),
        ("Выполнение обязательств", 0, D("0.00"), 2, D("1769.40"), 0, D("0.00"), D("4.00"), D("4.00"), None)]


def check_first_contact_task_of_the_new_deal(demo):
    task = demo.find("core.task", route_point="Отразить первичный контакт", state="active")
    assert [(t.title, t.performer.login, t.due.isoformat()) for t in task] == [
        ("Отразить первичный контакт по сделке что-то продаём", "orlov", "2015-10-21T14:55:57+00:00")]


def check_deal_card_of_the_presentation(demo):
    deal = demo.get("deals.deal", "00-00000003")
    assert (deal.name, deal.client.name, deal.agreement.name, deal.responsible.name, str(deal.start_date),
            str(deal.end_date), deal.potential, deal.currency, deal.probability, deal.status, deal.kind.name,
            deal.stage.name) == (
        "Продажа телевизоров", "Протон", "Оптовые продажи (предоплата)", "Федоров Борис Михайлович",
        "2015-03-03", "2015-04-06", D("884.70"), "USD", 80, "won", "Типовая продажа", "Выполнение обязательств")


def check_russian_rendering(demo):
    demo.lang = "ru"     # values (statuses, "Итого") are worded when the report is built
    text = demo.report("deals.efficiency", **YEAR).render("table", lang="ru")
    assert "Эффективность сделок" in text and "Сделки в работе и выигранные" in text
    assert "В работе" in text and "15 000,00" in text and "2 654,10" in text and "707,76" in text
    assert "Вид сделки / Сделка / Клиент" in text and "66,67" in text
    text = demo.report("deals.loss_reasons", **YEAR).render("table", lang="ru")
    assert "Причина проигрыша сделки" in text and "Количество проигранных сделок" in text and "Итого" in text
    html = demo.report("deals.funnel", **YEAR).render("html", lang="ru")
    assert "Воронка продаж" in html and "<polygon" in html and "Количество этапов сделок в работе" in html


def check_as_of_a_past_date(demo):
    """On 1 April 2015 the televisions were still in work, the conditioners not yet started."""
    result = demo.report("deals.efficiency", as_of="2015-04-01T12:00:00+03:00", **YEAR)
    assert rows(result["By status"]) == [("In work", 1, D("884.70")), ("Won", 2, D("1769.40")),
                                         ("Lost", 0, D("0.00"))]
    funnel = demo.report("deals.funnel", as_of="2015-04-01T12:00:00+03:00", **YEAR)["Sales funnel"]
    got = {r[0]: r[1:] for r in rows(funnel)}
    # the televisions (in work) and the fans (won) had passed the first contact: (17 + 8.25) / 2 days
    # (won: the fans, 8.25 days; the televisions count as in work then)
    assert got["Первичный контакт"] == (1, D("884.70"), 1, D("884.70"), 0, D("0.00"), D("12.63"), D("8.25"), None)
    assert got["Согласование условий"] == (1, D("884.70"), 0, D("0.00"), 0, D("0.00"), D("2.00"), None, None)
    assert got["Подготовка к выполнению обязательств"] == (1, D("884.70"), 0, D("0.00"), 0, D("0.00"), None, None,
                                                            None)
    assert "Выполнение обязательств" in got and got["Выполнение обязательств"][2] == 1   # the fans


def check_plan_and_actual(demo):
    frame = demo.report("deals.plan_actual", **YEAR)["Plan and actual"]
    assert [(r[0], r[1], r[5], r[6], r[7], r[8], r[9], r[12], r[13]) for r in rows(frame)] == [
        ("Q1 2015", "Лазуренко Илья Николаевич", D("1000.00"), D("884.70"), D("88.47"), None, 1,
         D("884.70"), D("88.47")),
        ("Q1 2015", "Федоров Борис Михайлович", D("2000.00"), D("884.70"), D("44.24"), 2, 1,
         D("884.70"), D("44.24")),
        ("Q2 2015", "(any)", None, D("884.70"), None, 2, 1, D("884.70"), None),
        ("Q4 2015", "Федоров Борис Михайлович", D("15000.00"), D("0.00"), D("0.00"), None, 0,
         D("7000.00"), D("46.67"))]
    assert rows(frame)[2][2] == "Отдел продаж"
