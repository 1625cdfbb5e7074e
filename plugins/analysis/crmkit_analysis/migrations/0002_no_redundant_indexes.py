"""Drop the single-column indexes that a composite index already covers
(``(partner, date)`` serves ``partner`` ...): each cost every imported sales
line and every stored class row an index write, and answered no query the
composite could not."""

REDUNDANT = {"analysis_sale": ("analysis_sale_partner_id", "analysis_sale_product_id"),
             "analysis_client_class": ("analysis_client_class_partner_id", "analysis_client_class_run_id"),
             "analysis_product_class": ("analysis_product_class_product_id", "analysis_product_class_run_id")}


def up(migrator, db):
    for table, names in REDUNDANT.items():
        for name in names:
            db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


def down(migrator, db):
    for table, names in REDUNDANT.items():
        for name in names:
            column = name[len(table) + 1:]
            db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")')
