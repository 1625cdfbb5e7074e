"""crm.bulk_insert and crm.load_partition write exactly what they are given
(COPY text on PostgreSQL, made in chunks; executemany on SQLite)."""
import datetime as dt

from crmkit.kernel.crm import _CopySource

NOW = dt.datetime(2026, 1, 1)
TRICKY = ["plain", "tab\there", "new\nline", "back\\slash", "\\N", "carriage\rreturn", "", "кириллица"]


def _rows(n, regions):
    day, moment = dt.date(2024, 2, 29), dt.datetime(2026, 11, 27, 5, 6, 7, 890123)
    return [(f"B{i:05d}", TRICKY[i % len(TRICKY)], i % 3 == 0, None if i % 5 else day,
             regions[i % len(regions)] if i % 4 else None, moment, moment, TRICKY[(i * 7) % len(TRICKY)])
            for i in range(n)]


COLUMNS = ["code", "name", "is_client", "registered_on", "region", "created_at", "changed_at", "comment"]
FIXED = {"kind": "company", "public_name": "", "is_supplier": False, "is_competitor": False, "is_other": False,
         "deletion_mark": False}    # the columns peewee would default


def _insert(crm, model, rows, key=None):
    columns, rows = COLUMNS + list(FIXED), [row + tuple(FIXED.values()) for row in rows]
    if key is None:
        crm.bulk_insert(model, columns, rows)
    else:
        crm.load_partition(model, "region", key, columns, rows)


def test_bulk_insert_round_trips_every_kind_of_value(crm):
    regions = [crm.create("core.region", {"name": f"R{i}"}).id for i in range(3)]
    n = 2 * _CopySource.CHUNK + 17            # several chunks, the last one short
    rows = _rows(n, regions)
    model = crm.model("core.partner")
    with crm.transaction():
        _insert(crm, model, rows)
    got = {p.code: p for p in model.select().where(model.code.startswith("B"))}
    assert len(got) == n
    for code, name, client, registered, region, created, _, comment in rows:
        p = got[code]
        assert (p.name, p.is_client, p.registered_on, p.region_id, p.comment) == (name, client, registered, region,
                                                                                  comment)
        assert p.created_at.replace(tzinfo=None) == created


def test_load_partition_replaces_the_rows_of_its_key_only(crm):
    """On a table that is not partitioned: DELETE the key's rows, then insert."""
    regions = [crm.create("core.region", {"name": f"R{i}"}).id for i in range(2)]
    model = crm.model("core.partner")
    with crm.transaction():
        _insert(crm, model, _rows(40, [regions[1]]))
        _insert(crm, model, [("K1", "first", True, None, regions[0], NOW, NOW, "")], key=regions[0])
    with crm.transaction():
        _insert(crm, model, [("K2", "second", True, None, regions[0], NOW, NOW, "")], key=regions[0])
    assert [p.code for p in model.select().where(model.region == regions[0])] == ["K2"]
    assert model.select().where(model.region == regions[1]).count() == 30   # every 4th row has no region
