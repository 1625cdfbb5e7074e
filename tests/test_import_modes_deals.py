"""An update import of deals changes what a deal's edit may change and
leaves what its stage history holds to the moves that write it."""
import pytest

from crmkit import ValidationError
from crmkit_deals import models as m

pytestmark = pytest.mark.plugins("deals")

HEAD = "code,name,client,kind,stage,status,start_date,stage_entered_at,closed_at,loss_reason,potential,currency\n"


@pytest.fixture(autouse=True)
def utc_operator(monkeypatch):
    monkeypatch.setenv("CRMKIT_TZ", "UTC")


@pytest.fixture
def base(crm):
    crm.create("core.partner", {"name": "Акме", "code": "C-1"})
    stages = [crm.create("deals.stage", {"name": name}).id for name in ("Контакт", "Исполнение")]
    kind = crm.create("deals.kind", {"name": "Вручную", "process": "manual"})
    for stage in stages:
        crm.create("deals.kind_stage", {"kind": kind.id, "stage": stage})
    crm.create("deals.loss_reason", {"name": "Цена"})


def rows(*lines):
    return HEAD + "".join(line + "\n" for line in lines)


OPEN = "D-1,Поставка,C-1,Вручную,Исполнение,in_work,2015-03-01,2015-03-04 12:00,,,100.00,USD"
LOST = "D-2,Ремонт,C-1,Вручную,Контакт,lost,2015-03-02,,2015-03-09 10:00,Цена,50.00,USD"


def history(crm):
    H = m.StageHistory
    return sorted((h.deal_id, h.stage_id, h.status, h.passage, str(h.entered_at), str(h.left_at))
                  for h in H.select())


def test_the_same_deals_file_again_updates_nothing_and_an_edit_is_written(crm, base, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(rows(OPEN, LOST), encoding="utf-8")
    assert crm.import_file("deals.deal", path)["written"] == 2
    before = history(crm)
    same = crm.import_file("deals.deal", path, mode="upsert")
    assert (same["inserted"], same["updated"], same["unchanged"]) == (0, 0, 2)
    path.write_text(rows(OPEN.replace("100.00", "120.00"), LOST,
                         "D-3,Новая,C-1,Вручную,,in_work,2015-04-01,,,,10.00,USD"), encoding="utf-8")
    summary = crm.import_file("deals.deal", path, mode="upsert")
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (1, 1, 1)
    assert str(crm.get("deals.deal", "D-1").potential) == "120.00"
    new = crm.get("deals.deal", "D-3")
    assert [h[:3] for h in history(crm) if h[0] == new.id] == [(new.id, m.Stage.get(m.Stage.name == "Контакт").id,
                                                                "in_work")]
    assert [h for h in history(crm) if h[0] != new.id] == before       # the updated deal's history as it was


def test_a_status_stage_or_close_moment_an_update_would_change_is_refused(crm, base, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(rows(OPEN, LOST), encoding="utf-8")
    crm.import_file("deals.deal", path)
    path.write_text(rows(OPEN.replace("in_work,", "won,").replace(",,,100.00", ",2015-03-20,,100.00"),
                         LOST.replace("2015-03-09 10:00", "2015-03-10 10:00")), encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("deals.deal", path, mode="update")
    assert set(exc.value.rows[1]) == {"status", "closed_at"} and set(exc.value.rows[2]) == {"closed_at"}
    assert "moving the deal" in exc.value.rows[1]["status"][0]
    assert crm.get("deals.deal", "D-1").status == "in_work"
    assert crm.get("deals.deal", "D-2").closed_at.day == 9


def test_stage_history_is_not_updated_row_by_row(crm, base, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(rows(OPEN), encoding="utf-8")
    crm.import_file("deals.deal", path)
    row = m.StageHistory.select().first()
    history_file = tmp_path / "h.csv"
    history_file.write_text(f"id,deal,stage,status,entered_at\n{row.id},D-1,Контакт,in_work,2015-03-01\n",
                            encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        crm.import_file("deals.stage_history", history_file, mode="update", key="id")
    assert "imported whole" in str(exc.value.rows)
