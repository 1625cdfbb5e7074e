"""cerberus rules as JSON Schema (OpenAPI 3.1 uses JSON Schema 2020-12).

One converter for entity fields, report parameters and action parameters,
so the document says what the validator checks: types, required, choices
(``enum``), lengths, bounds, patterns, and references (``x-crmkit-reference``,
given by id or by the target's lookup).
"""
from __future__ import annotations

import decimal

TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    # money and other decimals travel as strings ("884.70"): no float rounding; numbers are accepted too
    "decimal": {"type": ["string", "number"], "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
    "list": {"type": "array"},
    "dict": {"type": "object"},
}


def _number(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def rule_schema(rules: dict, reference=None) -> dict:
    """The JSON Schema of one field's cerberus rules."""
    kind = rules.get("type")
    if isinstance(kind, list):   # ["string", "stream"]: JSON carries the kinds it can (a stream is no JSON value)
        carried = [k for k in kind if k in TYPES]
        kind = carried[0] if len(carried) == 1 else None
    out = dict(TYPES.get(kind if isinstance(kind, str) else "", {}))
    if reference is not None:
        out = {"type": ["integer", "string"], "x-crmkit-reference": reference,
               "description": f"id or code of a {reference}"}
    if "allowed" in rules:
        out["enum"] = list(rules["allowed"])
    if "maxlength" in rules and out.get("type") == "string":
        out["maxLength"] = rules["maxlength"]
    if "minlength" in rules and out.get("type") == "string":
        out["minLength"] = rules["minlength"]
    if rules.get("empty") is False and out.get("type") == "string" and "minLength" not in out:
        out["minLength"] = 1
    if "min" in rules and out.get("type") in ("integer", "number"):
        out["minimum"] = _number(rules["min"])
    if "max" in rules and out.get("type") in ("integer", "number"):
        out["maximum"] = _number(rules["max"])
    if "regex" in rules:
        out["pattern"] = rules["regex"]
    if "default" in rules and not callable(rules["default"]):
        default = rules["default"]
        out["default"] = default if isinstance(default, (str, int, float, bool)) or default is None else str(default)
    if rules.get("nullable"):
        types = out.get("type", [])
        types = [types] if isinstance(types, str) else list(types)
        if types and "null" not in types:
            out["type"] = [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if rules.get("readonly"):
        out["readOnly"] = True
    return out


def object_schema(schema: dict, references=None, require=True) -> dict:
    """A JSON object schema of cerberus ``schema`` (unknown names refused)."""
    references = references or {}
    props = {name: rule_schema(rules, references.get(name)) for name, rules in schema.items()}
    out = {"type": "object", "properties": props, "additionalProperties": False}
    required = [n for n, r in schema.items() if r.get("required") and not r.get("readonly")]
    if require and required:
        out["required"] = required
    return out
