"""A file of stage history rows replaces its deals' history, checked for
consistency, all or nothing; passage and days come out as moves set them."""
import csv
import datetime as dt

import pytest

from crmkit import AccessDenied, ValidationError
from crmkit_deals import api
from crmkit_deals import models as m

from deals_testing import at, new_deal

pytestmark = pytest.mark.plugins("deals")


def history(deal_id):
    H = m.StageHistory
    return [(h.stage_id, h.status, h.passage, h.entered_at, h.left_at, h.days, h.user_id)
            for h in H.select().where(H.deal == deal_id).order_by(H.entered_at, H.id)]


def moved_deals(crm, world):
    a = new_deal(crm, world, "manual", name="A")
    api.move_to_stage(crm, a.id, "Исполнение", at=at((3, 3)))
    api.move_to_stage(crm, a.id, "previous", at=at((3, 4), 21))
    api.win(crm, a.id, at=at((3, 10)))
    b = new_deal(crm, world, "manual", name="B", when=(3, 2))
    api.lose(crm, b.id, "Высокая цена", at=at((3, 5)))
    api.reopen(crm, b.id, at=at((3, 6)))
    api.move_to_stage(crm, b.id, "Предложение", at=at((3, 7), 15))
    return [a.id, b.id]


def write_history_file(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["deal", "stage", "status", "entered_at", "left_at"])
        for deal, stage, status, entered, left in rows:
            out.writerow([deal, stage or "", status, entered.isoformat(), left.isoformat() if left else ""])


def rows_of(deal_ids):
    H = m.StageHistory
    return [(h.deal_id, h.stage_id, h.status, h.entered_at, h.left_at)
            for h in H.select().where(H.deal.in_(deal_ids)).order_by(H.deal, H.entered_at, H.id)]


def test_a_history_file_gives_the_history_moves_write(crm, world, tmp_path):
    ids = moved_deals(crm, world)
    before = {d: history(d) for d in ids}
    rows = rows_of(ids)
    rows.reverse()          # any order: rows are sorted per deal
    path = tmp_path / "history.csv"
    write_history_file(path, rows)
    summary = crm.import_file("deals.stage_history", path)
    assert summary["written"] == len(rows)
    for d in ids:
        assert history(d) == before[d], d
    assert {d: history(d) for d in ids} == before        # replaced, not added: the same passages and days
    assert any(h[5] is not None for h in before[ids[0]])  # the test compares real durations


@pytest.mark.parametrize("change, field, message", [
    (lambda r: r.__setitem__(1, (*r[1][:3], r[1][3], r[1][3] - dt.timedelta(hours=1))), "left_at",
     "is before entered_at"),
    (lambda r: r.__setitem__(2, (*r[2][:3], r[1][3] + dt.timedelta(hours=1), r[2][4])), "entered_at",
     "overlaps the deal's row 2 (it has not left its stage yet)"),
    (lambda r: r.__setitem__(3, (*r[3][:4], r[3][3] + dt.timedelta(days=1))), "left_at",
     "is the deal's last row in the file, which must be open (left_at empty; are the deal's rows together?)"),
    (lambda r: r.__setitem__(3, (*r[3][:2], "lost", *r[3][3:])), "status",
     "the deal is won now: its last row says lost"),
    (lambda r: r.__setitem__(1, (r[1][0], "Чужой этап", *r[1][2:])), "stage", "is not a stage of the deal's kind"),
])
def test_an_inconsistent_history_is_named_and_nothing_changes(crm, world, tmp_path, change, field, message):
    ids = moved_deals(crm, world)
    before = {d: history(d) for d in ids}
    rows = [list(r) for r in rows_of(ids[:1])]
    rows = [tuple(r) for r in rows]
    change(rows)
    rows = [(d, world[s] if isinstance(s, str) else s, *rest) for d, s, *rest in rows]
    path = tmp_path / "history.csv"
    write_history_file(path, rows)
    with pytest.raises(ValidationError) as exc:
        crm.import_file("deals.stage_history", path)
    problems = [(f, msg) for errs in exc.value.rows.values() for f, msgs in errs.items() for msg in msgs]
    assert (field, message) in problems
    assert {d: history(d) for d in ids} == before


def test_a_deal_without_an_open_row_and_a_second_open_row_are_named(crm, world, tmp_path):
    ids = moved_deals(crm, world)
    rows = rows_of(ids[:1])
    rows[1] = (*rows[1][:4], None)      # open in the middle
    write_history_file(tmp_path / "h.csv", rows)
    with pytest.raises(ValidationError) as exc:
        crm.import_file("deals.stage_history", tmp_path / "h.csv")
    assert exc.value.rows[2]["left_at"] == ["is empty but the deal has later rows: only its last row is open"]


def test_only_an_administrator_loads_history(crm, world, tmp_path, open_crm):
    ids = moved_deals(crm, world)
    before = history(ids[0])
    rows = rows_of(ids[:1])
    write_history_file(tmp_path / "h.csv", [(d, s, st, e + dt.timedelta(minutes=1), l) for d, s, st, e, l in rows])
    ann = open_crm(user="ann")
    with pytest.raises((AccessDenied, ValidationError)) as exc:
        ann.import_file("deals.stage_history", tmp_path / "h.csv")
    assert "administrator" in str(exc.value) or "may not" in str(exc.value)
    assert history(ids[0]) == before


def test_a_deals_rows_are_checked_together_whatever_the_chunk(crm, world, tmp_path):
    ids = moved_deals(crm, world)
    before = {d: history(d) for d in ids}
    rows = rows_of(ids)                 # sorted by deal: 4 + 4 rows
    write_history_file(tmp_path / "h.csv", rows)
    crm.import_file("deals.stage_history", tmp_path / "h.csv", chunk=3)    # chunks cut inside both deals
    assert {d: history(d) for d in ids} == before
    mixed = [rows[0], rows[4], *rows[1:4], *rows[5:]]                       # deal A, B, then A again
    write_history_file(tmp_path / "mixed.csv", mixed)
    with pytest.raises(ValidationError) as exc:
        crm.import_file("deals.stage_history", tmp_path / "mixed.csv", chunk=3)
    unclosed = ["is the deal's last row in the file, which must be open (left_at empty; are the deal's rows together?)"]
    assert exc.value.rows == {1: {"left_at": unclosed}, 2: {"left_at": unclosed}}
    assert {d: history(d) for d in ids} == before
