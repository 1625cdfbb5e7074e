"""``Crm``: the one object integrators, plugins and the CLI talk to.

Every read goes through ``query`` (role check + row-level filter + deletion
marks) and every write through ``_write`` (validate -> check access -> write
in a transaction -> record the change -> fire events).
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import os

import peewee as pw

from . import access, db, subjects
from .errors import AccessDenied, Conflict, NotFound, ValidationError
from .i18n import Message
from .models import Change, Sequence
from .outbox import Outbox
from .plugins import make_plugin_manager
from .registry import Registry
from .validation import UNSTORABLE, check, series_number
from .values import plain

FILTER_OPS = {
    "eq": lambda f, v: f == v, "ne": lambda f, v: f != v,
    "lt": lambda f, v: f < v, "le": lambda f, v: f <= v,
    "gt": lambda f, v: f > v, "ge": lambda f, v: f >= v,
    "in": lambda f, v: f.in_(list(v)), "contains": lambda f, v: f.contains(v),
    "startswith": lambda f, v: f.startswith(v),
    "isnull": lambda f, v: f.is_null(bool(v)),
}
KERNEL_PLUGIN_NAME = "kernel"
SUBJECT_FIELDS = ("subject", "subject_type", "subject_id")


class _KernelMigrations:
    """The kernel's own migrations, run before every plugin's."""

    name = KERNEL_PLUGIN_NAME

    @property
    def migrations_dir(self):
        from pathlib import Path
        return Path(__file__).parent / "migrations"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SPECIAL = ("\\", "\t", "\n", "\r")


def _copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, decimal.Decimal, int, float)):
        return str(value)
    return str(value).translate(_COPY_ESCAPES)


_PROBE_SQL: dict = {}    # (registry, entity, actor, param style) -> (SELECT of a visible key, its other params)
_TYPED: dict = {}        # (column, text, zone) -> the filter value parse_filters typed it as (immutable values)
_INSERT_SQL: dict = {}   # (model, columns, param style, RETURNING?) -> INSERT statement

_COPY_AS_STR = {int, float, decimal.Decimal, dt.date, dt.datetime}   # str() is already COPY text (not bool)


def _is_partitioned(database, table) -> bool:
    """Whether ``table`` is a partitioned table (PostgreSQL; never on SQLite)."""
    if db.is_sqlite(database):
        return False
    row = database.execute_sql("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)", (f'"{table}"',)).fetchone()
    return bool(row) and row[0] == "p"


def _copy_column(values) -> list[str]:
    """One column in COPY text format: columns of plain numbers, dates or
    strings (most) skip the per-value type dispatch of ``_copy_text``, and a
    column of one repeated value (a run's date ...) is converted once."""
    types = set(map(type, values))
    if len(types) == 1 and values.count(values[0]) == len(values):
        return [_copy_text(values[0])] * len(values)
    if types <= _COPY_AS_STR:
        return list(map(str, values))
    kinds = types - {type(None)}
    if kinds <= _COPY_AS_STR:
        return ["\\N" if v is None else str(v) for v in values]
    if types == {str}:
        text = "".join(values)
        if not any(c in text for c in _COPY_SPECIAL):
            return list(values)   # nothing to escape: class letters, codes ...
    if kinds == {str}:
        return ["\\N" if v is None else v.translate(_COPY_ESCAPES) for v in values]
    return list(map(_copy_text, values))


class _CopySource:
    """Rows as COPY text for ``copy_expert``, made a chunk at a time: the
    server parses one chunk while the next is being made."""

    CHUNK = 1000

    def __init__(self, rows):
        self._chunks = (rows[i:i + self.CHUNK] for i in range(0, len(rows), self.CHUNK))

    def read(self, size=-1) -> str:
        rows = next(self._chunks, None)
        if rows is None:
            return ""
        return "\n".join(map("\t".join, zip(*map(_copy_column, zip(*rows))))) + "\n"


class Crm:
    """A session of one user on one database, with one set of plugins."""

    def __init__(self, database, pm, plugins, registry, actor, lang="en"):
        self.pm = pm
        self.plugins = plugins
        self.registry = registry
        self.actor = actor
        self.lang = lang
        self._zone = None
        self.outbox = Outbox(self)
        self._attributes = {}   # entity -> its additional attributes, read once per session

    @property
    def zone(self):
        """The acting user's time zone (a ``tzinfo``): their own
        ``time_zone``, else ``$CRMKIT_TZ``, else the system's. Moments typed
        without an offset are read in it and every output shows moments in it."""
        if self._zone is None:
            from .zones import user_zone
            self._zone = user_zone(self.actor.time_zone)
        return self._zone

    @zone.setter
    def zone(self, value):
        from .zones import zone_named
        self._zone = zone_named(value) if isinstance(value, str) else value

    def reading_input(self):
        """A context in which naive moments are local times of ``zone``."""
        from .zones import reading_in
        return reading_in(self.zone)

    def day_start(self, day):
        """The first moment of the local day ``day`` in the user's zone (period edges)."""
        from .zones import day_start
        return day_start(day, self.zone)

    @property
    def db(self):
        """The open peewee database (the one the models are bound to)."""
        return db.database.obj

    # -- sessions --------------------------------------------------------
    def as_user(self, login) -> "Crm":
        """The same database and plugins, acting as another user."""
        return Crm(self.db, self.pm, self.plugins, self.registry, self._load_actor(login), self.lang)

    def _load_actor(self, login):
        if login in (None, access.SYSTEM_LOGIN):
            return access.Actor.system()
        if isinstance(login, access.Actor):
            return login
        actor = self.pm.hook.crmkit_load_user(login=login)
        if actor is None:
            raise AccessDenied(f"unknown or inactive user {login!r}")
        return actor

    def close(self):
        if not self.db.is_closed():
            self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def transaction(self):
        return db.transaction()

    def migrate(self):
        return db.migrate(self.migration_units())

    def migration_units(self):
        return [_KernelMigrations(), *self.plugins]

    def call_in_order(self, hookname, **kwargs):
        """Call one hook plugin by plugin in ``requires`` order."""
        results = []
        for plugin in self.plugins:
            impl = getattr(plugin.hooks, hookname, None)
            if impl is not None:
                results.append(impl(**kwargs))
        return results

    # -- access ----------------------------------------------------------
    def can(self, verb, name) -> bool:
        return access.can(self.actor, self.registry.roles, verb, name, self.registry.admin_writes)

    def require(self, verb, name):
        access.require(self.actor, self.registry.roles, verb, name, self.registry.admin_writes)

    def access_root(self):
        return next((s for s in self.registry.entities.values() if s.partner_path == "self"), None)

    def visible(self, entity):
        """The row filter of ``entity`` for the acting user, or None."""
        return access.visible_filter(self.actor, self.registry.entity(entity), self.registry)

    # -- reading ---------------------------------------------------------
    def model(self, entity):
        return self.registry.entity(entity).model

    def query(self, entity, *fields, include_marked=False):
        """A peewee select over what the acting user may read.

        Plugins build reports on it: add joins, GROUP BY and aggregates; the
        access filter and deletion-mark filter are already applied.
        """
        spec = self.registry.entity(entity)
        self.require("read", entity)
        model = spec.model
        if spec.whole_base and not self.sees_everything():
            fields = self._withhold(spec, fields)
        q = model.select(*fields)
        cond = access.visible_filter(self.actor, spec, self.registry)
        if cond is not None:
            q = q.where(cond)
        if not include_marked and "deletion_mark" in model._meta.fields:
            q = q.where(model.deletion_mark == False)  # noqa: E712
        return q

    def sees_everything(self) -> bool:
        """Whether no row is hidden from the acting user (administrators)."""
        root = self.access_root()
        return root is None or access.visible_filter(self.actor, root, self.registry) is None

    @staticmethod
    def _withhold(spec, fields):
        """The selected fields with ``spec.whole_base`` ones read as null."""
        model = spec.model
        withheld = {id(model._meta.fields[n]) for n in spec.whole_base}   # by identity: fields overload ==
        fields = fields or tuple(model._meta.sorted_fields)
        return tuple(pw.Value(None).alias(f.name) if id(f) in withheld else f for f in fields)

    def _lookup_expr(self, spec, key):
        model = spec.model
        if isinstance(key, pw.Model):
            key = key.get_id()
        if isinstance(key, int) or (_is_id(key) and not spec.lookup):
            return model._meta.primary_key == int(key)
        if spec.lookup and isinstance(key, str):
            return getattr(model, spec.lookup) == key
        raise NotFound(f"{spec.name}: {key!r} is not an id" + (f" or a {spec.lookup}" if spec.lookup else ""))

    def get(self, entity, key, include_marked=True, for_update=False, follow_merges=True):
        """One visible record by id (or by its lookup field, e.g. code); a
        record merged into another resolves to the survivor.

        ``for_update``: inside a transaction, read it under its write lock
        (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE
        transaction already holds the lock), so what is validated on it is
        what the write changes."""
        spec = self.registry.entity(entity)
        expr = self._lookup_expr(spec, key)

        def first(cond):
            q = self.query(entity, include_marked=include_marked).where(cond)
            if for_update and not db.is_sqlite(self.db):
                q = q.for_update(of=spec.model)
            return q.first()
        found = first(expr)
        if found is None and spec.lookup and _is_id(key):
            found = first(spec.model._meta.primary_key == int(key))
        if found is None:
            raise NotFound(f"{entity} {key!r} not found")
        if follow_merges and getattr(found, "deletion_mark", True):   # merged records are marked
            from .merge import survivor_of
            survivor = survivor_of(entity, found.get_id())
            if survivor != found.get_id():
                return self.get(entity, survivor, include_marked, for_update, follow_merges=False)
        return found

    def where(self, entity, query, filters: dict):
        """Apply ``field`` / ``field__op`` filters, whitelisted to model fields."""
        from . import attributes
        model = self.model(entity)
        for key, value in filters.items():
            name, _, op = key.partition("__")
            op = op or "eq"
            field = model._meta.fields.get(name)
            extra = field is None and name in attributes.definitions(self, entity)
            if (field is None and not extra) or op not in FILTER_OPS:
                known = [*model._meta.fields, *attributes.definitions(self, entity)]
                raise ValidationError({key: f"unknown filter; fields: {', '.join(known)}; "
                                            f"operators: {', '.join(FILTER_OPS)}"}, entity)
            if extra:   # an additional attribute: an indexed look-up of the value table
                query = query.where(attributes.condition(self, entity, name, op, value))
            else:
                query = query.where(FILTER_OPS[op](field, value))
        return query

    def schema(self, entity) -> dict:
        """The cerberus schema a write of ``entity`` by the acting user is
        checked against (read-only and, for non-administrators, admin-only
        fields marked ``readonly``)."""
        from . import attributes
        from .validation import schema_for
        return {**schema_for(self.registry.entity(entity), admin=self.actor.is_admin),
                **attributes.schema(self, entity)}

    def parse_filters(self, entity, raw: dict) -> dict:
        """Filters given as text (``--where``, a query string) typed by the
        entity's schema: ``{"registered_on__ge": "2015-01-01"}`` -> a date;
        ``__in`` takes a comma-separated list, ``__isnull`` yes/no. A value
        of the wrong type is a ValidationError naming the filter; unknown
        fields and operators are refused by ``where``."""
        from . import attributes
        from .validation import CrmValidator, field_rules
        fields = self.model(entity)._meta.fields
        if attributes.definitions(self, entity):
            fields = {**attributes.shadow(self, entity).model._meta.fields, **fields}
        out, errors = {}, {}
        for key, value in raw.items():
            name, _, op = key.partition("__")
            column = fields.get(name)
            rules = {k: v for k, v in (field_rules(column) if column is not None else {}).items()
                     if k in ("type", "coerce")}
            rules["nullable"] = True
            if op == "isnull":
                out[key] = str(value).lower() in ("1", "true", "yes")
                continue
            values = str(value).split(",") if op == "in" else [value]
            typed = []
            for item in values:
                if len(rules) == 1 or not isinstance(item, str):
                    typed.append(item)
                    continue
                memo = (id(column), item, self.zone)    # columns live as long as their models
                if memo in _TYPED:
                    typed.append(_TYPED[memo])
                    continue
                checker = CrmValidator({"v": rules})
                with self.reading_input():
                    ok = checker.validate({"v": item})
                if not ok:
                    errors[key] = [f"{item!r} is not a valid {rules.get('type', 'value')}"]
                    break
                if len(_TYPED) >= 4096:
                    _TYPED.clear()
                _TYPED[memo] = checker.document["v"]
                typed.append(checker.document["v"])
            if key not in errors:
                out[key] = typed if op == "in" else typed[0]
        if errors:
            raise ValidationError(errors, entity)
        return out

    def order(self, entity, query, order_by):
        from . import attributes
        model = self.model(entity)
        keys = [order_by] if isinstance(order_by, str) else list(order_by)
        terms = []
        for key in keys:
            for part in str(key).split(","):
                part = part.strip()
                desc = part.startswith("-")
                field = model._meta.fields.get(part.lstrip("-"))
                if field is None and part.lstrip("-") in attributes.definitions(self, entity):
                    terms.append(attributes.order_term(self, entity, part.lstrip("-"), desc))
                    continue
                if field is None:
                    known = [*model._meta.fields, *attributes.definitions(self, entity)]
                    raise ValidationError({"order_by": f"cannot sort by {part!r}; "
                                                       f"fields: {', '.join(known)}"}, entity)
                terms.append(field.desc() if desc else field.asc())
        return query.order_by(*terms)

    def find(self, entity, order_by=None, limit=None, offset=None, include_marked=False, **filters):
        """Visible records matching ``field=value`` / ``field__op=value``."""
        spec = self.registry.entity(entity)
        q = self.where(entity, self.query(entity, include_marked=include_marked), filters)
        q = self.order(entity, q, order_by or spec.order_by)
        if limit is not None:
            q = q.limit(int(limit))
        if offset:
            q = q.offset(int(offset))
        return list(q)

    def count(self, entity, include_marked=False, **filters):
        return self.where(entity, self.query(entity, include_marked=include_marked), filters).count()

    # values the drivers already return as Python wants them: no per-cell conversion
    _PLAIN_FIELDS = (pw.AutoField, pw.BigAutoField, pw.IntegerField, pw.CharField, pw.TextField,
                     pw.ForeignKeyField, pw.FloatField)
    _PLAIN_CONVERTERS = (pw.Field.python_value, pw.IntegerField.python_value, pw.ForeignKeyField.python_value,
                         pw.FloatField.python_value)

    @classmethod
    def _needs_conversion(cls, convert) -> bool:
        if convert is None:
            return False
        if getattr(convert, "__qualname__", "") == "safe_python_value.<locals>.validate":
            convert = convert.__closure__[0].cell_contents   # peewee's wrapper over a function's first field
        field = getattr(convert, "__self__", None)
        return not (isinstance(field, cls._PLAIN_FIELDS) and type(field).python_value in cls._PLAIN_CONVERTERS)

    def frame(self, query, columns=None):
        """Run a select and return a pandas DataFrame (aggregate in SQL first).

        Rows come straight from the driver; only the columns whose fields
        need it (dates on SQLite, decimals, booleans) are converted, column by
        column, so the values are the same on SQLite and PostgreSQL.
        """
        import pandas as pd
        q = query.tuples()
        cursor = self.db.execute(q)
        wrapper = q._get_cursor_wrapper(cursor)
        wrapper.initialize()
        names = columns or [d[0] for d in cursor.description]
        frame = pd.DataFrame.from_records(cursor.fetchall(), columns=names)
        for i, convert in enumerate(getattr(wrapper, "converters", ())):   # a plain select has none
            if len(frame) and self._needs_conversion(convert):
                frame[names[i]] = pd.Series([None if v is None else convert(v) for v in frame.iloc[:, i].tolist()],
                                            index=frame.index, dtype=object)
        return frame

    def bulk_insert(self, model, columns, rows):
        """Insert many rows fast, inside the caller's transaction: one
        ``executemany`` on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL
        (psycopg2's executemany is a round trip per row).

        :param columns: field names of ``model``; ``rows`` are tuples of
            database values in that order (no defaults are filled in).
        """
        self._bulk_write(model._meta.table_name, [model._meta.fields[c] for c in columns], rows)

    def insert_frame(self, model, frame):
        """``bulk_insert`` of a DataFrame's columns that are ``model``'s
        fields, converted to database values column by column (moments as
        UTC, money rounded to its places); other columns are left out."""
        from .importer import database_rows
        columns, rows = database_rows(model, frame)
        self.bulk_insert(model, columns, rows)

    def load_partition(self, model, field, key: int, columns, rows):
        """Replace the rows of ``model`` whose ``field`` is ``key`` with
        ``rows`` (as for :meth:`bulk_insert`), inside the caller's transaction.

        Meant for history written a batch at a time (a classification run).
        On PostgreSQL, when the plugin's migration has LIST-partitioned the
        table by ``field``, the rows are copied into a fresh table that is
        then attached as the key's partition: its indexes are built once and
        its foreign keys checked by one query, instead of row by row (four to
        five times faster for 100,000 rows). Otherwise: DELETE, then insert.
        Like ``bulk_insert`` it checks no access: its caller does.
        """
        key = int(key)
        table = model._meta.table_name
        fields = [model._meta.fields[c] for c in columns]
        if not _is_partitioned(self.db, table):
            model.delete().where(model._meta.fields[field] == key).execute()
            self._bulk_write(table, fields, rows)
            return
        partition = f"{table}_p{key}"
        self.db.execute_sql(f'DROP TABLE IF EXISTS "{partition}"')
        self.db.execute_sql(f'CREATE TABLE "{partition}" (LIKE "{table}" INCLUDING DEFAULTS)')
        self._bulk_write(partition, fields, rows)
        self.db.execute_sql(f'ALTER TABLE "{table}" ATTACH PARTITION "{partition}" FOR VALUES IN ({key})')

    def _bulk_write(self, table, fields, rows):
        names = ", ".join(f'"{f.column_name}"' for f in fields)
        cursor = self.db.cursor()
        if db.is_sqlite(self.db):
            cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(fields))})', rows)
        else:  # COPY: the server's own bulk path, several times faster than INSERTs
            cursor.copy_expert(f'COPY "{table}" ({names}) FROM STDIN', _CopySource(list(rows)))

    def display(self, entity, record) -> str:
        spec = self.registry.entity(entity)
        if callable(spec.display):
            from .i18n import in_context, speaking
            with speaking(self.lang), in_context(entity):      # its words in the user's language
                return str(spec.display(record))
        value = getattr(record, spec.display, None)
        return str(value) if value not in (None, "") else f"{spec.label or entity} {record.get_id()}"

    def paged(self, query, page, page_size, columns=None):
        """A page of a paged report's query (see ``ReportSpec.page_size``):
        ``(frame, rows)``, ``rows`` a one-row section with the total and how
        to get the rest."""
        from .reports import paged
        return paged(self, query, page, page_size, columns)

    def names(self, entity, keys) -> dict:
        """What the user sees of many records at once: ``{id: display}``
        for the visible ones among ``keys`` (ids), in one query (a display
        by field reads only that column). Keys not visible or not found are
        left out; the caller says what stands for them."""
        spec = self.registry.entity(entity)
        pk = spec.model._meta.primary_key
        keys = [int(k) for k in keys if k is not None and k == k]
        if not keys:
            return {}
        label = spec.label or entity
        if isinstance(spec.display, str) and spec.display in spec.model._meta.fields:
            field = spec.model._meta.fields[spec.display]
            rows = self.db.execute(self.query(entity, pk, field, include_marked=True).where(db.among(pk, keys)))
            return {rid: str(value) if value not in (None, "") else f"{label} {rid}" for rid, value in rows}
        records = self.query(entity, include_marked=True).where(db.among(pk, keys))
        return {record.get_id(): self.display(entity, record) for record in records}

    def subject(self, ref):
        """Resolve a subject reference to ``(entity, record)`` the user may see."""
        subject = subjects.parse(ref, self.registry)
        if subject is None:
            return None, None
        return subject.entity, self.get(subject.entity, subject.id)

    def describe(self, ref) -> str:
        """"Сделка с клиентом: Продажа телевизоров" for a subject reference."""
        entity, record = self.subject(ref)
        if record is None:
            return ""
        text = self.pm.hook.crmkit_describe_subject(crm=self, entity=entity, record=record)
        spec = self.registry.entity(entity)
        return text or f"{spec.label or entity}: {self.display(entity, record)}"

    def related(self, ref, entity):
        """Records of ``entity`` whose subject is ``ref`` (a deal's interactions ...)."""
        subject = subjects.parse(ref, self.registry)
        model = self.model(entity)
        return list(self.query(entity).where((model.subject_type == subject.entity)
                                             & (model.subject_id == subject.id)).order_by(model.id))

    # -- writing ---------------------------------------------------------
    def create(self, entity, data: dict):
        """Validate, check access, insert in a transaction, fire events."""
        return self._write(entity, None, data)

    def update(self, entity, key, data: dict):
        return self._write(entity, key, data)

    def mark_deleted(self, entity, key, mark=True):
        """Set or clear the deletion mark (1C's пометка удаления)."""
        spec = self.registry.entity(entity)
        if "deletion_mark" not in spec.model._meta.fields:
            raise ValidationError({"deletion_mark": "this entity has no deletion mark"}, entity)
        return self._write(entity, key, {"deletion_mark": bool(mark)})

    def delete(self, entity, key):
        """Delete a record for good; it must carry a deletion mark first."""
        spec = self.registry.entity(entity)
        self.require("delete", entity)
        with db.transaction():
            record = self.get(entity, key, for_update=True)
            if getattr(record, "deletion_mark", True) is False:
                raise ValidationError({"deletion_mark": "mark the record for deletion before deleting it"}, entity)
            try:
                record.delete_instance()
            except pw.IntegrityError:
                raise ValidationError({"id": "other records still refer to this one"}, entity) from None
            self._log(spec, record.get_id(), "delete", {})
            self.pm.hook.crmkit_entity_deleted(crm=self, entity=entity, record=record)
        return record

    def _prepare(self, spec, data, record):
        data = dict(data)
        model = spec.model
        if "subject" in data and "subject_type" in model._meta.fields:
            ref = subjects.parse(data.pop("subject"), self.registry)
            data["subject_type"] = ref.entity if ref else None
            data["subject_id"] = ref.id if ref else None
        elif "subject_type" in data and data.get("subject_type"):
            subjects.parse((data["subject_type"], data.get("subject_id")), self.registry)
        for name, value in list(data.items()):  # records given for references
            if isinstance(value, pw.Model):
                data[name] = value.get_id()
        return data

    def _named_references(self, spec, data):
        """References typed as text (a code, a login, a name) become the ids
        of the visible records they name (``references.resolve``), so the CLI
        and the API take them as the import does; ``(data, errors)``."""
        from . import references
        errors = {}
        model = spec.model
        for name, value in list(data.items()):
            field = model._meta.fields.get(name)
            if not isinstance(field, pw.ForeignKeyField) or not isinstance(value, str) or not value.strip():
                continue
            target = self.registry.spec_of_model(field.rel_model)
            text = value.strip()
            if target is None or UNSTORABLE.search(text):
                continue
            found, ambiguous = references.resolve(self, target, [text])
            if text in found:
                data[name] = found[text]
            elif text in ambiguous:
                errors[name] = [Message("{value} names several records ({ids}): give the id or code", domain="kernel",
                                        value=repr(text), ids=", ".join(map(str, ambiguous[text])))]
                data.pop(name)
            elif not (text.isascii() and text.isdigit()):
                errors[name] = [Message("{value} does not exist", domain="kernel", value=repr(text))]
                data.pop(name)
        return data, errors

    def _check_references(self, spec, doc):
        """Every reference must point at a record the user may see."""
        errors = {}
        model = spec.model
        for name, value in doc.items():
            field = model._meta.fields.get(name)
            if isinstance(field, pw.ForeignKeyField) and value is not None:
                target = self.registry.spec_of_model(field.rel_model)
                if target is not None:
                    ok = self._visible_exists(target, value)
                else:
                    ok = field.rel_model.select().where(field.rel_model._meta.primary_key == value).exists()
                if not ok:
                    errors[name] = [Message("{value} does not exist", domain="kernel", value=repr(value))]
        if doc.get("subject_type") and "subject_id" in doc:  # a refused id is already an error
            try:
                self.get(doc["subject_type"], doc["subject_id"])
            except (NotFound, AccessDenied):
                errors["subject"] = [Message("{value} does not exist", domain="kernel",
                                             value=f"{doc['subject_type']}:{doc['subject_id']}")]
        return errors

    def _visible_exists(self, target, value) -> bool:
        """Is ``value`` the key of a ``target`` row the user may see? The
        probe's SQL is written once per target and actor when the access
        filter depends on the actor alone (compiling it anew was a third of
        a create's time); the key is its first parameter."""
        pk = target.model._meta.primary_key
        static = access.filter_is_static(target, self.registry)
        key = (id(self.registry), target.name, self.actor, self.db.param)
        if not static or key not in _PROBE_SQL:
            q = target.model.select(pk).where(pk == value)
            cond = access.visible_filter(self.actor, target, self.registry)
            sql, params = (q.where(cond) if cond is not None else q).limit(1).sql()
            if not static or not params or params[0] != pk.db_value(value):
                return self.db.execute_sql(sql, params).fetchone() is not None
            _PROBE_SQL[key] = (sql, params[1:])
        sql, rest = _PROBE_SQL[key]
        return self.db.execute_sql(sql, [pk.db_value(value), *rest]).fetchone() is not None

    def _check_unique(self, spec, doc, record):
        errors = {}
        model = spec.model
        for name, value in doc.items():
            field = model._meta.fields.get(name)
            if field is not None and field.unique and value not in (None, ""):
                q = model.select().where(field == value)
                if record is not None:
                    q = q.where(model._meta.primary_key != record.get_id())
                if q.exists():
                    errors[name] = [f"{value!r} is already used"]
        return errors

    def _check_access_group(self, spec, doc, record):
        """The field that decides who sees a partner: a non-administrator
        may put a partner only in one of their own access groups, and may
        never take a partner out of its group (that would show it to every
        group). Every other field that decides visibility is a reference
        (partner path, subject), checked by ``_check_references`` to point
        at a visible record, and the saved record must stay visible."""
        if spec.partner_path != "self" or self.actor.is_admin or "access_group" not in doc:
            return {}
        group = doc["access_group"]
        if group is not None and group not in self.actor.access_groups:
            return {"access_group": ["you may only use your own access groups"]}
        if group is None and record is not None and record.access_group_id is not None:
            return {"access_group": ["only an administrator may clear a partner's access group"]}
        return {}

    def _derive_partner(self, spec, doc, record):
        """A record about a subject hangs off the subject's partner too."""
        path = spec.partner_path if not isinstance(spec.partner_path, tuple) else spec.partner_path[0]
        if not path or path == "self" or doc.get(path) is not None:
            return
        if record is not None and getattr(record, path + "_id", None) is not None:
            return
        if not doc.get("subject_type"):
            return
        subject_spec = self.registry.entity(doc["subject_type"])
        sub_path = subject_spec.partner_path
        if not sub_path:
            return
        subject = subject_spec.model.get_or_none(subject_spec.model._meta.primary_key == doc["subject_id"])
        if subject is None:
            return
        partner_id = subject.get_id() if sub_path == "self" else getattr(subject, sub_path + "_id", None)
        field = spec.model._meta.fields.get(path)
        target = self.registry.spec_of_model(field.rel_model) if field is not None else None
        if partner_id is not None and target is not None and target.partner_path == "self":
            doc[path] = partner_id

    def next_code(self, spec) -> str:
        """The next code of an entity's series, e.g. ``00-00000037``.

        Taken inside the write's transaction: the sequence row is locked
        until commit, so concurrent creators never get the same number. A
        code already stored (given by an administrator, or written before
        the series existed) is skipped: the series moves past the highest
        stored one, so no record can block numbering for everyone.
        """
        code = self._take_code(spec)
        field = getattr(spec.model, spec.code_field)
        if spec.model.select(field).where(field == code).exists():
            self.advance_series(spec, self._highest_in_series(spec))
            code = self._take_code(spec)
        return code

    def _take_code(self, spec, count=1) -> str:
        name, param = spec.name, self.db.param
        sql = f"UPDATE kernel_sequence SET value = value + {int(count)} WHERE name = {param} RETURNING value"
        row = self.db.execute_sql(sql, (name,)).fetchone()
        if row is None:  # the first code of a series: start after the highest code already stored
            Sequence.insert(name=name, value=self._highest_in_series(spec)).on_conflict_ignore().execute()
            row = self.db.execute_sql(sql, (name,)).fetchone()
        return f"{spec.code_prefix}{row[0] - count + 1:08d}"

    def _highest_in_series(self, spec) -> int:
        from .validation import series_number
        field = getattr(spec.model, spec.code_field)
        top = 0
        for (code,) in spec.model.select(field).where(field.startswith(spec.code_prefix)).tuples():
            number = series_number(spec.code_prefix, code)
            if number is not None:
                top = max(top, number)
        return top

    def reserve_codes(self, spec, count) -> list[str]:
        """``count`` fresh codes of the series at once (a bulk import), none
        of them stored already."""
        from .validation import series_number
        if count <= 0:
            return []
        first = self._take_code(spec, count)
        start = series_number(spec.code_prefix, first)
        field = getattr(spec.model, spec.code_field)
        last = f"{spec.code_prefix}{start + count - 1:08d}"
        if spec.model.select(field).where(field.between(first, last)).exists():
            self.advance_series(spec, self._highest_in_series(spec))
            first = self._take_code(spec, count)
            start = series_number(spec.code_prefix, first)
        return [f"{spec.code_prefix}{i:08d}" for i in range(start, start + count)]

    def advance_series(self, spec, number):
        """Move the series past ``number`` (a code an administrator gave)."""
        if number is None:
            return
        param = self.db.param
        self.db.execute_sql(f"UPDATE kernel_sequence SET value = {param} WHERE name = {param} AND value < {param}",
                            (int(number), spec.name, int(number)))

    def _write(self, entity, key, data):
        with self.reading_input(), db.concurrency_errors():
            return self._write_in_zone(entity, key, data)

    def _write_in_zone(self, entity, key, data):
        spec = self.registry.entity(entity)
        creating = key is None
        self.require("create" if creating else "update", entity)
        if creating:
            return self._save(spec, entity, None, *self._validated(spec, entity, data, None))
        with db.transaction():
            # an update reads the record under its write lock and validates it
            # there: a concurrent write cannot change it between check and save
            record = self.get(entity, key, for_update=True)
            return self._save(spec, entity, record, *self._validated(spec, entity, data, record))

    def _validated(self, spec, entity, data, record) -> tuple[dict, dict]:
        """The checked document of a write and of its additional attributes,
        or a ValidationError with every problem."""
        from . import attributes
        creating = record is None
        if isinstance(data, dict):
            data, extra = attributes.split(self, entity, data)
        else:
            extra = {}
        try:
            prepared, early = self._prepare(spec, data, record), {}
        except ValidationError as exc:   # a malformed subject: still report every other field's problems
            early = exc.errors
            prepared = self._prepare(spec, {k: v for k, v in data.items() if k not in SUBJECT_FIELDS}, record)
        prepared, named = self._named_references(spec, prepared)
        early.update(named)
        doc, errors = check(spec, prepared, update=not creating, admin=self.actor.is_admin)
        extra, extra_errors = attributes.check(self, spec, extra)
        errors.update(extra_errors)
        errors.update(early)
        errors.update(self._check_references(spec, doc))  # every field's problems at once
        taken = self._check_unique(spec, doc, record)
        if taken and not errors:
            raise Conflict(taken, entity)
        errors.update(taken)
        if errors:
            raise ValidationError(errors, entity)
        errors.update(self._check_access_group(spec, doc, record))
        for result in self.pm.hook.crmkit_validate_record(crm=self, entity=entity, data=doc, record=record):
            for field, msgs in (result or {}).items():
                errors.setdefault(field, []).extend(msgs if isinstance(msgs, (list, tuple)) else [msgs])
        if errors:
            raise ValidationError(errors, entity)
        self._derive_partner(spec, doc, record)
        return doc, extra

    def _save(self, spec, entity, record, doc, extra=None):
        from . import attributes
        creating = record is None
        model = spec.model
        now = db.utcnow()
        with db.transaction():
            try:
                if creating:
                    if spec.code_prefix and not doc.get(spec.code_field):
                        doc[spec.code_field] = self.next_code(spec)
                    elif spec.code_prefix:
                        self.advance_series(spec, series_number(spec.code_prefix, doc[spec.code_field]))
                    for stamp in ("created_at", "changed_at"):
                        if stamp in model._meta.fields:
                            doc[stamp] = now
                    if "created_by" in model._meta.fields and self.actor.id is not None:
                        doc["created_by"] = self.actor.id
                    record = model(**doc)
                    self._insert(model, record)
                    changes = {k: (None, v) for k, v in doc.items()}
                else:
                    changes = {}
                    for name, value in doc.items():
                        old = getattr(record, name + "_id", None) if isinstance(
                            model._meta.fields.get(name), pw.ForeignKeyField) else getattr(record, name)
                        if plain(old) != plain(value):
                            changes[name] = (old, value)
                            setattr(record, name, value)
                    if spec.code_prefix and spec.code_field in changes:
                        self.advance_series(spec, series_number(spec.code_prefix, doc[spec.code_field]))
                    if changes:
                        if "changed_at" in model._meta.fields:
                            record.changed_at = now
                        record.save(only=[model._meta.fields[n] for n in changes]
                                    + ([model.changed_at] if "changed_at" in model._meta.fields else []))
                if extra:   # additional attributes: rows of the value table, same transaction
                    extra_changes = attributes.store(self, spec, record.get_id(), extra, creating)
                    if extra_changes and not creating and not changes and "changed_at" in model._meta.fields:
                        record.changed_at = now
                        record.save(only=[model.changed_at])
                    changes.update(extra_changes)
                if not creating and spec.partner_path and changes:
                    # a moved record must still be one the user may see
                    if self.query(entity, include_marked=True).where(
                            model._meta.primary_key == record.get_id()).count() == 0:
                        raise AccessDenied(f"user {self.actor.login!r} may not move {entity} out of their access")
                if creating or changes:
                    self._log(spec, record.get_id(), "create" if creating else self._action(changes), changes)
                    self.pm.hook.crmkit_entity_saved(crm=self, entity=entity, record=record,
                                                     created=creating, changes=changes)
            except pw.IntegrityError as exc:
                raise Conflict({"_": f"the database refused the write: {exc}"}, entity) from None
        return record

    def _insert(self, model, record):
        """``record.save(force_insert=True)`` with plain SQL: the statement
        for a model and column set is written once (peewee compiled it anew
        for every create, a fifth of the time of one)."""
        pk = model._meta.primary_key
        if not pk or model._meta.composite_key:
            record.save(force_insert=True)
            return
        data = {k: v for k, v in record.__data__.items() if not (k == pk.name and v is None)}
        fields = [model._meta.fields[k] for k in data]
        key = (model, tuple(data), self.db.param, self.db.returning_clause)
        sql = _INSERT_SQL.get(key)
        if sql is None:
            columns = ", ".join('"%s"' % f.column_name for f in fields)
            sql = (f'INSERT INTO "{model._meta.table_name}" ({columns}) '
                   f'VALUES ({", ".join([self.db.param] * len(fields))})'
                   + (f' RETURNING "{pk.column_name}"' if self.db.returning_clause else ""))
            _INSERT_SQL[key] = sql
        cursor = self.db.execute_sql(sql, [f.db_value(v) for f, v in zip(fields, data.values())])
        if pk.name not in data:
            record._pk = cursor.fetchone()[0] if self.db.returning_clause else cursor.lastrowid
        record._dirty.clear()

    @staticmethod
    def _action(changes):
        if set(changes) == {"deletion_mark"}:
            return "mark" if changes["deletion_mark"][1] else "unmark"
        return "update"

    def _log(self, spec, record_id, action, changes):
        user = self.actor.login
        if action == "create":
            rows = [{"entity": spec.name, "record_id": record_id, "action": "create", "field": "",
                     "old": None, "new": json.dumps({k: plain(v) for k, (_, v) in changes.items()},
                                                    ensure_ascii=False, default=str), "user": user}]
        elif not changes:
            rows = [{"entity": spec.name, "record_id": record_id, "action": action, "field": "",
                     "old": None, "new": None, "user": user}]
        else:
            rows = [{"entity": spec.name, "record_id": record_id, "action": action, "field": name,
                     "old": None if old is None else str(plain(old)),
                     "new": None if new is None else str(plain(new)), "user": user}
                    for name, (old, new) in changes.items()]
        now = db.utcnow().replace(tzinfo=None)
        p = self.db.param
        self.db.cursor().executemany(
            'INSERT INTO "kernel_change" ("entity", "record_id", "action", "field", "old", "new", "user", "at") '
            f"VALUES ({', '.join([p] * 8)})",
            [(r["entity"], r["record_id"], r["action"], r["field"], r["old"], r["new"], r["user"], now) for r in rows])

    def scrub_history(self, entity, record_ids, fields=None):
        """Replace the old and new values of records' history with
        ``[erased]`` (personal-data erasure); the fact of each change stays."""
        mine = (Change.entity == entity) & Change.record_id.in_(list(record_ids))
        q = Change.update(old=pw.Case(None, [(Change.old.is_null(), None)], "[erased]"),
                          new=pw.Case(None, [(Change.new.is_null(), None)], "[erased]")).where(
            mine & ~Change.field.contains(FIELDS_SEPARATOR))
        if fields is not None:
            q = q.where(Change.field.in_(list(fields)) | (Change.action == "create"))
        done = q.execute()
        for row in Change.select().where(mine & Change.field.contains(FIELDS_SEPARATOR)):
            names = row.field.split(FIELDS_SEPARATOR)     # a row of several fields: the erased ones' values
            hit = [i for i, name in enumerate(names) if fields is None or name in fields]
            if not hit:
                continue
            old, new = _field_values(row.old, len(names)), _field_values(row.new, len(names))
            for i in hit:
                old[i] = None if old[i] is None else "[erased]"
                new[i] = None if new[i] is None else "[erased]"
            Change.update(old=json.dumps(old, ensure_ascii=False), new=json.dumps(new, ensure_ascii=False)).where(
                Change.id == row.id).execute()
            done += 1
        return done

    def log_action(self, entity, record_id, action, note=""):
        """Record an action that is not a field change (an erasure, an export)."""
        if len(action) > 16:   # the history's column; SQLite would store it, PostgreSQL refuses it
            raise ValueError(f"a history action is at most 16 characters: {action!r}")
        spec = self.registry.entity(entity)
        self._log(spec, record_id, action, {"_": (None, note)} if note else {})

    def record_changes(self, entity, field, ids, old, new):
        """Record in the change history that ``field`` of the records
        ``ids`` went from ``old`` to ``new`` (sequences of the same length,
        or ``new`` one value for all), written in one statement: a plugin's
        own bulk write of many rows (``deals.recompute_probabilities``)
        keeps the history a row-by-row update would. The caller has checked
        the verb and wrote only rows the user sees.

        ``field`` may be a tuple of fields that changed together in every
        one of the records: ``old`` then holds a tuple of values per record
        and ``new`` a tuple per record or one tuple for all. Each record
        gets one history row for them all instead of one per field (the
        database's cost of the history is per row: a recompute of 200,000
        deals writes 200,000 rows, not 400,000); :meth:`history` gives it
        back as the rows per field it stands for, so every reader shows the
        same as for rows written one per field."""
        from itertools import repeat
        self.registry.entity(entity)    # an unknown entity fails loudly

        def text(values):
            values = list(values)
            if all(type(v) is int or type(v) is str for v in values):   # the usual case: no plain() per value
                return list(map(str, values))
            return [None if v is None else str(plain(v)) for v in values]

        def one(v):
            return None if v is None else str(plain(v))

        if not isinstance(field, str):
            fields = tuple(field)
            joined = FIELDS_SEPARATOR.join(fields)
            if not fields or any(FIELDS_SEPARATOR in f or not f for f in fields) or len(joined) > 100:
                raise ValueError(f"fields recorded together must be named, without {FIELDS_SEPARATOR!r}, "
                                 f"at most 100 characters together: {fields!r}")
            made: dict = {}

            def packed(values):   # a tuple of values as the row's JSON list, made once per distinct tuple
                values = tuple(values)
                if values not in made:
                    if len(values) != len(fields):
                        raise ValueError(f"{len(values)} values for the {len(fields)} fields {fields!r}")
                    made[values] = json.dumps([one(v) for v in values], ensure_ascii=False)
                return made[values]
            field, old = joined, [packed(v) for v in old]
            new = packed(new) if isinstance(new, tuple) else [packed(v) for v in new]
            news = repeat(new) if isinstance(new, str) else new
        else:
            old = text(old)
            news = repeat(one(new)) if isinstance(new, (str, int)) or new is None else text(new)
        at = db.utcnow().replace(tzinfo=None).isoformat(" ")   # as the adapter would write it, made once
        self.bulk_insert(Change, ("entity", "record_id", "action", "field", "old", "new", "user", "at"),
                         list(zip(repeat(entity), map(int, ids), repeat("update"), repeat(field), old, news,
                                  repeat(self.actor.login), repeat(at))))

    def history(self, entity, key):
        """The change history of one visible record, oldest first: a row per
        changed field (a row that recorded several fields together, see
        :meth:`record_changes`, comes back as one per field, in their order)."""
        record = self.get(entity, key)
        out = []
        for row in (Change.select().where((Change.entity == entity) & (Change.record_id == record.get_id()))
                    .order_by(Change.at, Change.id)):
            out.extend(_per_field(row) if FIELDS_SEPARATOR in row.field else [row])
        return out

    # -- additional attributes ----------------------------------------
    def attributes(self, entity) -> list:
        """The additional attributes of ``entity`` (``kernel_attribute`` rows)."""
        from . import attributes
        self.require("read", entity)
        return list(attributes.definitions(self, entity).values())

    def attribute_term(self, entity, name):
        """The additional attribute ``name``'s value for each row of a query
        of ``entity``, as an expression to select, sort and compare with
        (a scalar subquery on the attribute values' index)."""
        from . import attributes
        return attributes.value_term(self, entity, name)

    def attribute_fields(self, entity) -> dict:
        """``{name: peewee field}`` standing for each additional attribute
        (nullable, of the attribute's type: what forms and documents are
        built from); their definitions are ``crm.attributes(entity)``."""
        from . import attributes
        defs = attributes.definitions(self, entity)
        if not defs:
            return {}
        return {n: f for n, f in attributes.shadow(self, entity).model._meta.fields.items() if n in defs}

    def attributes_stamp(self) -> tuple:
        """Changes whenever an attribute is added or removed (anywhere):
        a key for documents built from the schemas (OpenAPI)."""
        from .models import Attribute
        return tuple(Attribute.select(pw.fn.COUNT(Attribute.id), pw.fn.MAX(Attribute.id)).tuples().first() or ())

    def attribute_labels(self, entity) -> dict:
        """``{name: label}`` of the attributes in the session's language."""
        from . import attributes
        return {n: attributes.label_of(a, self.lang) for n, a in attributes.definitions(self, entity).items()}

    def attribute_values(self, entity, ids) -> dict:
        """``{id: {attribute: value}}`` of the visible records among ``ids``."""
        from . import attributes
        return attributes.values(self, entity, ids)

    def define_attribute(self, entity, name, kind, **options):
        """Add an additional attribute (administrators; see ``kernel.attributes``)."""
        from . import attributes
        with db.transaction():
            return attributes.define(self, entity, name, kind, **options)

    def change_attribute(self, entity, name, **changes):
        """Change an attribute's labels or choices (administrators)."""
        from . import attributes
        with db.transaction():
            return attributes.change(self, entity, name, **changes)

    def remove_attribute(self, entity, name) -> int:
        """Remove an attribute and its values (administrators)."""
        from . import attributes
        with db.transaction():
            return attributes.remove(self, entity, name)

    def attribute_condition(self, entity, name, op, value):
        """The condition ``name op value`` on an additional attribute of
        ``entity`` for the entity's rows (segment rules; ops of
        ``FILTER_OPS`` and ``not_in``), or None when it is no attribute."""
        from . import attributes
        if name not in attributes.definitions(self, entity):
            return None
        return attributes.segment_condition(self, entity, name, op, value)

    def erase_attribute_values(self, entity, ids) -> int:
        """Delete every additional attribute value of records (personal-data
        erasure); their history values are scrubbed by ``scrub_history``."""
        from . import attributes
        return attributes.erase(self, entity, ids)

    def attribute_rows(self, entity, ids) -> list:
        """Labelled attribute values of the visible records among ``ids``
        (a subject access export)."""
        from . import attributes
        return attributes.export_rows(self, entity, ids, self.lang)

    # -- actions ---------------------------------------------------------
    def actions(self, entity=None):
        """The actions on ``entity`` (None: those on no entity) the acting
        user may run."""
        return [a for a in self.registry.actions_of(entity) if self.may_act(a)]

    def may_act(self, action) -> bool:
        spec = self.registry.action(action) if isinstance(action, str) else action
        if spec.admin_only and not self.actor.is_admin:
            return False
        return spec.entity is None and self.actor.is_admin or \
            spec.entity is not None and self.can(spec.verb, spec.entity)

    def act(self, name, key=None, /, **params):
        """Run action ``name`` (``deals.win``) on the record ``key`` (id,
        code or record) as the acting user: the parameters are checked
        against the action's schema (every problem at once), the user must
        see the record and hold the action's verb on its entity, then the
        action runs in one transaction (a failure leaves nothing written).
        """
        from .validation import check_params
        spec = self.registry.action(name)
        if not self.may_act(spec):
            from .i18n import Message
            said = Message("user {login} may not run {name}", domain="kernel", login=repr(self.actor.login),
                           name=name)
            if spec.admin_only or spec.entity is None:
                raise AccessDenied(Message("{what}: it needs the role {roles}", context="kernel.message", what=said,
                                           roles="administrator"))
            raise access.denied(self.actor, self.registry.roles, spec.verb, spec.entity, said,
                                self.registry.admin_writes)
        with self.reading_input():
            clean = check_params(spec, params)
        record = None
        if spec.on_record:
            if key is None:
                raise ValidationError({"id": "the action needs a record"}, spec.entity)
            # a record given is looked up again: it must be one this user sees
            record = self.get(spec.entity, key.get_id() if isinstance(key, pw.Model) else key)
        elif key is not None:
            raise ValidationError({"id": "the action takes no record"}, spec.entity)
        if not spec.transaction:
            return spec.run(self, record, **clean)
        with db.transaction():
            return spec.run(self, record, **clean)

    # -- duplicates ------------------------------------------------------
    def duplicates(self, entity, data, exclude=None):
        """Visible records that look like ``data`` by the entity's duplicate
        rules: ``[{"id", "rule", "score", "mode", "label"}]``, best first."""
        from .duplicates import matches
        return matches(self, entity, data, exclude_id=exclude)

    def reindex_duplicates(self, entity, ids=None):
        """Refresh the duplicate keys of ``ids`` (all when None) of ``entity``;
        rule owners call it when the records their keys come from change."""
        from .duplicates import reindex
        return reindex(self, entity, ids)

    def duplicate_groups(self, entity, rules=None):
        """Candidate groups among the visible records (a DataFrame)."""
        from .duplicates import candidate_groups
        return candidate_groups(self, entity, rules)

    def merge(self, entity, survivor, merged, take=()):
        """Merge ``merged`` into ``survivor`` (see ``crmkit.kernel.merge``)."""
        from .merge import merge
        return merge(self, entity, survivor, merged, take)

    # -- reports, templates, import/export ------------------------------
    def report(self, report_id, **params):
        """Run a report as the acting user; returns a ``ReportResult``."""
        from .reports import run_report
        return run_report(self, report_id, params)

    def render_template(self, source, context=None, html=False, field="template", entity=None):
        """Render a user-edited template in the sandbox with the registered
        parameters (``#ПредставлениеПартнера#``) computed for ``context``."""
        from .templates import RecordView, parameters_used, render_user_template
        context = dict(context or {})
        params = {}
        for name in parameters_used(source or ""):
            spec = self.registry.template_parameters.get(name)
            if spec is not None and (spec.entity is None or entity is None or spec.entity == entity):
                params[name] = spec.compute(self, context)
        # parameters get the records; the template only read-only views of them
        views = {k: RecordView(self, v) if isinstance(v, pw.Model) else v for k, v in context.items()}
        return render_user_template(source, {**views, "p": params}, html=html, field=field)

    def check_template(self, source, html=False, field="template"):
        """Refuse at save time (ValidationError naming ``field``) a user
        template that breaks the sandbox's bounds in any context the probes
        reach (``templates.check_user_template``)."""
        from .templates import check_user_template
        check_user_template(source or "", html=html, field=field)

    def import_file(self, entity, path, **options):
        from .importer import import_file
        with self.reading_input():
            return import_file(self, entity, path, **options)

    def import_frame(self, entity, frame, **options):
        from .importer import import_frame
        with self.reading_input():
            return import_frame(self, entity, frame, **options)

    def export(self, entity, fmt="csv", out=None, **filters):
        from .importer import export
        return export(self, entity, fmt, out, **filters)


def _is_id(key) -> bool:
    """A key written as an id: ASCII digits only ("²" and "١" are digits to
    ``str.isdigit`` but not an id: not found, rather than int()'s ValueError)."""
    return isinstance(key, str) and key.isascii() and key.isdigit()


FIELDS_SEPARATOR = ","   # a history row of several fields names them joined by it (no field name has one)


def _field_values(text, n):
    """The values of a history row of ``n`` fields: its JSON list, or the
    text itself for each (a whole value replaced, as by an erasure)."""
    if text is None:
        return [None] * n
    try:
        values = json.loads(text)
    except ValueError:
        return [text] * n
    return list(values) if isinstance(values, list) and len(values) == n else [text] * n


def _per_field(row):
    """A history row of several fields as the rows, one per field, it stands for."""
    names = row.field.split(FIELDS_SEPARATOR)
    olds, news = _field_values(row.old, len(names)), _field_values(row.new, len(names))
    return [Change(id=row.id, entity=row.entity, record_id=row.record_id, action=row.action, field=name,
                   old=o, new=n, user=row.user, at=row.at) for name, o, n in zip(names, olds, news)]


from .i18n import add_plugin_domains as add_translation_domains  # noqa: E402  (crmkit.open declares them)


def open(url=None, user=None, plugins=None, extra=(), disabled=None, migrate=True, lang=None,
         plugin_manager=None, create=True):
    """Open a crmkit database as a user.

    :param url: ``sqlite:///path.db`` (default ``$CRMKIT_DATABASE_URL`` or
        ``sqlite:///crmkit.db``) or ``postgresql://user@host/db``.
    :param user: login of the acting user; default ``$CRMKIT_USER`` or the
        built-in ``system`` administrator.
    :param plugins: names of plugins to load (core always); default all installed.
    :param extra: plugin modules/objects to register besides the installed ones.
    :param migrate: apply pending migrations first.
    :param plugin_manager: a ``(pm, plugins)`` pair already built, to reuse.
    :param create: make a SQLite file (and its folder) that does not exist;
        ``False`` makes a missing file a ``DatabaseUnavailable`` error (the
        CLI's default: only ``crmkit init``, ``crmkit demo`` and ``--create``
        create one).
    """
    pm, loaded = plugin_manager or make_plugin_manager(only=plugins, extra=extra, disabled=disabled)
    registry = Registry()
    registry.fill(pm)
    from .i18n import check_language
    lang = check_language(lang or os.environ.get("CRMKIT_LANG") or "en")
    add_translation_domains(loaded)
    database = db.connect(url, create=create)
    crm = Crm(database, pm, loaded, registry, access.Actor.system(),
              lang)
    if migrate:
        crm.migrate()
    login = user if user is not None else os.environ.get("CRMKIT_USER") or None
    crm.actor = crm._load_actor(login)
    crm.zone   # a misspelled CRMKIT_TZ is an error at once, not at the first time shown
    return crm
