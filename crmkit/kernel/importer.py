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
from .errors import ValidationError
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
        keys = frame[column].astype("string").str.strip()
        tail = keys.eq(keys.iloc[-1]).fillna(False).to_numpy()[::-1].cumprod()[::-1].astype(bool)
        if tail.all():
            carry = frame      # one group so far: read on
            continue
        carry = frame[tail].reset_index(drop=True)
        yield frame[~tail].reset_index(drop=True)
    if carry is not None:
        yield carry


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


def _check_unique(spec, frame, errors, offset, seen):
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
        existing = set()
        for start in range(0, len(values), 5000):
            existing.update(str(v) for (v,) in spec.model.select(field).where(
                field.in_(values[start:start + 5000])).tuples())
        in_db = col.astype(str).isin(existing) & present
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


def _check_access_groups(crm, spec, frame, errors, offset):
    """A non-administrator may only put partners in their own access groups."""
    import numpy as np
    if spec.partner_path != "self" or crm.actor.is_admin or "access_group" not in frame.columns:
        return
    col = frame["access_group"]
    bad = col.notna() & ~col.isin(sorted(crm.actor.access_groups))
    for pos in np.flatnonzero(bad.to_numpy()):
        errors.setdefault(offset + int(pos), {}).setdefault("access_group", []).append(
            "you may only use your own access groups")


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


def _record_rules(crm, entity, clean, errors, offset):
    """Run crmkit_validate_record row by row, merging errors and the values
    rules derive (authors, normalised forms) back into the frame."""
    import pandas as pd
    rows = clean.to_dict("records")
    changed: dict[str, list] = {}
    for pos, row in enumerate(rows):
        if offset + pos in errors:  # refused already: the rules would see a half-checked row
            continue
        data = {k: (None if not isinstance(v, (str, bytes)) and pd.isna(v) else v) for k, v in row.items()}
        before = dict(data)
        for result in crm.pm.hook.crmkit_validate_record(crm=crm, entity=entity, data=data, record=None):
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


def import_frames(crm, entity, frames, dry_run=False, skip_invalid=False, reject_file=None,
                  progress=None, options=None, source="", ignore=()) -> dict:
    """Import DataFrame chunks as one unit of work. Returns a summary dict.

    Per chunk: the entity's importer hook, references by code or id among
    visible rows, access groups, subjects, the schema (vectorised), unique
    fields, then the plugins' rules: ``crmkit_validate_frame`` where a plugin
    answers for the entity, else ``crmkit_validate_record`` row by row.
    """
    spec = crm.registry.entity(entity)
    crm.require("create", entity)
    options = dict(options or {})   # plugins may keep what one chunk tells the next here
    if spec.import_group:
        frames = _grouped(frames, spec.import_group)
    rejects = _Rejects(reject_file if skip_invalid else None)
    written, total, first_id, last_id = 0, 0, None, None
    seen: dict = {}
    defaults: dict[str, int] = {}   # defaults applied where the file gave nothing: note -> rows
    imported: dict | None = {}      # id -> row in the file, to pair with the base (duplicates.check_import)
    looks_like = None
    doomed = False
    try:
        with db.transaction() as txn, duplicates.settings_read_once():   # concurrency comes out as Busy
            for frame in frames:
                offset = total
                total += len(frame)
                frame = frame.reset_index(drop=True)
                if ignore:   # columns the person said to leave out (--ignore)
                    frame = frame.drop(columns=[c for c in ignore if c in frame.columns])
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
                carried = [c for c in frame.columns if str(c).startswith("_")]
                extra = frame[carried]
                frame = frame.drop(columns=carried)
                frame, attr_values = attributes.split_frame(crm, entity, frame)   # additional attributes
                if attr_values is not None:
                    attr_values = attributes.validate_frame(crm, spec, attr_values, chunk_errors, offset)
                frame = _resolve_references(crm, spec, frame.copy(), chunk_errors, offset,
                                            options.get("reference", "auto"))
                clean, row_errors = validate_frame(spec, frame, admin=crm.actor.is_admin)
                for pos, errs in row_errors.items():
                    for f, msgs in errs.items():
                        chunk_errors.setdefault(offset + pos, {}).setdefault(f, []).extend(msgs)
                _check_access_groups(crm, spec, clean, chunk_errors, offset)
                if "subject_type" in frame.columns:
                    for name in ("subject_type", "subject_id"):
                        clean[name] = frame[name].where(frame[name] != "", None) if name in frame else None
                    clean = _check_subjects(crm, spec, clean, chunk_errors, offset)
                _check_unique(spec, clean, chunk_errors, offset, seen)
                for name in carried:
                    clean[name] = extra[name].to_numpy()
                answers = crm.pm.hook.crmkit_validate_frame(crm=crm, entity=entity, frame=clean)
                for extra in answers:
                    for pos, errs in (extra or {}).items():
                        for f, msgs in errs.items():
                            chunk_errors.setdefault(offset + pos, {}).setdefault(f, []).extend(
                                msgs if isinstance(msgs, list) else [msgs])
                if all(answer is None for answer in answers):
                    clean = _record_rules(crm, entity, clean, chunk_errors, offset)
                if "_default" in clean.columns:
                    given = clean["_default"].drop(index=[p - offset for p in chunk_errors], errors="ignore")
                    for text in given.dropna().tolist():
                        for note in filter(None, str(text).split("; ")):
                            defaults[note] = defaults.get(note, 0) + 1
                    clean = clean.drop(columns=["_default"])
                if chunk_errors:
                    rejects.add(raw, chunk_errors, offset)
                if rejects.count >= MAX_REPORTED and not skip_invalid and not dry_run:
                    doomed = True   # enough to show; the rest of the file cannot save the import
                    break
                good = clean.drop(index=[p - offset for p in chunk_errors]) if chunk_errors else clean
                if (rejects.count and not skip_invalid) or dry_run or good.empty:
                    if progress:
                        progress(total)
                    continue
                stored = _write_rows(crm, spec, good.copy())
                if attr_values is not None and len(stored):
                    kept = attr_values.drop(index=[p - offset for p in chunk_errors]) if chunk_errors \
                        else attr_values
                    attributes.store_frame(crm, spec, stored["id"].tolist(), kept)
                written += len(good)
                ids = stored["id"].dropna()
                if imported is not None:
                    imported.update(zip(ids.astype(int).tolist(), (ids.index + offset + 1).tolist()))
                    imported = imported if len(imported) <= duplicates.IMPORT_CHECK_LIMIT else None
                if len(ids):
                    first_id = int(ids.min()) if first_id is None else min(first_id, int(ids.min()))
                    last_id = int(ids.max()) if last_id is None else max(last_id, int(ids.max()))
                crm.pm.hook.crmkit_import_written(crm=crm, entity=entity, frame=stored.reset_index(drop=True),
                                                  options=options)
                if progress:
                    progress(total)
            if total == 0:
                raise ValidationError({"file": "has no rows"}, entity)
            if rejects.count and not skip_invalid:
                txn.rollback()
                counted = f"at least {rejects.count} of the first {total}" if doomed else f"{rejects.count} of {total}"
                raise ValidationError(
                    {"rows": f"{counted} rows are invalid; nothing was imported"},
                    entity, rows={p + 1: e for p, e in rejects.shown.items()})
            if dry_run:
                txn.rollback()
            elif written:
                Change.create(entity=entity, record_id=first_id or 0, action="import",
                              new=json.dumps({"rows": written, "source": str(source), "ids": [first_id, last_id]}),
                              user=crm.actor.login, at=db.utcnow())
                crm.pm.hook.crmkit_entity_imported(crm=crm, entity=entity, count=written,
                                                   ids=(first_id, last_id) if first_id else None)
                looks_like = duplicates.check_import(crm, entity, imported)   # a strict pair refuses it all
    finally:
        rejects.finish(keep=skip_invalid)
    return {"entity": entity, "rows": total, "written": 0 if dry_run else written,
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
