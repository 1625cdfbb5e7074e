"""Drop the stage history's single-column indexes that a composite index
already covers (``(deal, left_at)`` serves ``deal``, the cascade from a
deleted deal included; ``(stage, passage)`` serves ``stage``): each cost
every history row a deal's move, import or history file writes an index
write, and answered no query the composite could not."""

REDUNDANT = {"deals_stage_history": ("deals_stage_history_deal_id", "deals_stage_history_stage_id")}


def up(migrator, db):
    for table, names in REDUNDANT.items():
        for name in names:
            db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


def down(migrator, db):
    for table, names in REDUNDANT.items():
        for name in names:
            column = name[len(table) + 1:]
            db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")')
