"""The JSON body of a request: an object, nothing else.

Floats are read as Decimals (money keeps its digits), NaN and Infinity are
refused, and a body that is not JSON, not an object, or too large is a
problem document naming ``body``. Field-level problems (unknown names,
wrong types, NUL characters, out-of-range numbers) are the kernel
validator's, reported per field.
"""
from __future__ import annotations

import decimal
import json

from .problems import bad_request

JSON_TYPES = ("application/json", "application/merge-patch+json")


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def json_object(request, required=True) -> dict:
    raw = request.get_data(cache=True)   # over MAX_CONTENT_LENGTH: 413 before it is read
    if not raw.strip():
        if required:
            raise bad_request("body", "a JSON object is required")
        return {}
    if request.mimetype not in JSON_TYPES:
        raise bad_request("body", f"Content-Type must be application/json, not {request.mimetype or 'none'!r}",
                          status=415, title="Unsupported media type")
    try:
        value = json.loads(raw.decode("utf-8"), parse_float=decimal.Decimal, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise bad_request("body", "is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise bad_request("body", f"is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise bad_request("body", f"must be a JSON object, not {type(value).__name__}")
    bad_keys = [k for k in value if "\x00" in k or len(k) > 100]
    if bad_keys:
        raise bad_request("body", "a field name contains NUL or is longer than 100 characters", status=422,
                          title="Invalid input")
    return value
