"""Deleting a stage finds its history rows by an index, at no extra write cost.

A stage's history rows keep it from being deleted (``stage`` is a RESTRICT
reference): the database looks for a row of the stage before it deletes
it, and no index of ``deals_stage_history`` began with the stage (0005
replaced ``(stage, passage)`` by the deal-led passages index), so that look-up
read the whole history (1M rows at the benchmark's scale; on PostgreSQL
the foreign key's own check, on SQLite its foreign-key check).

An index on the stage alone would cost every history row a deal's move,
import or history file writes another index entry. Instead the deal-led
passages index is widened by ``left_at`` and then answers everything
``(deal, left_at)`` did: a deal's open row (``deal = ? AND left_at IS NULL``,
the lifecycle's close of the open row and the reports' state join), a
deal's rows (the cascade from a deleted deal, the history file's
replacement); ``(deal, left_at)`` is dropped and ``(stage)`` takes its
place. Each history row still writes three index entries beside its key.
"""


def _statistics(db, index):
    """As in 0005: a base whose planner statistics were gathered gets this index's too."""
    if db.__class__.__name__.startswith("Sqlite"):
        if db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            db.execute_sql(f'ANALYZE "{index}"')


def up(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS deals_stage_history_passages")
    db.execute_sql("CREATE INDEX deals_stage_history_passages "
                   "ON deals_stage_history (deal_id, passage, stage_id, days, left_at)")
    db.execute_sql("DROP INDEX IF EXISTS deals_stage_history_deal_id_left_at")
    db.execute_sql("CREATE INDEX IF NOT EXISTS deals_stage_history_stage_id ON deals_stage_history (stage_id)")
    for index in ("deals_stage_history_passages", "deals_stage_history_stage_id"):
        _statistics(db, index)


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS deals_stage_history_stage_id")
    db.execute_sql("CREATE INDEX IF NOT EXISTS deals_stage_history_deal_id_left_at "
                   "ON deals_stage_history (deal_id, left_at)")
    db.execute_sql("DROP INDEX IF EXISTS deals_stage_history_passages")
    db.execute_sql("CREATE INDEX deals_stage_history_passages "
                   "ON deals_stage_history (deal_id, passage, stage_id, days)")
