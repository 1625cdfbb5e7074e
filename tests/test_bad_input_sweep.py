"""Bad input for every registered entity of every installed plugin: wrong
types, unknown and read-only fields, broken references, over-long strings.
Each is refused naming the field, and nothing is written."""
import peewee as pw
import pytest

import crmkit
from crmkit import AccessDenied, ValidationError


def _entities():
    crm = crmkit.open("sqlite:///:memory:", migrate=False)
    names = sorted(crm.registry.entities)
    crm.close()
    return names


ENTITIES = _entities()


def _cases(spec):
    model = spec.model
    locked = {"id", "created_at", "changed_at", *spec.read_only}
    yield "bogus_field", {"bogus_field": 1}, "unknown field"
    yield "id", {"id": 5}, "read-only"
    for name, field in model._meta.fields.items():
        if name in locked or isinstance(field, pw.AutoField):
            continue
        if isinstance(field, pw.ForeignKeyField):
            yield name, {name: 999999}, "does not exist"
        elif isinstance(field, (pw.IntegerField, pw.DecimalField, pw.FloatField)) and not field.choices:
            yield name, {name: "not a number"}, "wrong type"
        elif isinstance(field, (pw.DateField, pw.DateTimeField)):
            yield name, {name: "31.02.2015 25:61"}, "wrong type"
        elif isinstance(field, pw.CharField) and field.max_length and not field.choices:
            yield name, {name: "я" * (field.max_length + 1)}, "max length"


@pytest.mark.parametrize("entity", ENTITIES)
def test_bad_input_refused_and_nothing_written(crm, entity):
    spec = crm.registry.entity(entity)
    before = spec.model.select().count()
    for field, payload, fragment in _cases(spec):
        try:
            crm.create(entity, payload)
        except ValidationError as exc:
            messages = " ".join(" ".join(map(str, m)) for f, m in exc.errors.items() if f in (field, "subject"))
            if field in spec.admin_only or f"{field}" in exc.errors:
                assert fragment in messages or fragment in str(exc.errors.get(field)), (entity, field, exc.errors)
            else:
                # history entities refuse every hand-written row as a whole
                assert exc.errors, (entity, field)
        except AccessDenied:
            pass  # entities only their plugin writes
        else:
            pytest.fail(f"{entity}: {payload} was accepted")
        assert spec.model.select().count() == before, (entity, field)
