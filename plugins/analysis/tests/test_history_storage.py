"""How a run's history rows are stored: replaced whole, cascaded with
partners, never half-written; on PostgreSQL one partition per run."""
from pathlib import Path

import peewee as pw
import pytest
from playhouse.migrations import Runner

import crmkit_analysis
from crmkit_analysis import classify
from crmkit_analysis import models as m
from crmkit_analysis.classify import run

from helpers import MONTHLY, classes, partner, product, sale

pytestmark = pytest.mark.plugins("analysis")


def _partitions(crm, table):
    rows = crm.db.execute_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s) ORDER BY 1", (table,)).fetchall()
    return [name for (name,) in rows]


def _postgresql(crm) -> bool:
    return not isinstance(crm.db, pw.SqliteDatabase)


def _postgresql_only(crm):
    if not _postgresql(crm):
        pytest.skip("partitions are PostgreSQL's")


def _sales(crm):
    item = product(crm, "G1")
    a, b = partner(crm, "A1", is_client=True), partner(crm, "B1", is_client=True)
    sale(crm, a, item, "2015-01-10", 100)
    sale(crm, b, item, "2015-02-10", 30)
    return a, b


def test_each_run_is_a_partition_and_a_rerun_replaces_it(crm):
    _postgresql_only(crm)
    _sales(crm)
    first = run(crm, "partner", "2015-04-01", **MONTHLY)["run"]
    second = run(crm, "partner", "2015-05-01", **MONTHLY)["run"]
    assert _partitions(crm, "analysis_client_class") == [f"analysis_client_class_p{first}",
                                                         f"analysis_client_class_p{second}"]
    run(crm, "partner", "2015-04-01", **MONTHLY)
    assert len(_partitions(crm, "analysis_client_class")) == 2
    assert m.ClientClass.select().where(m.ClientClass.run == first).count() == 2
    # the partition carries the table's keys: a second row for the same partner is refused
    row = m.ClientClass.get(m.ClientClass.run == first)
    with pytest.raises(pw.IntegrityError), crm.db.atomic():
        crm.db.execute_sql("INSERT INTO analysis_client_class (run_id, partner_id, as_of, abc_class, xyz_class) "
                           "VALUES (%s, %s, %s, 'A', 'X')", (first, row.partner_id, row.as_of))


def test_deleting_a_partner_deletes_its_history(crm):
    a, b = _sales(crm)
    potential = partner(crm, "P1", is_client=True)
    summary = run(crm, "partner", "2015-04-01", **MONTHLY)
    assert classes(crm, summary["run"], m.ClientClass)["P1"] == ("potential", "potential")
    crm.update("core.partner", potential.id, {"deletion_mark": True})
    crm.delete("core.partner", potential.id)
    assert set(classes(crm, summary["run"], m.ClientClass)) == {"A1", "B1"}


def test_a_failed_run_writes_nothing(crm, monkeypatch):
    _sales(crm)
    store = classify._store

    def store_then_fail(*args):
        store(*args)
        raise RuntimeError("disk full")

    monkeypatch.setattr(classify, "_store", store_then_fail)
    with pytest.raises(RuntimeError):
        run(crm, "partner", "2015-04-01", **MONTHLY)
    assert m.Run.select().count() == 0 and m.ClientClass.select().count() == 0
    if _postgresql(crm):
        assert _partitions(crm, "analysis_client_class") == []


def test_the_migration_keeps_the_history_both_ways(crm):
    """0003 drops the rows' own stamps and, on PostgreSQL, partitions the
    existing rows by run; its down migration puts both back."""
    postgresql = _postgresql(crm)
    _sales(crm)
    first = run(crm, "partner", "2015-04-01", **MONTHLY)["run"]
    second = run(crm, "product", "2015-04-01", **MONTHLY)["run"]
    before = (sorted(m.ClientClass.select().tuples()), sorted(m.ProductClass.select().tuples()))
    runner = Runner(crm.db, directory=str(crmkit_analysis.__path__[0] + "/migrations"),
                    table_name="analysis_schema_migration")
    try:
        later = sorted(p.stem for p in (Path(crmkit_analysis.__path__[0]) / "migrations").glob("0*.py")
                       if p.stem[:4] > "0003")                  # the ones added after, undone newest first
        for name in reversed(later):
            assert runner.down() == [name]
        assert runner.down() == ["0003_history_by_run"]
        assert (sorted(m.ClientClass.select().tuples()), sorted(m.ProductClass.select().tuples())) == before
        stamped = crm.db.execute_sql("SELECT COUNT(*) FROM analysis_client_class c JOIN analysis_run r "
                                     "ON r.id = c.run_id WHERE c.created_at = r.computed_at").fetchone()[0]
        assert stamped == len(before[0])
        if postgresql:
            assert _partitions(crm, "analysis_client_class") == []
    finally:
        runner.up()
    if postgresql:
        assert _partitions(crm, "analysis_client_class") == [f"analysis_client_class_p{first}"]
        assert _partitions(crm, "analysis_product_class") == [f"analysis_product_class_p{second}"]
    assert (sorted(m.ClientClass.select().tuples()), sorted(m.ProductClass.select().tuples())) == before
    assert run(crm, "partner", "2015-04-01", **MONTHLY)["run"] == first   # and a re-run still replaces
    assert m.ClientClass.select().count() == len(before[0])


def test_backup_and_restore_keep_the_history(crm, cli, tmp_path, db_url):
    """pg_restore --clean alone cannot drop a partition's key; the restore
    drops the archive's tables whole, then replays it."""
    _sales(crm)
    first = run(crm, "partner", "2015-04-01", **MONTHLY)["run"]
    kept = sorted(m.ClientClass.select().tuples())
    target = tmp_path / "backup.bin"
    assert cli("db", "backup", target).exit_code == 0
    run(crm, "partner", "2015-05-01", **MONTHLY)           # after the backup: gone after the restore
    crm.close()
    out = cli("db", "restore", target, "--yes")
    assert out.exit_code == 0, out.output
    import crmkit
    again = crmkit.open(db_url, plugins=["analysis"])
    assert [r.id for r in m.Run.select()] == [first]
    assert sorted(m.ClientClass.select().tuples()) == kept
    if _postgresql(again):
        assert _partitions(again, "analysis_client_class") == [f"analysis_client_class_p{first}"]
    assert run(again, "partner", "2015-05-01", **MONTHLY)["items"] == 2   # and it classifies again
    again.close()
