"""Input validation: cerberus schemas derived from models, one error type.

``schema_for(spec)`` derives rules from the peewee model (type, required,
maxlength, allowed) and merges the entity's own rules over them. Strings are
coerced to the field's type, so CLI and CSV input validate like Python input.
``validate_frame`` applies the same schema to a whole DataFrame at once for
bulk imports.

Every field type also gets the bounds its column can hold (``bounds_of``),
declared here once and checked alike by create, update and the bulk import:
money and decimals within their precision and scale, integers within the
column's width, floats finite, dates and moments within DATE_MIN..DATE_MAX,
text within its length and free of control characters. A value outside them
would be stored and then break every read, report or time-zone conversion of
its record, so it is refused naming the field.
"""
from __future__ import annotations

import abc
import datetime as dt
import decimal
import re

import cerberus
import peewee as pw
from cerberus import TypeDefinition

from .errors import ValidationError
from .zones import aware, input_zone, local_day

ALWAYS_READ_ONLY = ("id", "created_at", "changed_at", "created_by", "changed_by")
TRUE = {"1", "true", "yes", "y", "on", "да"}
FALSE = {"0", "false", "no", "n", "off", "нет", ""}


def _blank(value):
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_date(value):
    if isinstance(value, dt.datetime):   # a moment given for a date: its local day
        return local_day(value) if value.tzinfo is not None else value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    return dt.datetime.fromisoformat(text).date()


def parse_datetime(value):
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            result = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
                try:
                    result = dt.datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise
    return aware(result)     # no offset: a local time of the user's zone


# -- the bounds every stored value keeps ------------------------------------------

# pandas (every report and bulk path) holds moments from 1677 to 2262 only, and
# a zone conversion of year 1 or 9999 overflows: a CRM needs 1900..2199.
DATE_MIN, DATE_MAX = dt.date(1900, 1, 1), dt.date(2199, 12, 31)
MOMENT_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)
MOMENT_MAX = dt.datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
TEXT_MAX = 200_000          # characters of an unbounded text field (TEXT column)
INT_BITS = {pw.SmallIntegerField: 16, pw.BigIntegerField: 64, pw.BigAutoField: 64}  # others: 32
# C0 controls but tab, line feed and carriage return; DEL; C1 controls. They
# cannot be typed, rewrite terminals (ESC), break mail headers (VT, FF) and
# CSV readers; NUL and lone surrogates cannot be stored at all.
CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
UNSTORABLE_CLASS = f"[{CONTROL_CHARACTERS}\ud800-\udfff]"
UNSTORABLE = re.compile(UNSTORABLE_CLASS)
UNSTORABLE_MESSAGE = "contains a control character or one that cannot be stored (NUL, ESC, a lone surrogate)"


def _int_bits(field) -> int:
    if isinstance(field, pw.ForeignKeyField):
        field = field.rel_field
    for cls, bits in INT_BITS.items():
        if isinstance(field, cls):
            return bits
    return 32


def bounds_of(field) -> dict:
    """``min``/``max``/``maxlength`` rules for what the field's column holds."""
    if isinstance(field, pw.DecimalField):
        places = field.decimal_places if field.decimal_places is not None else 5
        digits = field.max_digits if field.max_digits is not None else 10
        top = decimal.Decimal(10) ** (digits - places) - decimal.Decimal(1).scaleb(-places)
        return {"min": -top, "max": top}
    if isinstance(field, pw.DateTimeField):
        return {"min": MOMENT_MIN, "max": MOMENT_MAX}
    if isinstance(field, pw.DateField):
        return {"min": DATE_MIN, "max": DATE_MAX}
    if isinstance(field, pw.FloatField):
        return {}  # finite: the coercion refuses inf and nan
    if isinstance(field, (pw.IntegerField, pw.ForeignKeyField)):
        bits = _int_bits(field)
        return {"min": -2 ** (bits - 1), "max": 2 ** (bits - 1) - 1}
    if isinstance(field, pw.CharField):
        return {"maxlength": field.max_length} if field.max_length else {}
    if isinstance(field, pw.TextField):
        return {"maxlength": TEXT_MAX}
    return {}


def parse_float(value):
    if isinstance(value, bool):
        raise ValueError("not a number")
    result = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return result


def parse_decimal(value):
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    result = decimal.Decimal(text)
    if not result.is_finite():
        raise ValueError("not a finite number")
    return result


def parse_int(value):
    if isinstance(value, bool):
        raise ValueError("not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if hasattr(value, "id") and isinstance(getattr(value, "id"), int):
        return value.id  # a peewee record given for a reference
    return int(str(value).strip())


def parse_bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError("not a yes/no value")


def series_re(prefix):
    """Codes of an auto-numbered series: the prefix and eight or more digits."""
    return re.compile(re.escape(prefix) + r"\d{8,}")


def series_number(prefix, code):
    """The number of ``code`` in the series of ``prefix``, or None."""
    if isinstance(code, str) and series_re(prefix).fullmatch(code):
        return int(code[len(prefix):])
    return None


def series_message(prefix):
    return (f"codes {prefix}NNNNNNNN are numbered by crmkit: leave it empty "
            f"(only an administrator gives one, and the series then moves past it)")


class Readable(abc.ABC):
    """The ``stream`` parameter type: anything with ``read()`` (a file the
    CLI opened, an upload's body, ``io.BytesIO``). No JSON or CSV value is
    one, so only callers in the process (the CLI, a route) can give it; an
    action that takes one reads it a chunk at a time, bounded."""

    @classmethod
    def __subclasshook__(cls, other):
        return True if callable(getattr(other, "read", None)) else NotImplemented


class CrmValidator(cerberus.Validator):
    """cerberus with decimals and string coercion for every field type."""

    def _validate_series(self, prefix, field, value):
        """{'type': 'string'}"""
        if series_number(prefix, value) is not None:
            self._error(field, series_message(prefix))

    types_mapping = dict(cerberus.Validator.types_mapping,
                         decimal=TypeDefinition("decimal", (decimal.Decimal,), ()),
                         stream=TypeDefinition("stream", (Readable,), ()))

    def _normalize_coerce_blank_none(self, value):
        return None if _blank(value) else value

    def _normalize_coerce_int(self, value):
        return None if _blank(value) else parse_int(value)

    def _normalize_coerce_decimal(self, value):
        return None if _blank(value) else parse_decimal(value)

    def _normalize_coerce_date(self, value):
        return None if _blank(value) else parse_date(value)

    def _normalize_coerce_datetime(self, value):
        return None if _blank(value) else parse_datetime(value)

    def _normalize_coerce_bool(self, value):
        return parse_bool(value) if not isinstance(value, bool) else value

    def _normalize_coerce_float(self, value):
        return None if _blank(value) else parse_float(value)

    def _normalize_coerce_strip(self, value):
        return value.strip() if isinstance(value, str) else value


FIELD_RULES = [  # checked in order: subclasses first
    (pw.BooleanField, {"type": "boolean", "coerce": "bool"}),
    (pw.DecimalField, {"type": "decimal", "coerce": "decimal"}),
    (pw.DateTimeField, {"type": "datetime", "coerce": "datetime"}),
    (pw.DateField, {"type": "date", "coerce": "date"}),
    (pw.FloatField, {"type": "float", "coerce": "float"}),
    (pw.ForeignKeyField, {"type": "integer", "coerce": "int"}),
    (pw.IntegerField, {"type": "integer", "coerce": "int"}),
    (pw.CharField, {"type": "string", "coerce": "strip"}),
    (pw.TextField, {"type": "string"}),
]


def field_rules(field) -> dict:
    for cls, rules in FIELD_RULES:
        if isinstance(field, cls):
            out = dict(rules)
            break
    else:
        out = {}
    if not field.choices:
        out.update(bounds_of(field))
    if field.choices:
        out["allowed"] = [c[0] if isinstance(c, (tuple, list)) else c for c in field.choices]
    out["nullable"] = bool(field.null)
    if not field.null and field.default is None and not isinstance(field, pw.AutoField):
        out["required"] = True
        if out.get("type") == "string":
            out["empty"] = False
    if out.get("type") == "string" and field.null:
        out["coerce"] = ("strip", "blank_none") if out.get("coerce") == "strip" else "blank_none"
    return out


def assigned_unique_fields(spec) -> set:
    """Unique fields of an entity under row-level access, which only an
    administrator may set. A user choosing such a value would learn from
    "is already used" that a record they may not see holds it; so for
    everyone else the value is assigned (the code series numbers it)."""
    if not (spec.partner_path or spec.row_filter):
        return set()
    return {name for name, field in spec.model._meta.fields.items()
            if field.unique and not isinstance(field, pw.AutoField)}


def schema_for(spec, admin=True) -> dict:
    """The full cerberus schema of an entity for the given kind of user."""
    schema = {}
    for name, field in spec.model._meta.fields.items():
        if isinstance(field, pw.AutoField):
            continue
        schema[name] = field_rules(field)
    if spec.code_prefix and spec.code_field in schema:  # numbered on write when not given
        schema[spec.code_field] = {**schema[spec.code_field], "required": False, "empty": True, "nullable": True}
    for name, rules in spec.schema.items():
        schema[name] = {**schema.get(name, {}), **rules}
    if spec.code_prefix and spec.code_field in schema and not admin:
        # the series is crmkit's: a user who took its next code would block every numbered create
        schema[spec.code_field] = {**schema[spec.code_field], "series": spec.code_prefix}
    locked = set(ALWAYS_READ_ONLY) | set(spec.read_only) | (set() if admin else set(spec.admin_only))
    if not admin:
        locked |= assigned_unique_fields(spec)
    for name in locked:
        if name in schema or name == "id":
            schema[name] = {"readonly": True}
    schema["id"] = {"readonly": True}
    return schema


_validators: dict = {}


def validator_for(spec, admin=True) -> CrmValidator:
    key = (spec.name, id(spec), admin)
    if key not in _validators:
        _validators[key] = CrmValidator(schema_for(spec, admin), allow_unknown=False)
    return _validators[key]


def _message(msg):
    if isinstance(msg, dict):  # nested errors
        return "; ".join(f"{k}: {v}" for k, v in msg.items())
    text = str(msg)
    if text == "unknown field":
        return "unknown field"
    if text.startswith("field '") and "cannot be coerced" in text:
        return "has the wrong type: " + text.split("cannot be coerced:", 1)[-1].strip()
    return text


COERCERS = {"int": parse_int, "decimal": parse_decimal, "date": parse_date, "datetime": parse_datetime,
             "bool": parse_bool, "float": parse_float, "strip": lambda v: v.strip() if isinstance(v, str) else v,
             "blank_none": lambda v: None if _blank(v) else v}
BLANK_AWARE = {"int", "decimal", "date", "datetime", "float"}
TYPES = {"string": (str,), "integer": (int,), "decimal": (decimal.Decimal,), "date": (dt.date,),
         "datetime": (dt.datetime,), "boolean": (bool,), "float": (float, int), "stream": (Readable,)}
FAST_RULES = {"type", "coerce", "nullable", "required", "empty", "maxlength", "minlength", "allowed",
              "min", "max", "regex", "readonly", "default", "series"}


class FastSchema:
    """The kernel's own check of the rules it derives (types, coercion,
    nullable, required, empty, lengths, allowed, min/max, regex, read-only),
    with cerberus's messages, and defaults for missing fields. cerberus
    re-validates its schema on every call (~1 ms a record); this is ~20 µs.
    Schemas with other rules use cerberus."""

    def __init__(self, schema):
        self.schema = schema
        self.regex = {f: re.compile(r["regex"]) for f, r in schema.items() if "regex" in r}

    @staticmethod
    def fits(schema) -> bool:
        def known(kind):
            return kind is None or all(k in TYPES for k in (kind if isinstance(kind, list) else [kind]))
        return all(set(r) <= FAST_RULES and known(r.get("type")) for r in schema.values())

    def check(self, data, update):
        doc, errors = {}, {}
        for field, value in data.items():
            rules = self.schema.get(field)
            if rules is None:
                errors[field] = ["unknown field"]
                continue
            if rules.get("readonly"):
                errors[field] = ["field is read-only"]
                continue
            coerce = rules.get("coerce")
            for name in (coerce if isinstance(coerce, (tuple, list)) else (coerce,) if coerce else ()):
                if name in BLANK_AWARE and _blank(value):
                    value = None
                    continue
                if name != "bool" and value is None:
                    continue
                try:
                    value = COERCERS[name](value)
                except (ValueError, TypeError, ArithmeticError) as exc:
                    from .i18n import Message       # Python's words for what is wrong: kept in English only
                    errors[field] = [Message("has the wrong type: {error}", domain="kernel", error=str(exc))] + (
                        [f"must be of {rules['type']} type"] if rules.get("type") else [])
                    break
            if field in errors:
                continue
            if value is None and "default" in rules and not rules.get("nullable"):
                value = rules["default"]
            problem = self._problem(rules, value)
            if problem:
                errors[field] = [problem]
            else:
                doc[field] = value
        if not update:
            for field, rules in self.schema.items():
                if "default" in rules and field not in data:
                    doc[field] = rules["default"]
                elif rules.get("required") and field not in data and field not in errors:
                    errors[field] = ["required field"]
        return doc, errors

    def _problem(self, rules, value):
        if value is None:
            return None if rules.get("nullable") else "null value not allowed"
        kind = rules.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if kind else []
        if kinds and not any(isinstance(value, TYPES[k]) and not (k in ("integer", "float") and isinstance(value, bool))
                             for k in kinds):
            return f"must be of {kind} type"
        if isinstance(value, str) and UNSTORABLE.search(value):
            return UNSTORABLE_MESSAGE
        if rules.get("empty") is False and value == "":
            return "empty values not allowed"
        if "maxlength" in rules and hasattr(value, "__len__") and len(value) > rules["maxlength"]:
            return f"max length is {rules['maxlength']}"
        if "minlength" in rules and hasattr(value, "__len__") and len(value) < rules["minlength"]:
            return f"min length is {rules['minlength']}"
        if "allowed" in rules and value not in rules["allowed"]:
            return f"unallowed value {value}"
        if "min" in rules and value < rules["min"]:
            return f"min value is {rules['min']}"
        if "max" in rules and value > rules["max"]:
            return f"max value is {rules['max']}"
        if "regex" in rules and isinstance(value, str) and not re.fullmatch(rules["regex"], value):
            return f"value does not match regex '{rules['regex']}'"
        if "series" in rules and series_number(rules["series"], value) is not None:
            return series_message(rules["series"])
        return None


_fast: dict = {}


def fast_schema_for(spec, admin):
    key = (spec.name, id(spec), admin)
    if key not in _fast:
        schema = schema_for(spec, admin)
        _fast[key] = FastSchema(schema) if FastSchema.fits(schema) else None
    return _fast[key]


# a report parameter of a kind holds what a field of that kind holds
KIND_BOUNDS = {"date": {"min": DATE_MIN, "max": DATE_MAX}, "datetime": {"min": MOMENT_MIN, "max": MOMENT_MAX},
               "integer": {"min": -2 ** 63, "max": 2 ** 63 - 1}}


def explain(errors: dict, schema: dict, parameters=False) -> dict:
    """Errors that say what would have been right: an unknown field gets a
    "did you mean" (a report's unknown parameter the list of its
    parameters), an unallowed value the allowed ones."""
    from .errors import did_you_mean
    writable = [k for k, r in schema.items() if not r.get("readonly")]
    out = {}
    for name, msgs in errors.items():
        fixed = []
        for msg in msgs:
            if msg == "unknown field":
                if parameters:
                    msg += (f"; the parameters are: {', '.join(writable)}" if writable
                            else "; the report takes no parameters")
                else:
                    msg += did_you_mean(name, writable).replace(" did", "; did", 1)
            elif isinstance(msg, str) and msg.startswith("unallowed value") and "(allowed" not in msg \
                    and schema.get(name, {}).get("allowed"):
                msg += f" (allowed: {', '.join(map(str, schema[name]['allowed']))})"
            fixed.append(msg)
        out[name] = fixed
    return out


def check_params(spec, params: dict) -> dict:
    """A report's parameters, coerced and with defaults filled;
    ValidationError with every problem at once."""
    key = (spec.id, id(spec))
    schema = {name: {**(KIND_BOUNDS.get(rules["type"], {}) if isinstance(rules.get("type"), str) else {}), **rules}
              for name, rules in spec.schema.items()}
    if key not in _fast:
        _fast[key] = FastSchema(schema) if FastSchema.fits(schema) else None
    fast = _fast[key]
    if fast is not None:
        document, errors = fast.check(dict(params), update=False)
    else:
        v = CrmValidator(schema, allow_unknown=False)
        document = v.document if v.validate(dict(params)) else None
        errors = {k: [_message(m) for m in msgs] for k, msgs in v.errors.items()}
    if errors:
        raise ValidationError(explain(errors, schema, parameters=True), spec.id)
    return document


def check(spec, data: dict, update=False, admin=True) -> tuple[dict, dict]:
    """Validate and coerce one record's input: ``(document, errors)``, the
    document holding the fields that passed."""
    if not isinstance(data, dict):
        raise ValidationError({"_": "data must be a mapping of field to value"}, spec.name)
    fast = fast_schema_for(spec, admin)
    if fast is not None:
        document, errors = fast.check(data, update)
        return document, (explain(errors, fast.schema) if errors else errors)
    v = validator_for(spec, admin)
    if v.validate(dict(data), update=update):
        return v.document, {}
    errors = {field: [_message(m) for m in msgs] for field, msgs in v.errors.items()}
    document = {k: val for k, val in (v.document or {}).items() if k not in errors}
    return document, explain(errors, v.schema)


def validate(spec, data: dict, update=False, admin=True) -> dict:
    """Validate and coerce one record's input; raise ValidationError with
    every field's problems at once."""
    document, errors = check(spec, data, update, admin)
    if errors:
        raise ValidationError(errors, spec.name)
    return document


# -- bulk, vectorised -----------------------------------------------------

VECTOR_RULES = {"type", "coerce", "nullable", "required", "empty", "maxlength",
                "minlength", "allowed", "min", "max", "regex", "readonly", "series"}


def validate_frame(spec, frame, admin=True, update=False):
    """Validate a DataFrame of raw (string or typed) columns with the entity's
    schema, column by column. With ``update`` (rows an import updates) a
    required field the file leaves out keeps its stored value; a required
    column that is there must still be filled in.

    :return: ``(clean, errors)``: the coerced DataFrame and
        ``{row position: {field: [messages]}}`` for the rows that fail.
    """
    import numpy as np
    import pandas as pd

    schema = schema_for(spec, admin)
    errors: dict[int, dict[str, list[str]]] = {}
    n = len(frame)

    def flag(mask, field, msg):
        for pos in np.flatnonzero(np.asarray(mask, dtype=bool)):
            errors.setdefault(int(pos), {}).setdefault(field, []).append(msg)

    refused = {}   # every column the file may not have, at once
    for col in frame.columns:
        if col not in schema:
            refused[col] = "unknown field (see crmkit entities ENTITY; --ignore to leave it out)"
        elif schema[col].get("readonly"):
            refused[col] = "field is read-only"
    if refused:
        raise ValidationError(refused, spec.name)

    out = {}
    for field, rules in schema.items():
        if rules.get("readonly"):
            continue
        present = field in frame.columns
        if not present:
            if rules.get("required") and not update:
                raise ValidationError({field: "required field"}, spec.name)
            continue
        col = frame[field]
        if set(rules) - VECTOR_RULES:
            # rules we cannot vectorise: fall back to cerberus row by row
            sub = CrmValidator({field: rules})
            values = []
            for pos, value in enumerate(col.tolist()):
                doc = {} if value is None or (isinstance(value, float) and np.isnan(value)) else {field: value}
                if sub.validate(doc):
                    values.append(sub.document.get(field))
                else:
                    values.append(None)
                    for m in sub.errors.get(field, []):
                        flag(np.arange(n) == pos, field, _message(m))
            out[field] = pd.Series(values, index=frame.index, dtype=object)
            continue
        raw = col.astype("string") if col.dtype == object or str(col.dtype).startswith("str") else col
        kind = rules.get("type")
        coerce = rules.get("coerce")
        strips = "strip" in (coerce if isinstance(coerce, (tuple, list)) else (coerce,))
        if pd.api.types.is_string_dtype(raw.dtype):
            if kind != "string" or strips:  # as in create(): text fields keep their spaces
                raw = raw.str.strip()
            blank = raw.isna() | (raw == "")
        else:
            blank = raw.isna()
        bad = pd.Series(False, index=frame.index)
        if kind in ("integer", "float", "decimal"):
            numeric = pd.to_numeric(raw.str.replace(",", ".", regex=False)
                                    if pd.api.types.is_string_dtype(raw.dtype) else raw,
                                    errors="coerce")
            numeric = numeric.astype(float)
            bad = (numeric.isna() | ~np.isfinite(numeric.fillna(0))) & ~blank
            if kind == "integer":
                bad |= numeric.notna() & (numeric % 1 != 0)
            flag(bad, field, f"has the wrong type: expected {kind}" + ("" if kind == "integer" else " (finite)"))
            numeric = numeric.where(~bad)
            low, high = (float(rules[k]) if k in rules else None for k in ("min", "max"))
            if kind == "decimal":  # rounded to its places when written, so compared rounded
                places = getattr(spec.model._meta.fields.get(field), "decimal_places", None)
                numeric = numeric.round(places) if places is not None else numeric
            out_low = numeric.notna() & (numeric < low) if low is not None else None
            # an integer column's top is 2**31-1 or 2**63-1: compared as ``>= top + 1``, exact in floats
            out_high = (numeric.notna() & ((numeric >= high + 1) if kind == "integer" else (numeric > high))
                        if high is not None else None)
            if out_low is not None:
                flag(out_low, field, f"min value is {rules['min']}")
                numeric = numeric.where(~out_low)
            if out_high is not None:
                flag(out_high, field, f"max value is {rules['max']}")
                numeric = numeric.where(~out_high)
            value = numeric.astype("Int64") if kind == "integer" else numeric
        elif kind in ("date", "datetime"):
            parsed = _parse_dates(raw, local=kind == "date")  # a date: the day as typed (with an offset: its local day)
            bad = parsed.isna() & ~blank
            # the years of texts pandas could not read (year 1, 9999): only those are looked at
            # (a regex over every cell of a large file was most of its validation)
            early = _before_pandas_range(raw[bad]).reindex(raw.index, fill_value=False)
            late = _after_pandas_range(raw[bad]).reindex(raw.index, fill_value=False)
            flag(bad & ~(early | late), field, f"has the wrong type: expected {kind}")
            low, high = (DATE_MIN, DATE_MAX) if kind == "date" else (MOMENT_MIN, MOMENT_MAX)
            stamps = [pd.Timestamp(v.replace(tzinfo=None) if kind != "date" else v) for v in (low, high)]
            flag((parsed.notna() & (parsed < stamps[0])) | (bad & early), field,
                 f"min value is {low}")
            flag((parsed.notna() & (parsed > stamps[1])) | (bad & late), field,
                 f"max value is {high}")
            parsed = parsed.where((parsed >= stamps[0]) & (parsed <= stamps[1]))
            if kind == "date":
                value = parsed.dt.date.where(parsed.notna(), None)
            else:
                value = parsed.dt.tz_localize("UTC") if parsed.dt.tz is None else parsed.dt.tz_convert("UTC")
        elif kind == "boolean":
            low = raw.astype("string").str.strip().str.lower()
            value = low.map(lambda s: True if s in TRUE else (False if s in FALSE else None), na_action="ignore")
            bad = value.isna() & ~blank
            flag(bad, field, "has the wrong type: expected yes/no")
        else:
            value = raw.where(~blank, None) if pd.api.types.is_string_dtype(raw.dtype) else raw.astype("string")
            if "maxlength" in rules:
                flag(value.str.len().fillna(0) > rules["maxlength"], field,
                     f"max length is {rules['maxlength']}")
            if "minlength" in rules:
                flag(value.str.len().fillna(rules["minlength"]) < rules["minlength"], field,
                     f"min length is {rules['minlength']}")
            flag(value.str.contains(UNSTORABLE_CLASS, regex=True).fillna(False).astype(bool), field,
                 UNSTORABLE_MESSAGE)
            if "series" in rules:
                taken = value.str.fullmatch(series_re(rules["series"]).pattern).fillna(False)
                flag(taken.astype(bool), field, series_message(rules["series"]))
            if "regex" in rules:
                ok = value.str.fullmatch(rules["regex"]).fillna(True)
                flag(~ok.astype(bool), field, f"value does not match regex '{rules['regex']}'")
        if "allowed" in rules:
            allowed = set(rules["allowed"])
            flag(~blank & ~bad & ~value.isin(allowed), field, f"unallowed value (allowed: {', '.join(map(str, rules['allowed']))})")
        model_field = spec.model._meta.fields.get(field)
        default = getattr(model_field, "default", None)
        if rules.get("required") and (kind != "string" or rules.get("empty") is False):
            flag(blank, field, "required field")
        elif rules.get("required"):
            flag(blank & raw.isna(), field, "required field")
        elif not rules.get("nullable", False):
            if default is not None:  # a blank cell takes the field's default, as in create()
                fill = default() if callable(default) else default
                value = value.astype(object).where(~blank, fill)
            else:
                flag(blank, field, "null value not allowed")
        out[field] = value
    clean = pd.DataFrame(out, index=frame.index)
    return clean, errors


YEAR_RE = r"^\s*(?:(\d{4,})-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.(\d{4,}))"


def _years(raw):
    """The year a date's text names, for texts pandas cannot hold (year 1, 9999)."""
    import pandas as pd
    parts = raw.astype("string").str.extract(YEAR_RE)
    return pd.to_numeric(parts[0].fillna(parts[1]), errors="coerce")


def _before_pandas_range(raw):
    return (_years(raw) < DATE_MIN.year).fillna(False).astype(bool)


def _after_pandas_range(raw):
    return (_years(raw) > DATE_MAX.year).fillna(False).astype(bool)


def _out_of_pandas_range(raw):
    return _before_pandas_range(raw) | _after_pandas_range(raw)


def _parse_dates(raw, local=False):
    """ISO (with or without an offset) or 1C's dd.mm.yyyy, tried column-wide
    first (fast), then cell by cell for the few odd ones. A text without an
    offset is a local time of the input zone (``zones.reading_in``). Naive
    UTC out, or with ``local`` naive local times (a date's day as typed).
    The texts without an offset are put in the zone once, at the end."""
    import pandas as pd
    zone = input_zone()
    text = raw.astype("string")
    wanted = int((text.notna() & (text != "")).sum())
    naive = aware = None
    # ISO texts first, in two passes of pandas' ISO 8601 parser (with an offset, without one):
    # trying the formats below one by one parsed a whole column of moments four times in vain
    iso = text.str.match(r"\d{4}-\d\d-\d\d(?:$|[T ]\d\d:\d\d)").fillna(False).astype(bool)
    if iso.any():
        offset = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True).fillna(False).astype(bool)
        aware = pd.to_datetime(text.where(iso & offset), errors="coerce", format="ISO8601", utc=True)
        naive = pd.to_datetime(text.where(iso & ~offset), errors="coerce", format="ISO8601")
    formats = () if iso.any() and int((aware.notna() | naive.notna()).sum()) == wanted else (
        "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
        "%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%d.%m.%Y", "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M")
    for fmt in formats:     # every text read already when all are ISO
        if "%z" in fmt:
            parsed = pd.to_datetime(text, errors="coerce", format=fmt, utc=True)
            aware = parsed if aware is None else aware.where(aware.notna(), parsed)
        else:
            parsed = pd.to_datetime(text, errors="coerce", format=fmt)
            naive = parsed if naive is None else naive.where(naive.notna(), parsed)
        found = (naive.notna() if naive is not None else False) | (aware.notna() if aware is not None else False)
        if int(found.sum()) == wanted:
            break
    if aware is not None and aware.notna().any():
        aware = _near_bounds(aware)
        aware = aware.dt.tz_convert(zone).dt.tz_localize(None) if local else aware.dt.tz_localize(None)
    else:
        aware = None
    if naive is not None and not local and naive.notna().any():
        naive = _localized(naive, zone).dt.tz_localize(None)
    best = naive if aware is None else (aware if naive is None else naive.where(naive.notna(), aware))
    rest = best.isna() & text.notna() & (text != "")
    if rest.any() and rest.sum() < 5000:  # odd formats: per cell, but never for a whole garbage file
        moments = [_one_moment(v, zone) for v in text[rest].tolist()]
        best = best.astype("datetime64[ns]")
        best[rest] = pd.Series([pd.NaT if m is pd.NaT else (m.tz_convert(zone) if local else m).tz_localize(None)
                                for m in moments], index=text[rest].index, dtype="datetime64[ns]")
    return best


def _localized(naive, zone):
    """Naive moments as local times of ``zone``, in UTC (a time repeated by a
    clock change: its first occurrence, as Python's fold=0; a skipped one:
    moved forward)."""
    import numpy as np
    import pandas as pd
    naive = _near_bounds(naive)
    return naive.dt.tz_localize(zone, ambiguous=np.ones(len(naive), dtype=bool),
                                nonexistent="shift_forward").dt.tz_convert("UTC")


def _near_bounds(moments):
    """Moments far outside what a column holds (year 1, 9999) left out: the
    bounds refuse them by their text's year, as before, and putting them in a
    zone or in nanoseconds would overflow pandas."""
    import pandas as pd
    naive = moments.dt.tz_localize(None) if getattr(moments.dt, "tz", None) is not None else moments
    return moments.where((naive >= pd.Timestamp(DATE_MIN.year - 1, 1, 1))
                         & (naive < pd.Timestamp(DATE_MAX.year + 2, 1, 1)))


def _one_moment(text, zone):
    import pandas as pd
    try:
        stamp = pd.Timestamp(text)
        if stamp is pd.NaT or not DATE_MIN.year - 1 <= stamp.year <= DATE_MAX.year + 1:
            return pd.NaT
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
        return stamp.tz_convert("UTC")
    except (ValueError, OverflowError, TypeError):
        return pd.NaT


EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def normalize_email(value: str) -> str:
    """``Name <A@X.COM>`` -> ``a@x.com``; raises ValueError when not an address."""
    from email.utils import parseaddr
    _, addr = parseaddr(str(value))
    addr = addr.strip().lower()
    if not EMAIL_RE.match(addr):
        raise ValueError(f"{value!r} is not an email address")
    return addr


def normalize_phone(value: str, default_country: str = "7") -> str:
    """A phone number in E.164 (``+79161234567``); raises ValueError.

    Accepts spaces, dashes, dots and brackets; ``00`` for ``+``; an 11-digit
    number starting with 8 is taken as Russian trunk format (8 -> +7).
    """
    text = re.sub(r"[\s\-().]", "", str(value))
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        if len(text) == 11 and text.startswith("8") and default_country == "7":
            text = "+7" + text[1:]
        elif len(text) == 10 and default_country:
            text = "+" + default_country + text
        else:
            text = "+" + text
    if not re.fullmatch(r"\+[1-9]\d{7,14}", text):
        raise ValueError(f"{value!r} is not a phone number (E.164: + and 8 to 15 digits)")
    return text
