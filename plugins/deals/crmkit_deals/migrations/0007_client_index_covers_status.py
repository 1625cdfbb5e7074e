"""The deals' client index also holds the status and the deletion mark (issue 23).

Reports that count deals per client group (the client segments' deals by
status, ``analysis.segments``) walk the clients, then each one's deals
through ``deals_deal_client_id``, and read every deal's row for its status
and deletion mark: at 200,000 deals (100,169 memberships of five segments)
on SQLite that statement took 1.3-1.8 s, and 0.8-0.9 s with the index
holding both (load average 11, 2026-12-01). The index keeps its name and
its leading column, so whatever read it by client still does; it is
replaced, not added beside, so a written deal pays the same number of
index entries. The status was indexed already (``deals_deal_status``), so
moving a deal's status rewrote an index entry before too; on PostgreSQL
marking a deal deleted is no longer a HOT update (rare), changing its
probability still is.
"""


def _statistics(db, index):
    """A base whose planner statistics were gathered gets this index's too
    (SQLite's planner keeps the old plan otherwise)."""
    if db.__class__.__name__.startswith("Sqlite"):
        if db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            db.execute_sql('ANALYZE "deals_deal_client_id"')


def up(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS deals_deal_client_id")
    db.execute_sql("CREATE INDEX deals_deal_client_id ON deals_deal (client_id, status, deletion_mark)")
    _statistics(db, "deals_deal_client_id")


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS deals_deal_client_id")
    db.execute_sql("CREATE INDEX deals_deal_client_id ON deals_deal (client_id)")
