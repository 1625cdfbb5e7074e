"""A stage a deal has passed cannot be deleted while its history stands; the
database finds those history rows by an index on the stage (migration 0006),
and the history's indexes are no more than before (no write cost added)."""
import pytest

from crmkit import ValidationError
from crmkit.kernel.db import is_sqlite
from crmkit_deals import api
from crmkit_deals import models as m

from deals_testing import at, new_deal

pytestmark = pytest.mark.plugins("deals")


def _indexes(crm):
    """``{name: columns}`` of the stage history's indexes (the key's aside)."""
    if is_sqlite(crm.db):
        names = [r[1] for r in crm.db.execute_sql("PRAGMA index_list('deals_stage_history')").fetchall()
                 if r[3] == "c"]
        return {n: tuple(r[2] for r in crm.db.execute_sql(f"PRAGMA index_info('{n}')").fetchall()) for n in names}
    rows = crm.db.execute_sql(
        "SELECT i.relname, array_agg(a.attname ORDER BY k.n) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE t.relname = 'deals_stage_history' AND NOT x.indisprimary GROUP BY i.relname").fetchall()
    return {name: tuple(cols) for name, cols in rows}


def test_the_history_has_an_index_led_by_the_stage_and_no_more_indexes(crm):
    indexes = _indexes(crm)
    assert sorted(indexes.values()) == sorted([("deal_id", "passage", "stage_id", "days", "left_at"),
                                               ("left_at", "deal_id", "status"), ("stage_id",), ("user_id",)])
    if is_sqlite(crm.db):   # the look-up the foreign-key check of a deleted stage makes
        plan = " ".join(str(r[-1]) for r in crm.db.execute_sql(
            "EXPLAIN QUERY PLAN SELECT 1 FROM deals_stage_history WHERE stage_id = ?", (1,)).fetchall())
        assert "deals_stage_history_stage_id" in plan, plan
    else:
        with crm.transaction():
            crm.db.execute_sql("SET LOCAL enable_seqscan = off")   # an empty table: any index would do
            plan = " ".join(r[0] for r in crm.db.execute_sql(
                "EXPLAIN SELECT 1 FROM ONLY deals_stage_history x WHERE 1 = stage_id FOR KEY SHARE OF x").fetchall())
        assert "deals_stage_history_stage_id" in plan, plan


def test_a_stage_in_the_history_is_refused_until_its_deals_go(crm, world):
    trial = crm.create("deals.stage", {"name": "Пробный"}).id
    crm.create("deals.kind_stage", {"kind": world["manual"], "stage": trial, "sequence": 9})
    deal = new_deal(crm, world, "manual")
    api.move_to_stage(crm, deal.id, trial, at=at((3, 2)))
    api.move_to_stage(crm, deal.id, "Контакт", at=at((3, 3)))
    m.KindStage.delete().where(m.KindStage.stage == trial).execute()    # no route, no deal there: history only
    assert m.StageHistory.select().where(m.StageHistory.stage == trial).count() == 1
    crm.mark_deleted("deals.stage", trial)
    with pytest.raises(ValidationError) as exc:
        crm.delete("deals.stage", trial)
    assert "refer to this one" in str(exc.value.errors)
    assert crm.get("deals.stage", trial, include_marked=True).id == trial   # still there, nothing half-done
    crm.mark_deleted("deals.deal", deal.id)
    crm.delete("deals.deal", deal.id)     # its history goes with it
    crm.delete("deals.stage", trial)
    assert not m.Stage.select().where(m.Stage.id == trial).exists()
