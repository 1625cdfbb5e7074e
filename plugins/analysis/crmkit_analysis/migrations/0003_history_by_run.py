"""The classification history is written a run at a time; store it so.

- The class rows lose their own ``created_at`` / ``changed_at``: a run
  writes them once, at the run's ``computed_at`` (both databases).
- On PostgreSQL the history tables are LIST-partitioned by run. A run
  writes all its rows at once (100,000 clients) and a re-run replaces them
  all, so each run gets its own partition: ``crm.load_partition`` copies the
  rows into a fresh table and attaches it, building its indexes once and
  checking its foreign keys with one query each instead of per row. The
  primary key becomes ``(id, run_id)``, as a partitioned table's keys must
  hold the partition column. SQLite keeps plain tables.
"""
from peewee import SqliteDatabase

TABLES = (("analysis_client_class", "partner_id", "core_partner"),
          ("analysis_product_class", "product_id", "core_product"))
COLUMNS = "id, run_id, as_of, abc_class, xyz_class, value, share, cumulative_share, cv, {item}"


def up(migrator, db):
    for table, item, target in TABLES:
        if isinstance(db, SqliteDatabase):
            db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN created_at')
            db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN changed_at')
            continue
        old, seq, columns = f"{table}_unpartitioned", f"{table}_id_seq", COLUMNS.format(item=item)
        db.execute_sql(f'ALTER SEQUENCE "{seq}" OWNED BY NONE')
        db.execute_sql(f'ALTER TABLE "{table}" RENAME TO "{old}"')
        # free the index names for the new table
        db.execute_sql(f'ALTER TABLE "{old}" DROP CONSTRAINT "{table}_pkey"')
        db.execute_sql(f'DROP INDEX "{table}_run_id_{item}", "{table}_{item}_as_of"')
        db.execute_sql(f'''CREATE TABLE "{table}" (
            id integer NOT NULL DEFAULT nextval('"{seq}"'),
            run_id integer NOT NULL REFERENCES analysis_run (id) ON DELETE CASCADE,
            as_of date NOT NULL,
            abc_class varchar(10) NOT NULL,
            xyz_class varchar(10) NOT NULL,
            value numeric(18, 2),
            share real,
            cumulative_share real,
            cv real,
            {item} integer NOT NULL REFERENCES {target} (id) ON DELETE CASCADE,
            PRIMARY KEY (id, run_id)
        ) PARTITION BY LIST (run_id)''')
        db.execute_sql(f'CREATE UNIQUE INDEX "{table}_run_id_{item}" ON "{table}" (run_id, {item})')
        db.execute_sql(f'CREATE INDEX "{table}_{item}_as_of" ON "{table}" ({item}, as_of)')
        db.execute_sql(f'ALTER SEQUENCE "{seq}" OWNED BY "{table}".id')
        runs = [run for (run,) in db.execute_sql(f'SELECT DISTINCT run_id FROM "{old}" ORDER BY 1').fetchall()]
        for run in runs:
            db.execute_sql(f'CREATE TABLE "{table}_p{int(run)}" PARTITION OF "{table}" FOR VALUES IN ({int(run)})')
        db.execute_sql(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{old}"')
        db.execute_sql(f'DROP TABLE "{old}"')


def down(migrator, db):
    for table, item, target in TABLES:
        if not isinstance(db, SqliteDatabase):
            plain, seq, columns = f"{table}_plain", f"{table}_id_seq", COLUMNS.format(item=item)
            db.execute_sql(f'ALTER SEQUENCE "{seq}" OWNED BY NONE')
            db.execute_sql(f'CREATE TABLE "{plain}" (LIKE "{table}" INCLUDING DEFAULTS)')
            db.execute_sql(f'INSERT INTO "{plain}" ({columns}) SELECT {columns} FROM "{table}"')
            db.execute_sql(f'DROP TABLE "{table}"')
            db.execute_sql(f'ALTER TABLE "{plain}" RENAME TO "{table}"')
            db.execute_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id)')
            db.execute_sql(f'ALTER TABLE "{table}" ADD FOREIGN KEY (run_id) REFERENCES analysis_run (id) '
                           'ON DELETE CASCADE')
            db.execute_sql(f'ALTER TABLE "{table}" ADD FOREIGN KEY ({item}) REFERENCES {target} (id) '
                           'ON DELETE CASCADE')
            db.execute_sql(f'CREATE UNIQUE INDEX "{table}_run_id_{item}" ON "{table}" (run_id, {item})')
            db.execute_sql(f'CREATE INDEX "{table}_{item}_as_of" ON "{table}" ({item}, as_of)')
            db.execute_sql(f'ALTER SEQUENCE "{seq}" OWNED BY "{table}".id')
        for stamp in ("created_at", "changed_at"):
            db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {stamp} TIMESTAMP')
            db.execute_sql(f'UPDATE "{table}" SET {stamp} = '
                           f'(SELECT r.computed_at FROM analysis_run r WHERE r.id = "{table}".run_id)')
