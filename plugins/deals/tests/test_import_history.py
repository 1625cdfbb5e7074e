"""A bulk import of deals writes what creating and moving them would have:
the same stage history with the file's dates, close moments, loss reasons."""
import datetime as dt
from decimal import Decimal

import pytest

from crmkit import ValidationError
from crmkit_deals import api
from crmkit_deals import models as m

pytestmark = pytest.mark.plugins("deals")
UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def utc_operator(monkeypatch):
    monkeypatch.setenv("CRMKIT_TZ", "UTC")


def history(deal_id):
    H = m.StageHistory
    return [(h.stage_id, h.status, h.passage, h.entered_at, h.left_at, h.days, h.user_id)
            for h in H.select().where(H.deal == deal_id).order_by(H.entered_at, H.id)]


def deal_fields(deal):
    return (deal.status, deal.stage_id, deal.start_date, deal.closed_at, deal.loss_reason_id, deal.probability,
            deal.potential)


# name, kind, stage, status, start, stage entered, closed, reason, probability
ROWS = [
    ("open at first", "manual", None, "in_work", "2015-03-01", "", "", "", "10"),
    ("open moved", "manual", "Исполнение", "in_work", "2015-03-01", "2015-03-04 12:00", "", "", "30"),
    ("won at first", "manual", None, "won", "2015-03-01", "", "2015-03-10 15:00", "", "100"),
    ("won moved", "manual", "Предложение", "won", "2015-03-02", "2015-03-05 09:30", "2015-03-20 18:00", "", "90"),
    ("lost moved", "manual", "Исполнение", "lost", "2015-04-01", "2015-04-03", "2015-04-09 10:00", "competitor", "0"),
    ("lost flat", "flat", None, "lost", "2015-04-02", "", "2015-04-05", "price", "0"),
    ("won by process", "process", "Исполнение", "won", "2015-05-01", "2015-05-11", "2015-05-21", "", "100"),
]


def _moment(text):
    if not text:
        return None
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC)


def write_file(path, world, rows=ROWS):
    lines = ["name,client,kind,stage,status,start_date,stage_entered_at,closed_at,loss_reason,probability,potential"]
    for name, kind, stage, status, start, entered, closed, reason, prob in rows:
        lines.append(",".join([name, str(world["acme"]), str(world[kind]), str(world[stage]) if stage else "",
                               status, start, entered, closed, str(world[reason]) if reason else "", prob,
                               "250.00"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def made_by_hand(crm, world, rows=ROWS):
    """The same deals created and moved through the API at the file's moments."""
    made = {}
    for name, kind, stage, status, start, entered, closed, reason, prob in rows:
        day = dt.date.fromisoformat(start)
        deal = api.create(crm, {"name": name, "client": world["acme"], "kind": world[kind],
                                "start_date": day, "probability": int(prob), "potential": Decimal("250.00")},
                          at=dt.datetime(day.year, day.month, day.day, tzinfo=UTC))
        if stage and entered:
            with crm.transaction():
                from crmkit_deals import context
                with context.acting(at=_moment(entered), process=True):
                    crm.update("deals.deal", deal.id, {"stage": world[stage]})
        if status == "won":
            api.win(crm, deal.id, at=_moment(closed))
        elif status == "lost":
            api.lose(crm, deal.id, world[reason], at=_moment(closed))
        made[name] = crm.get("deals.deal", deal.id)
    return made


def test_imported_deals_carry_the_history_creating_and_moving_would_write(crm, world, tmp_path):
    path = tmp_path / "deals.csv"
    write_file(path, world)
    summary = crm.import_file("deals.deal", path)
    assert summary["written"] == len(ROWS) and summary["rejected"] == 0
    imported = {d.name: d for d in crm.find("deals.deal")}
    by_hand = made_by_hand(crm, world)
    for name, deal in by_hand.items():
        mine = imported[name]
        assert deal_fields(mine) == deal_fields(deal), name
        assert history(mine.id) == history(deal.id), name
    # what the reports read: closed deals counted with their real dates
    won = imported["won moved"]
    assert won.closed_at == dt.datetime(2015, 3, 20, 18, 0, tzinfo=UTC)
    assert m.StageHistory.select().where(m.StageHistory.deal == won.id).count() == 3


def test_missing_dates_take_defaults_the_summary_names(crm, world, tmp_path):
    path = tmp_path / "deals.csv"
    rows = [("no start won", "manual", None, "won", "", "", "2015-06-10 10:00", "", "100"),
            ("no start moved", "manual", "Предложение", "in_work", "", "2015-06-01", "", "", "50")]
    write_file(path, world, rows)
    summary = crm.import_file("deals.deal", path)
    assert summary["defaults"] == {"start_date: the close date": 1, "start_date: the first date the file gives": 1}
    deals = {d.name: d for d in crm.find("deals.deal")}
    assert deals["no start won"].start_date == dt.date(2015, 6, 10)
    assert deals["no start moved"].start_date == dt.date(2015, 6, 1)
    first = history(deals["no start won"].id)[0]
    assert first[3] == dt.datetime(2015, 6, 10, tzinfo=UTC)       # never today


def test_the_operators_zone_reads_dates_without_an_offset(crm, world, tmp_path, monkeypatch):
    from zoneinfo import ZoneInfo
    crm.zone = ZoneInfo("Europe/Moscow")    # the acting user's zone
    path = tmp_path / "deals.csv"
    write_file(path, world, [("won", "manual", None, "won", "2015-03-01", "", "2015-03-10 15:00", "", "100")])
    crm.import_file("deals.deal", path)
    deal = crm.find("deals.deal")[0]
    assert deal.closed_at == dt.datetime(2015, 3, 10, 12, 0, tzinfo=UTC)
    assert history(deal.id)[0][3] == dt.datetime(2015, 2, 28, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize("row, field, message", [
    (("lost no reason", "manual", None, "lost", "2015-03-01", "", "2015-03-02", "", "0"), "loss_reason",
     "a lost deal needs a loss reason"),
    (("won no date", "manual", None, "won", "2015-03-01", "", "", "", "0"), "closed_at",
     "a won or lost deal needs the moment it was closed"),
    (("open closed", "manual", None, "in_work", "2015-03-01", "", "2015-03-02", "", "0"), "closed_at",
     "only a won or lost deal has a close moment"),
    (("closed early", "manual", None, "won", "2015-03-05", "", "2015-03-02", "", "0"), "closed_at",
     "is before the start date"),
    (("entered late", "manual", "Исполнение", "won", "2015-03-01", "2015-03-09", "2015-03-02", "", "0"),
     "stage_entered_at", "is after the close moment"),
    (("bad date", "manual", None, "won", "2015-03-01", "", "yesterday", "", "0"), "closed_at",
     "is not a date and time"),
    (("foreign stage", "manual", "Чужой этап", "in_work", "2015-03-01", "", "", "", "0"), "stage",
     "is not a stage of kind 'Вручную'"),
])
def test_a_bad_row_is_named_and_nothing_is_written(crm, world, tmp_path, row, field, message):
    path = tmp_path / "deals.csv"
    good = ("fine", "manual", None, "won", "2015-03-01", "", "2015-03-02", "", "100")
    write_file(path, world, [good, row])
    with pytest.raises(ValidationError) as exc:
        crm.import_file("deals.deal", path)
    assert exc.value.rows == {2: {field: [message]}}
    assert crm.count("deals.deal") == 0 and m.StageHistory.select().count() == 0


def test_the_cli_names_the_defaults_it_applied(crm, world, tmp_path, cli):
    path = tmp_path / "deals.csv"
    write_file(path, world, [("no start", "manual", None, "won", "", "", "2015-06-10 10:00", "", "100")])
    out = cli("import", "deals.deal", path).output
    assert "1 rows read, 1 written, 0 rejected" in out
    assert "default applied: start_date: the close date (1 rows)" in out


def test_a_restricted_user_imports_within_their_access(crm, world, tmp_path, open_crm):
    bob = open_crm(user="bob")          # sees the wholesale partner only
    shop = crm.get("core.partner", world["shop"])
    path = tmp_path / "deals.csv"
    path.write_text("name,client,kind,status,start_date,closed_at\n"
                    f"mine,{crm.get('core.partner', world['acme']).code},{world['manual']},won,2015-03-01,2015-03-05\n"
                    f"not mine,{shop.code},{world['manual']},won,2015-03-01,2015-03-05\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        bob.import_file("deals.deal", path)
    assert list(exc.value.rows) == [2] and "does not exist" in exc.value.rows[2]["client"][0]
    assert crm.count("deals.deal") == 0 and m.StageHistory.select().count() == 0
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n"
                    + path.read_text(encoding="utf-8").splitlines()[1] + "\n", encoding="utf-8")
    assert bob.import_file("deals.deal", path)["written"] == 1
    deal = crm.find("deals.deal")[0]
    assert deal.responsible_id == world["bob"] and history(deal.id)[-1][1] == "won"
