"""Mass assignment: ids, authors, created/changed times, read-only and
administrator-only fields, access groups and roles in a payload are refused
unless the user may set them, on every entity, by create, update, the CLI
and the bulk import; and nothing is written.
"""
from __future__ import annotations

import datetime as dt

import peewee as pw
import pytest

from crmkit import AccessDenied, NotFound, ValidationError
from crmkit.kernel.validation import ALWAYS_READ_ONLY

from .conftest import INSTALLED, run_cli, use
from .world import ENTITIES, REGISTRY, World, as_file_value, write_csv, writable_row

pytestmark = pytest.mark.plugins(*INSTALLED)


def sample(field):
    """A well-typed value for a field, so that only the lock can refuse it."""
    if isinstance(field, pw.BooleanField):
        return True
    if isinstance(field, (pw.DateTimeField,)):
        return dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    if isinstance(field, pw.DateField):
        return dt.date(2001, 1, 1)
    if isinstance(field, (pw.IntegerField, pw.ForeignKeyField, pw.AutoField)):
        return 1
    if isinstance(field, (pw.DecimalField, pw.FloatField)):
        return "1"
    return "forged"


def locked_fields(spec, admin):
    fields = spec.model._meta.fields
    names = set(ALWAYS_READ_ONLY) | set(spec.read_only) | ({"id"} if "id" in fields else set())
    if not admin:
        names |= set(spec.admin_only)
    return sorted(n for n in names if n in fields or n == "id")


CASES = [(e, f, admin) for admin in (True, False) for e in ENTITIES
         for f in locked_fields(REGISTRY.entity(e), admin)]


@pytest.fixture(scope="module")
def world(adv_url):
    w = World(adv_url).build()
    yield w
    w.admin.close()


@pytest.fixture
def w(world):
    use(world.admin)
    return world


def _field_of(spec, name):
    return spec.model._meta.fields.get(name) or spec.model._meta.primary_key


@pytest.mark.parametrize("entity, name, admin", CASES,
                         ids=[f"{e}.{f}-{'admin' if a else 'user'}" for e, f, a in CASES])
def test_locked_field_refused_on_create_and_update(w, entity, name, admin):
    crm = w.admin if admin else w.spy
    spec = crm.registry.entity(entity)
    value = sample(_field_of(spec, name))
    before = w.snapshot(entity)
    try:
        crm.create(entity, {name: value})
    except AccessDenied:
        assert not admin
    except ValidationError as exc:
        assert name in exc.errors, exc.errors
    else:
        pytest.fail(f"{entity}: create with {name} was accepted")
    visible = crm.find(entity, limit=1) if crm.can("read", entity) else []
    if visible:
        with pytest.raises((ValidationError, AccessDenied)) as exc:
            crm.update(entity, visible[0].get_id(), {name: value})
        if isinstance(exc.value, ValidationError):
            assert name in exc.value.errors
    assert w.snapshot(entity) == before


def _errors_name(exc, name):
    text = str(exc) + str(getattr(exc, "rows", ""))
    return name in text


@pytest.mark.parametrize("entity", ENTITIES)
def test_locked_columns_refused_by_import(w, entity, tmp_path):
    """A row copied from a real one, plus one locked column: refused, naming it."""
    spec = w.admin.registry.entity(entity)
    source = w.admin.find(entity, limit=1, include_marked=True)
    base = {k: as_file_value(w, entity, k, v) for k, v in writable_row(w, entity, source[0]).items()} \
        if source else {}
    for admin in (True, False):
        crm = w.admin if admin else w.spy
        for name in locked_fields(spec, admin):
            path = tmp_path / f"{name}.csv"
            value = sample(_field_of(spec, name))
            write_csv(path, {**base, name: value.isoformat() if hasattr(value, "isoformat") else value})
            before = w.admin.count(entity, include_marked=True)
            with pytest.raises((ValidationError, AccessDenied)) as exc:
                crm.import_file(entity, path)
            if isinstance(exc.value, ValidationError):
                assert _errors_name(exc.value, name), (entity, name, str(exc.value))
            assert w.admin.count(entity, include_marked=True) == before


def test_locked_fields_refused_by_cli(w):
    spy = w.spy
    partner = spy.find("core.partner", limit=1)[0]
    before = w.snapshot("core.partner")
    for args in (("create", "core.partner", "name=x", "id=999"),
                 ("create", "core.partner", "name=x", "created_at=2001-01-01"),
                 ("update", "core.partner", partner.id, "changed_at=2001-01-01"),
                 ("update", "core.partner", partner.id, f"access_group={w.secret_group}"),
                 ("update", "core.user", "spy", "roles=administrator"),
                 ("update", "core.interaction", spy.find("core.interaction", limit=1)[0].id, "external_id=x")
                 if spy.find("core.interaction", limit=1) else ("update", "core.user", "spy", "is_active=no")):
        out = run_cli(w.admin, w.url, *args, user="spy")
        assert out.exit_code == 1, (args, out.output)
    assert w.snapshot("core.partner") == before


AUTHOR_FIELDS = [("core.note", "author", {"title": "forged"}),
                 ("core.task", "author", {"title": "forged"})]


@pytest.mark.parametrize("entity, field, payload", AUTHOR_FIELDS)
def test_authors_cannot_be_forged(w, entity, field, payload):
    spy = w.spy
    victim = w.admin.find("core.user", login__ne="spy", limit=1)[0]
    try:
        record = spy.create(entity, {**payload, field: victim.id})
    except (ValidationError, AccessDenied):
        return
    assert getattr(record, field + "_id") == spy.actor.id, f"{entity}.{field} forged as {victim.login}"
