"""The poison-value sweep: every field type's extremes (``tests/poison.py``)
through create, update and the bulk import, for every entity of every
installed plugin, on SQLite and PostgreSQL.

A poison value is one the column, a time-zone conversion, pandas or a
terminal cannot hold: money beyond its precision, integers beyond the
column's width, inf and nan, year 1 and 9999, offsets of a day, control
characters, text longer than the column. Each is refused with a
ValidationError naming the field; nothing is written; the record still
shows, updates and reports afterwards.
"""
from __future__ import annotations

import pandas as pd
import pytest

from crmkit import AccessDenied, ValidationError
from crmkit.kernel.validation import schema_for

from ..poison import poison_cases
from .conftest import INSTALLED, use
from .world import ENTITIES, REGISTRY, World, as_file_value, writable_row

pytestmark = pytest.mark.plugins(*INSTALLED)

CASES = {e: list(poison_cases(REGISTRY.entity(e), schema_for(REGISTRY.entity(e), admin=True))) for e in ENTITIES}
SWEPT = [e for e in ENTITIES if CASES[e]]


@pytest.fixture(scope="module")
def world(adv_url):
    w = World(adv_url).build()
    yield w
    w.admin.close()


@pytest.fixture
def w(world):
    use(world.admin)
    return world


def _names(exc, field) -> bool:
    """The error names the field: as its key, or in the text of a row's
    reason (an importer hook's ``_row``); a subject's two columns are ``subject``."""
    names = {field, "subject"} if field in ("subject_type", "subject_id") else {field}
    keys = set(exc.errors) | {f for errs in exc.rows.values() for f in errs}
    reasons = " ".join(" ".join(map(str, m)) for errs in exc.rows.values() for f, m in errs.items() if f == "_row")
    if "_" in keys:  # an entity that takes no hand-written row at all (classification history)
        return True
    return bool(names & keys) or any(n in reasons.split() for n in names)


def _base(w, entity, source):
    """A valid payload copied from ``source``, unique text fields made fresh."""
    import peewee as pw
    spec = w.admin.registry.entity(entity)
    row = writable_row(w, entity, source)
    schema = schema_for(spec, admin=True)
    for name, field in spec.model._meta.fields.items():
        rules = schema.get(name, {})
        if field.unique and not rules.get("readonly") and not (spec.code_prefix and name == spec.code_field) \
                and isinstance(field, pw.CharField) and not field.choices:
            row[name] = f"poison base {entity}"[:field.max_length or 40]
    return row


def test_every_field_kind_has_poison():
    """Each kind a schema gives a field is swept (a new kind would slip past)."""
    from ..poison import POISON
    kinds = {r.get("type") for e in ENTITIES for r in schema_for(REGISTRY.entity(e)).values()
             if not r.get("readonly") and "allowed" not in r}
    assert kinds - {None, "boolean"} <= set(POISON), kinds


@pytest.mark.parametrize("entity", SWEPT)
def test_poison_refused_by_create_and_update(w, entity):
    crm = w.admin
    source = crm.find(entity, limit=1, include_marked=True)
    base = _base(w, entity, source[0]) if source else {}
    before = w.snapshot(entity)
    for field, value in CASES[entity]:
        try:
            crm.create(entity, {**base, field: value})
        except AccessDenied:
            pass  # an entity only its plugin writes
        except ValidationError as exc:
            assert _names(exc, field), (entity, field, repr(value), exc.errors)
        else:
            pytest.fail(f"{entity}.{field}={value!r} was created")
        if source:
            try:
                crm.update(entity, source[0].get_id(), {field: value})
            except AccessDenied:
                pass
            except ValidationError as exc:
                assert _names(exc, field), (entity, field, repr(value), exc.errors)
            else:
                pytest.fail(f"{entity}.{field}={value!r} was updated")
    assert w.snapshot(entity) == before
    if source:  # the record still reads
        crm.get(entity, source[0].get_id())


@pytest.mark.parametrize("entity", SWEPT)
def test_poison_refused_by_import(w, entity):
    """One file of a row per poison value (vectorised, as a real import):
    every row refused naming its field, nothing written."""
    crm = w.admin
    source = crm.find(entity, limit=1, include_marked=True)
    base = {k: as_file_value(w, entity, k, v) for k, v in _base(w, entity, source[0]).items()} \
        if source else {}
    base = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in base.items()}
    before = crm.count(entity, include_marked=True)
    cases = CASES[entity]
    frame = pd.DataFrame([{**base, field: value} for field, value in cases], dtype=object)
    frame = frame.where(frame.notna(), "")  # a file's empty cells
    try:
        crm.import_frame(entity, frame)
    except AccessDenied:
        return
    except ValidationError as exc:
        for pos, (field, value) in enumerate(cases):
            row = exc.rows.get(pos + 1, {})
            assert _names(ValidationError({}, entity, rows={pos + 1: row}), field), (entity, field, repr(value), row)
    else:
        pytest.fail(f"import of {entity} poison was accepted")
    assert crm.count(entity, include_marked=True) == before


def test_a_refused_deal_leaves_every_deal_report_working(w):
    """The reproduction of issue 15 item 6: the huge potential is refused,
    and the deal and its reports still answer."""
    if "deals" not in INSTALLED:
        pytest.skip("needs deals")
    crm = w.admin
    deal = crm.find("deals.deal", limit=1)[0]
    with pytest.raises(ValidationError) as exc:
        crm.update("deals.deal", deal.id, {"potential": "99999999999999999999999999.99"})
    assert "potential" in exc.value.errors
    crm.get("deals.deal", deal.id)
    for report in ("deals.forecast", "deals.managers", "deals.efficiency"):
        if report in crm.registry.reports:
            crm.report(report).render("table")
