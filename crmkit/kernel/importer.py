"""Bulk import and export of any registered entity.

Import reads CSV (encoding and delimiter detected), JSON or JSON Lines in
chunks bounded by bytes (``filereader``),
validates each chunk with the entity's schema vectorised
(``validate_frame``), resolves references by id or lookup code among the
rows the user may see, and writes everything in one transaction: either all
rows land or none (unless ``skip_invalid``, which writes the good rows and a
reject file with a reason per row). Memory stays bounded by the chunk size.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import os
from pathlib import Path

import peewee as pw

from . import access, attributes, db, duplicates
from .errors import AccessDenied, ValidationError
from .models import Change
from .validation import UNSTORABLE, series_number, validate_frame

CHUNK = 100_000
MAX_REPORTED = 1000   # row errors kept in the exception; the reject file has all


def read_chunks(path, encoding=None, delimiter=None, mapping=None, chunk=CHUNK):
    """Yield DataFrames of strings from a CSV, JSON or JSON Lines file (gzip
    allowed), in chunks bounded by bytes as well as by ``chunk`` rows
    (``filereader``: memory does not depend on the file)."""
    from . import filereader
    path = Path(path)
    source, enc = filereader.open_source(path, encoding)
    name = path.name.removesuffix(".gz")
    try:
        if name.endswith((".jsonl", ".ndjson")):
            yield from filereader.read_json_chunks(source, enc, mapping, lines=True, rows=chunk)
        elif name.endswith(".json"):
            yield from filereader.read_json_chunks(source, enc, mapping, rows=chunk)
        else:
            yield from filereader.read_csv_chunks(source, enc, delimiter, mapping, rows=chunk)
    finally:
        source.close()


def _grouped(frames, column):
    """Chunks cut between groups of rows with one value of ``column``
    (the rows of a group that ends a chunk move to the next), so that a
    group's rows, if they come together in the file, come in one chunk."""
    import pandas as pd
    carry = None
    for frame in frames:
        if carry is not None:
            frame = pd.concat([carry, frame], ignore_index=True)
            carry = None
        if column not in frame.columns or frame.empty:
            yield frame
            continue
        values = frame[column].tolist()
        last = _group_key(values[-1])
        start = len(values) - 1     # where the last group's rows begin (walked back: a group is a few rows)
        while last is not None and start > 0 and _group_key(values[start - 1]) == last:
            start -= 1
        if last is None:
            start = len(values)
        if start == 0:
            carry = frame      # one group so far: read on
            continue
        carry = frame.iloc[start:].reset_index(drop=True) if start < len(values) else None
        yield frame.iloc[:start].reset_index(drop=True)
    if carry is not None:
        yield carry


def _group_key(value):
    """A grouping cell as ``_grouped`` compares it (blank: no group)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value).strip()


def _resolve_references(crm, spec, frame, errors, offset, mode="auto"):
    """Reference columns name visible rows by id, code or natural key
    (``references.resolve``; ``mode`` ``code``: never an id, ``id``: only
    ids, ``auto``: a code or key when it is one, else an id)."""
    import numpy as np
    from . import references
    model = spec.model
    for name in frame.columns:
        field = model._meta.fields.get(name)
        if not isinstance(field, pw.ForeignKeyField):
            continue
        target = crm.registry.spec_of_model(field.rel_model)
        col = frame[name].astype("string").str.strip()
        blank = col.isna() | (col == "")
        # text no column can hold (NUL, surrogates) or ids past 64 bits name nothing: never queried
        values = [v for v in col[~blank].unique().tolist() if not UNSTORABLE.search(v)]
        ambiguous: dict = {}
        if target is not None and mode != "id":
            ids, ambiguous = references.resolve(crm, target, values, ids=mode != "code")
        else:
            tmodel = field.rel_model
            pk = tmodel._meta.primary_key
            numeric = [int(v) for v in values if v.isascii() and v.isdigit() and len(v) < 19]
            q = tmodel.select(pk).where(db.among(pk, numeric))
            cond = access.visible_filter(crm.actor, target, crm.registry) if target else None
            if cond is not None:
                q = q.where(cond)
            ids = {str(pid): pid for (pid,) in crm.db.execute(q).fetchall()} if numeric else {}
        mapped = col.map(ids)
        bad = ~blank & mapped.isna()
        for pos in np.flatnonzero(bad.to_numpy()):
            value = col.iloc[pos]
            message = (f"{value!r} names several records ({', '.join(map(str, ambiguous[value]))}): "
                       "give the id or code") if value in ambiguous else f"{value!r} does not exist"
            errors.setdefault(offset + int(pos), {}).setdefault(name, []).append(message)
        frame[name] = mapped.astype("Int64").astype(object).where(~mapped.isna(), None)
    return frame


def _check_unique(spec, frame, errors, offset, seen, own=None):
    """Unique fields: a value used by another stored row (``own``: the ids
    of the rows an update writes, whose own values are theirs), or twice
    in the file, is refused."""
    import numpy as np
    for name, field in spec.model._meta.fields.items():
        if not field.unique or name not in frame.columns:
            continue
        col = frame[name]
        present = col.notna() & (col.astype("string") != "")
        dup_in_file = col.duplicated(keep="first") & present
        known = seen.setdefault(name, set())
        dup_before = col.isin(known) & present
        values = [v for v in col[present].astype(str).unique().tolist() if not UNSTORABLE.search(v)]
        pk = spec.model._meta.primary_key
        existing = {str(v): rid for v, rid in   # one query, the values as one parameter
                    spec.model.select(field, pk).where(db.among(field, values)).tuples()} if values else {}
        holder = col.astype(str).map(existing)
        in_db = holder.notna() & present
        if own is not None:
            in_db &= holder.to_numpy(dtype=object) != np.array(own, dtype=object)
        for pos in np.flatnonzero((dup_in_file | dup_before | in_db).to_numpy()):
            errors.setdefault(offset + int(pos), {}).setdefault(name, []).append(
                f"{col.iloc[pos]!r} is already used")
        known.update(values)


def _write_rows(crm, spec, frame):
    """Insert a clean chunk in bulk; returns the frame as written (codes
    numbered, stamps and defaults filled) with its ``id`` column."""
    import pandas as pd
    model = spec.model
    now = db.utcnow()
    n = len(frame)
    if spec.code_prefix and (spec.code_field not in frame.columns or frame[spec.code_field].isna().any()):
        col = frame[spec.code_field] if spec.code_field in frame.columns else pd.Series([None] * n, index=frame.index)
        need = int(col.isna().sum())
        given = [series_number(spec.code_prefix, v) for v in col.dropna().tolist()]
        crm.advance_series(spec, max((g for g in given if g is not None), default=None))
        codes = iter(crm.reserve_codes(spec, need))
        frame[spec.code_field] = [next(codes) if pd.isna(v) else v for v in col.tolist()]
    elif spec.code_prefix:  # every code given (by an administrator): the series moves past them
        given = [series_number(spec.code_prefix, v) for v in frame[spec.code_field].tolist()]
        crm.advance_series(spec, max((g for g in given if g is not None), default=None))
    for stamp in ("created_at", "changed_at"):
        if stamp in model._meta.fields and stamp not in frame.columns:
            frame[stamp] = now
    if "created_by" in model._meta.fields and crm.actor.id is not None:
        frame["created_by"] = crm.actor.id
    for name, field in model._meta.fields.items():
        if name not in frame.columns and not isinstance(field, pw.AutoField) and field.default is not None:
            frame[name] = field.default() if callable(field.default) else field.default
    pk = model._meta.primary_key
    before = model.select(pw.fn.MAX(pk)).scalar() or 0
    crm.insert_frame(model, frame)
    after = model.select(pw.fn.MAX(pk)).scalar() or 0
    lookup = spec.lookup if spec.lookup and spec.lookup in frame.columns else None
    if lookup:   # ids by the unique lookup: right however the database numbers them
        field = model._meta.fields[lookup]
        ids = {}
        values = frame[lookup].tolist()
        for start in range(0, len(values), 5000):
            q = model.select(field, pk).where(db.among(field, values[start:start + 5000]))
            ids.update(dict(crm.db.execute(q).fetchall()))
        frame["id"] = [ids.get(v) for v in values]
    elif after - before == n:   # one writer (the import holds the write lock): consecutive ids
        frame["id"] = list(range(before + 1, after + 1))
    else:
        frame["id"] = None
    return frame


def database_rows(model, frame):
    """``(columns, rows)`` of the frame's model columns as database values,
    converted column by column (never a conversion per cell chosen per cell)."""
    columns = [c for c in frame.columns if c in model._meta.fields]
    fields = [model._meta.fields[c] for c in columns]
    converted = []
    for c, field in zip(columns, fields):
        col = frame[c]
        missing = col.isna().to_numpy()     # once per column, not a test per cell
        if isinstance(field, pw.DateTimeField):
            converted.append(_datetimes(col, missing))
            continue
        if isinstance(field, pw.DecimalField):
            convert = functools.partial(_rounded, digits=field.decimal_places)
        elif isinstance(field, pw.BooleanField):
            convert = bool
        elif isinstance(field, (pw.IntegerField, pw.ForeignKeyField)):
            convert = int
        else:
            convert = None
        values = col.tolist()
        if missing.any():
            values = [None if m else (v if convert is None else convert(v)) for v, m in zip(values, missing)]
        elif convert is not None:
            values = list(map(convert, values))
        converted.append(values)
    return columns, list(zip(*converted))


def _rounded(value, digits):
    return round(float(value), digits)


def _datetimes(col, missing):
    """A column of moments as naive UTC values for the driver. On SQLite as
    the text sqlite3's adapter would write (``isoformat(" ")``), made once per
    distinct moment: the adapter, called per cell, was a twelfth of a large
    import (the two stamps of every row are one moment)."""
    import pandas as pd
    moments = pd.to_datetime(col, utc=True).dt.tz_localize(None)
    codes, distinct = pd.factorize(moments)
    if db.is_sqlite():
        made = [v.isoformat(" ") for v in distinct.to_pydatetime().tolist()]
    else:
        made = distinct.to_pydatetime().tolist()
    import numpy as np
    return np.array(made + [None], dtype=object)[codes].tolist()      # code -1 (no moment): None


def _check_access_groups(crm, spec, frame, errors, offset, records=None):
    """A non-administrator may only put partners in their own access groups,
    and never take a stored partner out of its group (as in ``update``)."""
    import numpy as np
    if spec.partner_path != "self" or crm.actor.is_admin or "access_group" not in frame.columns:
        return
    col = frame["access_group"]
    bad = col.notna() & ~col.isin(sorted(crm.actor.access_groups))
    for pos in np.flatnonzero(bad.to_numpy()):
        errors.setdefault(offset + int(pos), {}).setdefault("access_group", []).append(
            "you may only use your own access groups")
    if records is not None:
        had = np.array([v is not None for v in records.raw("access_group")], dtype=bool)
        for pos in np.flatnonzero(col.isna().to_numpy() & had):
            errors.setdefault(offset + int(pos), {}).setdefault("access_group", []).append(
                "only an administrator may clear a partner's access group")


def _check_subjects(crm, spec, frame, errors, offset):
    """Subject references must be registered types and visible records; a
    record about a subject hangs off the subject's partner (as in create())."""
    import numpy as np
    import pandas as pd
    if "subject_type" not in frame.columns:
        return frame
    path = spec.partner_path if not isinstance(spec.partner_path, tuple) else spec.partner_path[0]
    types = frame["subject_type"]
    ids = pd.to_numeric(frame.get("subject_id", pd.Series([None] * len(frame))), errors="coerce")
    ids = ids.where(ids.abs() < 2 ** 62)  # inf, nan and ids past 64 bits name nothing
    partner_of = pd.Series([None] * len(frame), dtype=object)
    for subject_type in [t for t in types.dropna().unique() if t]:
        rows = (types == subject_type).to_numpy()
        if subject_type not in crm.registry.subject_types:
            for pos in np.flatnonzero(rows):
                errors.setdefault(offset + int(pos), {}).setdefault("subject", []).append(
                    f"{subject_type!r} is not a subject type")
            continue
        target = crm.registry.entity(subject_type)
        model = target.model
        pk = model._meta.primary_key
        wanted = sorted({int(i) for i in ids[rows].dropna()})
        sub_path = target.partner_path if not isinstance(target.partner_path, tuple) else target.partner_path[0]
        found = {}
        for start in range(0, len(wanted), 5000):
            part = wanted[start:start + 5000]
            cols = [pk] + ([getattr(model, sub_path)] if sub_path and sub_path != "self" else [])
            for row in crm.query(subject_type, *cols, include_marked=True).where(pk.in_(part)).tuples():
                found[row[0]] = row[0] if sub_path == "self" else (row[1] if len(row) > 1 else None)
        for pos in np.flatnonzero(rows):
            rid = ids.iloc[pos]
            if rid != rid or int(rid) not in found:
                errors.setdefault(offset + int(pos), {}).setdefault("subject", []).append(
                    f"{subject_type}:{'' if rid != rid else int(rid)} does not exist")
            else:
                partner_of.iloc[pos] = found[int(rid)]
    if path and path != "self" and path in spec.model._meta.fields:
        field = spec.model._meta.fields[path]
        target = crm.registry.spec_of_model(getattr(field, "rel_model", None))
        if target is not None and target.partner_path == "self":
            current = frame[path] if path in frame.columns else pd.Series([None] * len(frame), dtype=object)
            frame[path] = [p if c is None or pd.isna(c) else c for c, p in zip(current.tolist(), partner_of.tolist())]
    return frame


def _record_rules(crm, entity, clean, errors, offset, records=None):
    """Run crmkit_validate_record row by row (with the stored record of a
    row an update writes), merging errors and the values rules derive
    (authors, normalised forms) back into the frame."""
    import pandas as pd
    rows = clean.to_dict("records")
    changed: dict[str, list] = {}
    for pos, row in enumerate(rows):
        if offset + pos in errors:  # refused already: the rules would see a half-checked row
            continue
        data = {k: (None if not isinstance(v, (str, bytes)) and pd.isna(v) else v) for k, v in row.items()}
        before = dict(data)
        record = records[pos] if records is not None else None
        for result in crm.pm.hook.crmkit_validate_record(crm=crm, entity=entity, data=data, record=record):
            for field, msgs in (result or {}).items():
                errors.setdefault(offset + pos, {}).setdefault(field, []).extend(
                    msgs if isinstance(msgs, (list, tuple)) else [msgs])
        for key, value in data.items():
            if key not in before or before[key] != value:
                changed.setdefault(key, [None] * len(rows))[pos] = (value,)
    for key, values in changed.items():
        old = clean[key].tolist() if key in clean.columns else [None] * len(rows)
        clean[key] = pd.Series([v[0] if v is not None else o for v, o in zip(values, old)],
                               index=clean.index, dtype=object)
    return clean


class _Rejects:
    """Rejected rows: the first MAX_REPORTED kept for the error, all of them
    streamed to the reject file, so memory stays bounded."""

    def __init__(self, path):
        self.path = path
        self.count = 0
        self.shown: dict[int, dict] = {}
        self._fh = None
        self._writer = None
        self._fields = None

    def add(self, frame, chunk_errors, offset):
        self.count += len(chunk_errors)
        for pos in sorted(chunk_errors):
            if len(self.shown) < MAX_REPORTED:
                self.shown[pos] = chunk_errors[pos]
        if not self.path:
            return
        positions = sorted(chunk_errors)
        raw = frame.iloc[[p - offset for p in positions]].to_dict("records")
        if self._writer is None:
            self._fh = open(str(self.path) + ".part", "w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh)
            self._fields = list(frame.columns)
            self._writer.writerow(["row", "reason", *self._fields])
        for pos, values in zip(positions, raw):
            reason = "; ".join(f"{f}: {', '.join(map(str, m))}" for f, m in chunk_errors[pos].items())
            self._writer.writerow([pos + 1, reason, *[values.get(f, "") for f in self._fields]])

    def finish(self, keep):
        if self._fh is not None:
            self._fh.close()
            if keep:
                os.replace(str(self.path) + ".part", self.path)
            else:
                os.remove(str(self.path) + ".part")


MODES = ("insert", "update", "upsert")


def key_field(spec, key, mode):
    """The field an update or upsert finds the stored rows by: ``key`` (the
    id or a unique field) or else the entity's lookup (its code); None for
    an insert."""
    if mode not in MODES:
        raise ValidationError({"mode": f"unknown mode {mode!r} (insert, update or upsert)"}, spec.name)
    model = spec.model
    unique = ["id"] + [n for n, f in model._meta.fields.items() if f.unique and not isinstance(f, pw.AutoField)]
    if mode == "insert":
        if key:
            raise ValidationError({"key": "a key finds the rows to update, with --mode update or upsert"}, spec.name)
        return None
    if not key:
        if spec.lookup and spec.lookup in unique:
            return spec.lookup
        raise ValidationError({"key": f"{spec.name} has no code to find its rows by "
                                      f"(name a unique column with --key, one of {', '.join(unique)})"}, spec.name)
    if key not in unique:
        raise ValidationError({"key": f"{key!r} is not a unique column of {spec.name} "
                                      f"(one of {', '.join(unique)})"}, spec.name)
    return key


def _match_keys(crm, spec, key, frame):
    """The stored rows the key column names among those the user may see,
    in one query per chunk: ``(ids, keys, blank)``, ``ids`` a list with
    None where no visible row has the key (a row the user may not see is
    not found, as one that does not exist)."""
    model = spec.model
    pk = model._meta.primary_key
    field = pk if key == "id" else model._meta.fields[key]
    import pandas as pd
    keys = frame[key].astype("string").str.strip()
    blank = (keys.isna() | (keys == "")).to_numpy()
    text = [None if b else v for v, b in zip(keys.tolist(), blank)]
    numeric = isinstance(field, (pw.IntegerField, pw.ForeignKeyField))
    if numeric:   # "007" and "7" name one row; text that is no whole number names none
        def norm(v):
            return str(int(v)) if v is not None and v.isascii() and v.isdigit() and len(v) < 19 else None
    else:
        def norm(v):
            return None if v is None or UNSTORABLE.search(v) else v
    normal = [norm(v) for v in text]
    values = sorted({v for v in normal if v is not None})
    found: dict = {}
    if values:
        wanted = [int(v) for v in values] if numeric else values
        q = crm.query(spec.name, field, pk, include_marked=True).where(db.among(field, wanted))
        found = {str(v): rid for v, rid in crm.db.execute(q).fetchall()}
    return [found.get(v) if v is not None else None for v in normal], text, blank, normal


def _sub_errors(errors, offset, positions):
    """The chunk's errors of ``positions`` (in the chunk) as a dict by the
    position in the sub-frame, and the way back."""
    local = {i: errors[offset + int(p)] for i, p in enumerate(positions) if offset + int(p) in errors}
    return local


def _merge_errors(errors, local, offset, positions):
    for i, errs in local.items():
        target = errors.setdefault(offset + int(positions[i]), {})
        for f, msgs in errs.items():
            have = target.setdefault(f, [])
            have.extend(m for m in msgs if m not in have)


def _checked(crm, spec, entity, frame, extra, errors, seen, defaults, records=None):
    """A sub-frame through every check: additional attributes, references,
    access groups, subjects, the schema (vectorised), unique fields, the
    plugins' rules. ``records`` (stored rows, for an update) make it an
    update: required columns may be left out, the row's own values are not
    "already used", and the rules see the stored record. Positions in
    ``errors`` are the sub-frame's. Returns ``(clean, attribute values)``."""
    updating = records is not None
    frame, attr_values = attributes.split_frame(crm, entity, frame)   # additional attributes
    if attr_values is not None:
        attr_values = attributes.validate_frame(crm, spec, attr_values, errors, 0)
    frame = _resolve_references(crm, spec, frame.copy(), errors, 0, extra.attrs.get("reference", "auto"))
    clean, row_errors = validate_frame(spec, frame, admin=crm.actor.is_admin, update=updating)
    for pos, errs in row_errors.items():
        for f, msgs in errs.items():
            errors.setdefault(pos, {}).setdefault(f, []).extend(msgs)
    _check_access_groups(crm, spec, clean, errors, 0, records)
    if "subject_type" in frame.columns:
        for name in ("subject_type", "subject_id"):
            clean[name] = frame[name].where(frame[name] != "", None) if name in frame else None
        clean = _check_subjects(crm, spec, clean, errors, 0)
    own = records.ids if updating else None
    _check_unique(spec, clean, errors, 0, seen, own)
    for name in extra.columns:
        clean[name] = extra[name].to_numpy()
    if updating:
        clean["_id"] = own     # the stored row's id: a plugin answering for updates knows them by it
    answers = crm.pm.hook.crmkit_validate_frame(crm=crm, entity=entity, frame=clean)
    for answer in answers:
        for pos, errs in (answer or {}).items():
            for f, msgs in errs.items():
                errors.setdefault(pos, {}).setdefault(f, []).extend(msgs if isinstance(msgs, list) else [msgs])
    if all(answer is None for answer in answers):
        clean = _record_rules(crm, entity, clean, errors, 0, records)
    if updating:
        clean = clean.drop(columns=["_id"])
    if "_default" in clean.columns:
        given = clean["_default"].drop(index=list(errors), errors="ignore")
        for text in given.dropna().tolist():
            for note in filter(None, str(text).split("; ")):
                defaults[note] = defaults.get(note, 0) + 1
        clean = clean.drop(columns=["_default"])
    return clean, attr_values


class _Stored:
    """The stored rows an update chunk writes, in the file's order: their
    ids, their columns as the driver gives them (one query per chunk), and
    the records themselves, made only if a rule row by row asks for them."""

    def __init__(self, crm, spec, ids, values=None):
        self.crm, self.spec, self.ids = crm, spec, list(ids)
        self._records = None
        if values is None:
            model = spec.model
            pk = model._meta.primary_key
            fields = list(model._meta.sorted_fields)
            q = model.select(*fields).where(db.among(pk, self.ids))
            by_id = {row[fields.index(pk)]: row for row in crm.db.execute(q).fetchall()}
            rows = [by_id[i] for i in self.ids]
            values = {f.name: [r[k] for r in rows] for k, f in enumerate(fields)}
        self.values = values

    def __len__(self):
        return len(self.ids)

    def raw(self, name):
        return self.values[name]

    def __getitem__(self, pos):
        if self._records is None:
            model = self.spec.model
            pk = model._meta.primary_key
            by_id = {r.get_id(): r for r in model.select().where(db.among(pk, self.ids))}
            self._records = [by_id[i] for i in self.ids]
        return self._records[pos]

    def subset(self, positions):
        out = _Stored(self.crm, self.spec, [self.ids[p] for p in positions],
                      {k: [v[p] for p in positions] for k, v in self.values.items()})
        return out


def _comparable(field, values):
    """A column of values as stored or as given, in a form that compares
    equal when they mean the same (a moment in UTC, money to its places)."""
    import pandas as pd
    col = pd.Series(values, dtype=object)
    missing = col.isna()        # None, NaN, NaT, NA: in C, not a test per cell in Python
    kinds = set(map(type, values))
    if isinstance(field, (pw.IntegerField, pw.ForeignKeyField)) and kinds <= {int, type(None)} \
            or not isinstance(field, (pw.DateTimeField, pw.DecimalField, pw.DateField, pw.BooleanField,
                                      pw.IntegerField, pw.ForeignKeyField, pw.FloatField)) and kinds <= {str, type(None)}:
        return list(values)     # already in their comparable form (the usual text and id columns)
    present = col[~missing]
    if isinstance(field, pw.DateTimeField):
        made = pd.to_datetime(present.map(lambda v: v if not isinstance(v, str) else v.replace(" ", "T")),
                              utc=True, format="ISO8601").map(lambda m: m.isoformat())
    elif isinstance(field, pw.DecimalField):
        made = present.map(lambda v: round(float(v), field.decimal_places))
    elif isinstance(field, pw.DateField):
        made = present.map(lambda v: v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)[:10])
    elif isinstance(field, pw.BooleanField):
        made = present.map(bool)
    elif isinstance(field, (pw.IntegerField, pw.ForeignKeyField)):
        made = present.map(int)
    elif isinstance(field, pw.FloatField):
        made = present.map(float)
    else:
        made = present.map(str)
    return made.reindex(col.index).astype(object).where(~missing, None).tolist()


def _write_updates(crm, spec, frame, stored, changes=None):
    """Write the changed rows of an update chunk in bulk (``executemany`` on
    SQLite; COPY into a temporary table and one ``UPDATE ... FROM`` on
    PostgreSQL), each changed field in the history as ``update`` does, and
    in ``changes`` (``{field: [(id, old, new)]}``, for
    ``crmkit_entity_imported``). Returns the ids of the rows that changed."""
    import numpy as np
    model = spec.model
    columns = [c for c in frame.columns if c in model._meta.fields]
    user = crm.actor.login
    now = db.utcnow()
    changed = np.zeros(len(frame), dtype=bool)
    log = []
    for name in columns:
        field = model._meta.fields[name]
        before, after = _comparable(field, stored.raw(name)), _comparable(field, frame[name].tolist())
        differs = (np.array(before, dtype=object) != np.array(after, dtype=object)).astype(bool)
        changed |= differs
        moved = changes.setdefault(name, []) if changes is not None else None
        for i in np.flatnonzero(differs):
            log.append((spec.name, stored.ids[i], "update", name,
                        None if before[i] is None else str(before[i]),
                        None if after[i] is None else str(after[i]), user))
            if moved is not None:
                moved.append((stored.ids[i], before[i], after[i]))
    changed_rows = np.flatnonzero(changed).tolist()
    if not changed_rows:
        return []
    part = frame.iloc[changed_rows][columns].copy()
    if spec.code_prefix and spec.code_field in part.columns:   # a code given in the series: it moves past it
        given = [series_number(spec.code_prefix, v) for v in part[spec.code_field].dropna().tolist()]
        crm.advance_series(spec, max((g for g in given if g is not None), default=None))
    if "changed_at" in model._meta.fields and "changed_at" not in part.columns:
        part["changed_at"] = now
    ids = [stored.ids[i] for i in changed_rows]
    names, rows = database_rows(model, part)
    pk = model._meta.primary_key
    table = model._meta.table_name
    set_fields = [model._meta.fields[n] for n in names]
    cursor = crm.db.cursor()
    if db.is_sqlite(crm.db):
        sets = ", ".join(f'"{f.column_name}" = ?' for f in set_fields)
        cursor.executemany(f'UPDATE "{table}" SET {sets} WHERE "{pk.column_name}" = ?',
                           [(*row, rid) for row, rid in zip(rows, ids)])
    else:
        temp = f"_crmkit_update_{table}"
        listed = ", ".join(f'"{f.column_name}"' for f in [pk, *set_fields])
        crm.db.execute_sql(f'DROP TABLE IF EXISTS "{temp}"')
        crm.db.execute_sql(f'CREATE TEMPORARY TABLE "{temp}" ON COMMIT DROP AS SELECT {listed} FROM "{table}" '
                           "WITH NO DATA")
        crm._bulk_write(temp, [pk, *set_fields], [(rid, *row) for row, rid in zip(rows, ids)])
        sets = ", ".join(f'"{f.column_name}" = u."{f.column_name}"' for f in set_fields)
        crm.db.execute_sql(f'UPDATE "{table}" AS t SET {sets} FROM "{temp}" AS u '
                           f'WHERE t."{pk.column_name}" = u."{pk.column_name}"')
        crm.db.execute_sql(f'DROP TABLE "{temp}"')
    if log:
        stamp = now.replace(tzinfo=None)
        if db.is_sqlite(crm.db):
            stamp = stamp.isoformat(" ")
        crm.bulk_insert(Change, ["entity", "record_id", "action", "field", "old", "new", "user", "at"],
                        [(*row, stamp) for row in log])
    return ids


def _update_attributes(crm, spec, ids, frame, written, moved=None):
    """The additional attributes of updated rows: the file's columns replace
    what the rows had for those attributes; only the values that differ are
    written, each in the change history as ``update`` records it, and a row
    whose attributes alone changed gets its ``changed_at`` (``written``: the
    rows whose own fields changed, stamped already). Returns the ids of the
    rows whose attributes changed."""
    from .values import plain
    changes = attributes.update_frame(crm, spec, ids, frame)
    if not changes:
        return []
    if moved is not None:
        for rid, values in changes.items():
            for name, (old, new) in values.items():
                moved.setdefault(name, []).append((rid, old, new))
    now = db.utcnow()
    stamp = now.replace(tzinfo=None)
    if db.is_sqlite(crm.db):
        stamp = stamp.isoformat(" ")
    user = crm.actor.login
    log = [(spec.name, rid, "update", name, None if old is None else str(plain(old)),
            None if new is None else str(plain(new)), user, stamp)
           for rid, values in changes.items() for name, (old, new) in values.items()]
    crm.bulk_insert(Change, ["entity", "record_id", "action", "field", "old", "new", "user", "at"], log)
    model = spec.model
    alone = sorted(set(changes) - set(written))
    if alone and "changed_at" in model._meta.fields:
        pk = model._meta.primary_key
        model.update({model.changed_at: now}).where(db.among(pk, alone)).execute()
    return list(changes)


def _check_still_visible(crm, spec, ids):
    """Rows a user updated must still be theirs to see (a partner moved to a
    group of theirs, a record to a partner they see): else nothing is
    written, as for ``update``."""
    if crm.actor.is_admin or not ids:
        return
    pk = spec.model._meta.primary_key
    seen = {i for (i,) in crm.db.execute(crm.query(spec.name, pk, include_marked=True).where(db.among(pk, ids)))}
    if len(seen) < len(set(ids)):
        raise AccessDenied(f"user {crm.actor.login!r} may not move {spec.name} out of their access")


class _Carried:
    """Columns a preparation hook carries past the schema (``_`` names)."""

    def __init__(self, frame, attrs):
        self.columns = [c for c in frame.columns if str(c).startswith("_")]
        self.frame = frame[self.columns]
        self.attrs = attrs

    def __getitem__(self, name):
        return self.frame[name]

    def part(self, positions):
        out = _Carried.__new__(_Carried)
        out.columns, out.attrs = self.columns, self.attrs
        out.frame = self.frame.iloc[positions].reset_index(drop=True)
        return out


def import_frames(crm, entity, frames, dry_run=False, skip_invalid=False, reject_file=None,
                  progress=None, options=None, source="", ignore=(), mode="insert", key=None) -> dict:
    """Import DataFrame chunks as one unit of work. Returns a summary dict.

    Per chunk: the entity's importer hook, then (``mode`` update or upsert)
    the stored rows the ``key`` column names, among those the user may see,
    in one query; then for the new rows and for the stored ones apart:
    references by code or id among visible rows, access groups, subjects,
    the schema (vectorised), unique fields, then the plugins' rules:
    ``crmkit_validate_frame`` where a plugin answers for the entity, else
    ``crmkit_validate_record`` row by row (with the stored record for an
    update). ``insert`` refuses a key already used; ``update`` refuses a
    key no visible row has; ``upsert`` inserts those.
    """
    spec = crm.registry.entity(entity)
    key = key_field(spec, key, mode)
    if mode != "update":
        crm.require("create", entity)
    if mode != "insert":
        crm.require("update", entity)
    options = dict(options or {})   # plugins may keep what one chunk tells the next here
    if spec.import_group:
        frames = _grouped(frames, spec.import_group)
    rejects = _Rejects(reject_file if skip_invalid else None)
    inserted, updated, matched, total = 0, 0, 0, 0
    first_id = last_id = None
    seen: dict = {}
    seen_keys: set = set()
    defaults: dict[str, int] = {}   # defaults applied where the file gave nothing: note -> rows
    imported: dict | None = {}      # id -> row in the file, to pair with the base (duplicates.check_import)
    changes: dict[str, list] = {}   # field -> [(id, old, new)] of stored rows updated, for crmkit_entity_imported
    looks_like = None
    doomed = False

    def span(ids):
        nonlocal first_id, last_id
        ids = [int(i) for i in ids if i is not None and i == i]
        if ids:
            first_id = min(ids) if first_id is None else min(first_id, min(ids))
            last_id = max(ids) if last_id is None else max(last_id, max(ids))
    try:
        with db.transaction() as txn, duplicates.settings_read_once():   # concurrency comes out as Busy
            for frame in frames:
                offset = total
                total += len(frame)
                frame = frame.reset_index(drop=True)
                if ignore:   # columns the person said to leave out (--ignore)
                    frame = frame.drop(columns=[c for c in ignore if c in frame.columns])
                if key and key not in frame.columns:
                    raise ValidationError({"key": f"the file has no column {key!r} to find its rows by"}, entity)
                source_rows = frame   # the reject file keeps the file's own columns (after --map)
                prepared = crm.pm.hook.crmkit_prepare_import(crm=crm, entity=entity, frame=frame, options=options)
                if prepared is not None:
                    frame = prepared.reset_index(drop=True)
                raw = source_rows if len(source_rows) == len(frame) else frame
                chunk_errors: dict[int, dict] = {}
                if "_reject" in frame.columns:
                    for pos, reason in frame["_reject"].items():
                        if reason:
                            chunk_errors.setdefault(offset + pos, {}).setdefault("_row", []).append(str(reason))
                    frame = frame.drop(columns=["_reject"])
                extra = _Carried(frame, options)
                frame = frame.drop(columns=extra.columns)
                import numpy as np
                ids = [None] * len(frame)
                if key:
                    ids, text, blank, normal = _match_keys(crm, spec, key, frame)
                    for pos in range(len(frame)):
                        value = normal[pos]
                        if ids[pos] is None and mode == "update":
                            chunk_errors.setdefault(offset + pos, {}).setdefault(key, []).append(
                                "needed to find the row to update" if blank[pos] else f"{text[pos]!r} not found")
                        elif ids[pos] is not None and value in seen_keys:
                            chunk_errors.setdefault(offset + pos, {}).setdefault(key, []).append(
                                f"{text[pos]!r} appears more than once in the file")
                        if value is not None:
                            seen_keys.add(value)
                stored = np.array([i is not None for i in ids], dtype=bool)
                new_pos = np.flatnonzero(~stored) if mode != "update" else np.array([], dtype=int)
                old_pos = np.flatnonzero(stored)
                parts = []
                if len(new_pos):
                    sub = frame.iloc[new_pos].reset_index(drop=True)
                    if key == "id":   # blank ids: the database numbers the new rows
                        sub = sub.drop(columns=["id"])
                    local = _sub_errors(chunk_errors, offset, new_pos)
                    clean, attr_values = _checked(crm, spec, entity, sub, extra.part(new_pos), local, seen,
                                                  defaults)
                    _merge_errors(chunk_errors, local, offset, new_pos)
                    parts.append((new_pos, clean, attr_values, None, local))
                if len(old_pos):
                    sub = frame.iloc[old_pos].reset_index(drop=True).drop(columns=[key])
                    records = _Stored(crm, spec, [ids[p] for p in old_pos])
                    local = _sub_errors(chunk_errors, offset, old_pos)
                    clean, attr_values = _checked(crm, spec, entity, sub, extra.part(old_pos), local, seen,
                                                  defaults, records)
                    _merge_errors(chunk_errors, local, offset, old_pos)
                    parts.append((old_pos, clean, attr_values, records, local))
                if chunk_errors:
                    rejects.add(raw, chunk_errors, offset)
                if rejects.count >= MAX_REPORTED and not skip_invalid and not dry_run:
                    doomed = True   # enough to show; the rest of the file cannot save the import
                    break
                if (rejects.count and not skip_invalid) or dry_run:
                    matched += len(old_pos)
                    if progress:
                        progress(total)
                    continue
                for positions, clean, attr_values, records, local in parts:
                    bad = [i for i in range(len(positions)) if i in local]
                    good = clean.drop(index=bad) if bad else clean
                    if not len(good):   # (a frame of attribute columns alone has no columns left here)
                        continue
                    kept_attrs = (attr_values.drop(index=bad) if bad else attr_values) \
                        if attr_values is not None else None
                    if records is None:
                        written = _write_rows(crm, spec, good.copy())
                        if kept_attrs is not None and len(written):
                            attributes.store_frame(crm, spec, written["id"].tolist(), kept_attrs)
                        inserted += len(good)
                        ids = written["id"]
                        span(ids.dropna().tolist())
                        if imported is not None:   # id -> row in the file, for duplicates.check_import
                            known = ids.notna().to_numpy()
                            imported.update(zip(ids[known].astype(int).tolist(),
                                                [offset + int(positions[i]) + 1 for i in good.index[known]]))
                            imported = imported if len(imported) <= duplicates.IMPORT_CHECK_LIMIT else None
                        crm.pm.hook.crmkit_import_written(crm=crm, entity=entity,
                                                          frame=written.reset_index(drop=True), options=options)
                    else:
                        dropped = set(bad)
                        kept = records.subset([i for i in range(len(records)) if i not in dropped])
                        carried = [c for c in good.columns if str(c).startswith("_")]
                        changed = _write_updates(crm, spec, good.drop(columns=carried).reset_index(drop=True),
                                                 kept, changes)
                        _check_still_visible(crm, spec, changed)
                        if kept_attrs is not None:   # a row whose attributes alone changed is updated too
                            more = _update_attributes(crm, spec, kept.ids, kept_attrs.reset_index(drop=True),
                                                      changed, changes)
                            changed = list(dict.fromkeys([*changed, *more]))
                        matched += len(kept)
                        updated += len(changed)
                        span(changed)
                        if imported is not None and changed:   # updated rows are paired as new ones are
                            row_of = dict(zip(kept.ids, (offset + int(positions[i]) + 1 for i in good.index)))
                            imported.update((int(rid), row_of[rid]) for rid in changed)
                            imported = imported if len(imported) <= duplicates.IMPORT_CHECK_LIMIT else None
                if progress:
                    progress(total)
            if total == 0:
                raise ValidationError({"file": "has no rows"}, entity)
            if rejects.count and not skip_invalid:
                txn.rollback()
                from .i18n import Message
                counted = Message("at least {n} of the first {total}", n=rejects.count, total=total) if doomed \
                    else Message("{n} of {total}", n=rejects.count, total=total)
                raise ValidationError(
                    {"rows": Message("{counted} rows are invalid; nothing was imported", counted=counted)},
                    entity, rows={p + 1: e for p, e in rejects.shown.items()})
            if dry_run:
                txn.rollback()
            elif inserted or updated:
                Change.create(entity=entity, record_id=first_id or 0, action="import",
                              new=json.dumps({"rows": inserted, "updated": updated, "source": str(source),
                                              "ids": [first_id, last_id]}),
                              user=crm.actor.login, at=db.utcnow())
                crm.pm.hook.crmkit_entity_imported(crm=crm, entity=entity, count=inserted + updated,
                                                   ids=(first_id, last_id) if first_id else None,
                                                   changes={f: c for f, c in changes.items() if c})
                looks_like = duplicates.check_import(crm, entity, imported)   # a strict pair refuses it all
    finally:
        rejects.finish(keep=skip_invalid)
    written = 0 if dry_run else inserted + updated
    return {"entity": entity, "rows": total, "written": written,
            "inserted": 0 if dry_run else inserted, "updated": 0 if dry_run else updated,
            "unchanged": 0 if dry_run else matched - updated, "matched": matched, "mode": mode, "key": key,
            "valid": total - rejects.count, "rejected": rejects.count, "dry_run": dry_run,
            "defaults": defaults, **({"duplicates": looks_like} if looks_like is not None else {}),
            "errors": {p + 1: e for p, e in rejects.shown.items()}}


def import_file(crm, entity, path, encoding=None, delimiter=None, mapping=None, chunk=CHUNK, **options):
    frames = read_chunks(path, encoding, delimiter, mapping, chunk)
    return import_frames(crm, entity, frames, source=path, **options)


def import_frame(crm, entity, frame, **options):
    return import_frames(crm, entity, [frame], **options)


def export(crm, entity, fmt="csv", out=None, **filters):
    """Export the visible records of an entity as CSV (formulas neutralised) or JSON."""
    from .reports import neutralise_frame, _plain, write_csv
    from .zones import local_frame
    spec = crm.registry.entity(entity)
    model = spec.model
    names = list(spec.list_fields) or [n for n in model._meta.fields]
    fields = [model._meta.fields[n] for n in names]
    q = crm.where(entity, crm.query(entity, *fields), filters)
    q = crm.order(entity, q, spec.order_by)
    frame = _whole_numbers(crm.frame(q, columns=names), fields)
    frame = local_frame(_with_attributes(crm, entity, frame, q), crm.zone)   # moments in the user's zone
    if fmt == "csv":
        buf = io.StringIO()
        write_csv(neutralise_frame(frame), buf)
        text = buf.getvalue()
    elif fmt == "json":
        text = json.dumps([{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")],
                          ensure_ascii=False, indent=1, default=str)
    else:
        raise ValidationError({"format": f"unknown export format {fmt!r}; use csv or json"})
    if out:
        Path(out).write_text(text, encoding="utf-8")
    return text


def _whole_numbers(frame, fields):
    """Integer and reference columns as whole numbers: a column with a
    blank in it comes from pandas as floats (``stage=1.0``), which an import
    of the file then cannot read back as a reference."""
    import peewee as pw
    for field in fields:
        if isinstance(field, (pw.IntegerField, pw.ForeignKeyField, pw.AutoField)) and field.name in frame.columns:
            import pandas as pd
            frame[field.name] = pd.Series([None if v is None or v != v else int(v)
                                           for v in frame[field.name].tolist()], index=frame.index, dtype=object)
    return frame


def _with_attributes(crm, entity, frame, query):
    """The export's frame with a column per additional attribute (values
    of the exported rows only, so they follow the rows' access)."""
    from . import attributes
    defs = attributes.definitions(crm, entity)
    if not defs:
        return frame
    pk = crm.registry.entity(entity).model._meta.primary_key
    ids = [i for (i,) in query.select(pk).tuples()] if "id" not in frame.columns else frame["id"].tolist()
    values = attributes.raw_values(entity, ids, defs)
    frame = frame.copy()
    for name in defs:
        frame[name] = [values.get(i, {}).get(name) for i in ids]
    return frame
