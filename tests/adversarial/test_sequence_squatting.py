"""Sequence squatting (issue 15 item 2), for every entity with an
auto-numbered code (enumerated from the registry), by create, update and
import, on SQLite and PostgreSQL.

Codes of a series (``00-`` and eight digits) are crmkit's: a user may not
give one (the schema's ``series`` rule; where a code is read-only for
non-administrators altogether, that refuses it first), so no one can take the next number and make every numbered create
fail. An administrator may (a migration from 1C keeps its codes): the series
then moves past the code given. A code stored by any other route (older
data, raw SQL) is skipped when the series reaches it.
"""
from __future__ import annotations

import pandas as pd
import pytest

from crmkit import ValidationError

from .conftest import INSTALLED, use
from .world import ENTITIES, REGISTRY, World, as_file_value, writable_row

pytestmark = pytest.mark.plugins(*INSTALLED)

NUMBERED = [e for e in ENTITIES if REGISTRY.entity(e).code_prefix]


@pytest.fixture(scope="module")
def world(adv_url):
    w = World(adv_url).build()
    yield w
    w.admin.close()


@pytest.fixture
def w(world):
    use(world.admin)
    return world


def test_every_numbered_entity_is_swept():
    assert {"core.partner", "core.interaction", "core.task"} <= set(NUMBERED)
    if "deals" in INSTALLED:
        assert "deals.deal" in NUMBERED


def _payload(w, crm, entity):
    """A payload the spy may create: copied from a row the spy sees."""
    source = crm.find(entity, limit=1, include_marked=True)
    assert source, f"the world has no {entity} the spy sees"
    row = writable_row(w, entity, source[0])
    row.pop(REGISTRY.entity(entity).code_field, None)
    return row


def _code(crm, entity, record):
    return getattr(crm.get(entity, record.get_id()), REGISTRY.entity(entity).code_field)


def _number(code):
    return int(code.split("-")[-1])


@pytest.mark.parametrize("entity", NUMBERED)
def test_a_user_cannot_take_a_code_of_the_series(w, entity):
    spec = REGISTRY.entity(entity)
    spy = w.spy
    payload = _payload(w, spy, entity)
    probe = spy.create(entity, payload)             # the spy's own numbered create works
    nxt = f"{spec.code_prefix}{_number(_code(spy, entity, probe)) + 1:08d}"
    before = w.snapshot(entity)
    with pytest.raises(ValidationError) as exc:
        spy.create(entity, {**payload, spec.code_field: nxt})
    assert spec.code_field in exc.value.errors, exc.value.errors
    with pytest.raises(ValidationError) as exc:
        spy.update(entity, probe.get_id(), {spec.code_field: nxt})
    assert spec.code_field in exc.value.errors
    frame = pd.DataFrame([{k: as_file_value(w, entity, k, v) for k, v in {**payload, spec.code_field: nxt}.items()}],
                         dtype=object)
    with pytest.raises(ValidationError) as exc:
        spy.import_frame(entity, frame)
    assert spec.code_field in exc.value.errors or any(spec.code_field in errs for errs in exc.value.rows.values()), \
        (exc.value.errors, exc.value.rows)
    assert w.snapshot(entity) == before
    # and numbering goes on for everyone
    after = spy.create(entity, payload)
    assert _number(_code(spy, entity, after)) == _number(nxt)
    w.admin.create(entity, payload)


@pytest.mark.parametrize("entity", NUMBERED)
def test_an_administrators_code_moves_the_series_past_it(w, entity):
    spec = REGISTRY.entity(entity)
    admin = w.admin
    payload = _payload(w, w.spy, entity)
    current = _number(_code(admin, entity, admin.create(entity, payload)))
    ahead = f"{spec.code_prefix}{current + 5:08d}"
    admin.create(entity, {**payload, spec.code_field: ahead})      # as a migration from 1C does
    for crm in (w.spy, admin):
        assert _number(_code(crm, entity, crm.create(entity, payload))) > current + 5
    # a code moved ahead by update counts too
    moved = admin.create(entity, payload)
    far = _number(_code(admin, entity, moved)) + 3
    admin.update(entity, moved.get_id(), {spec.code_field: f"{spec.code_prefix}{far:08d}"})
    assert _number(_code(w.spy, entity, w.spy.create(entity, payload))) > far
    # by import: a file of given codes, then a file without codes
    top = _number(_code(admin, entity, admin.create(entity, payload))) + 10
    row = {k: as_file_value(w, entity, k, v) for k, v in payload.items()}
    admin.import_frame(entity, pd.DataFrame([{**row, spec.code_field: f"{spec.code_prefix}{top:08d}"}],
                                            dtype=object))
    w.spy.import_frame(entity, pd.DataFrame([row, row], dtype=object))
    spy_codes = sorted(_number(getattr(r, spec.code_field)) for r in
                       admin.find(entity, order_by=f"-{spec.model._meta.primary_key.name}", limit=2))
    assert spy_codes[0] > top


@pytest.mark.parametrize("entity", NUMBERED)
def test_a_stored_code_of_the_series_is_skipped(w, entity):
    """A code that reached the table by another route (older data, raw SQL)
    does not stop numbering: create and import skip past it."""
    spec = REGISTRY.entity(entity)
    admin = w.admin
    payload = _payload(w, w.spy, entity)
    record = admin.create(entity, payload)
    current = _number(_code(admin, entity, record))
    field = getattr(spec.model, spec.code_field)
    squat = admin.create(entity, payload)
    spec.model.update({field: f"{spec.code_prefix}{current + 2:08d}"}).where(
        spec.model._meta.primary_key == squat.get_id()).execute()        # behind the kernel's back
    first = _number(_code(w.spy, entity, w.spy.create(entity, payload)))  # current + 2 is skipped...
    assert first != current + 2
    spec.model.update({field: f"{spec.code_prefix}{first + 1:08d}"}).where(
        spec.model._meta.primary_key == squat.get_id()).execute()
    row = {k: as_file_value(w, entity, k, v) for k, v in payload.items()}
    summary = w.spy.import_frame(entity, pd.DataFrame([row, row, row], dtype=object))
    assert summary["written"] == 3                                         # ...and so is first + 1
