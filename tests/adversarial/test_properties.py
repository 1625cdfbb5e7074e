"""Properties, with hypothesis.

- Validation accepts every payload its schema allows and refuses, naming
  the field, every payload with one field broken; for every registered
  entity. Bulk import validates a row as ``create`` does.
- Storing any text a schema allows never raises anything but a
  ValidationError, and reads back as written.
- ABC classes partition the items and are monotone in the measure.
- Rendering a template never raises on any partner name.
"""
from __future__ import annotations

import datetime as dt
import decimal

import markupsafe
import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from crmkit import ValidationError
from crmkit.kernel.validation import schema_for, validate, validate_frame

from .conftest import INSTALLED, needs
from .world import ENTITIES, REGISTRY

pytestmark = pytest.mark.plugins(*INSTALLED)

HANDLED_RULES = {"type", "coerce", "nullable", "required", "empty", "maxlength", "minlength", "allowed",
                 "min", "max", "regex", "readonly", "default"}
# any character but surrogates and controls (C0 and C1; tab and line breaks allowed)
SAFE_TEXT = st.one_of(st.characters(blacklist_categories=("Cs", "Cc")), st.sampled_from("\t\n\r"))
FAST = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def _text(rules):
    low, high = rules.get("minlength", 0), min(rules.get("maxlength", 300), 300)
    if rules.get("regex"):
        return st.from_regex(rules["regex"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
    base = st.text(alphabet=SAFE_TEXT, min_size=max(low, 1 if rules.get("empty") is False else 0), max_size=high)
    if "strip" in str(rules.get("coerce", "")) or rules.get("empty") is False:
        base = base.map(str.strip).filter(lambda s: len(s) >= max(low, 1 if rules.get("empty") is False else 0))
    return base


def value_strategy(rules):
    kinds = rules.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "allowed" in rules:
        base = st.sampled_from(list(rules["allowed"]))
    else:
        options = []
        for kind in kinds:
            lo, hi = rules.get("min"), rules.get("max")
            if kind == "string":
                options.append(_text(rules))
            elif kind == "integer":
                options.append(st.integers(lo if lo is not None else -2**31, hi if hi is not None else 2**31 - 1))
            elif kind == "decimal":
                options.append(st.decimals(lo if lo is not None else -10**10, hi if hi is not None else 10**10,
                                           places=2, allow_nan=False, allow_infinity=False))
            elif kind == "float":
                options.append(st.floats(lo if lo is not None else -1e9, hi if hi is not None else 1e9,
                                         allow_nan=False, allow_infinity=False))
            elif kind == "date":
                options.append(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)))
            elif kind == "datetime":
                options.append(st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1),
                                            timezones=st.just(dt.timezone.utc)))
            elif kind == "boolean":
                options.append(st.booleans())
        if not options:
            return None
        base = st.one_of(options)
    return st.one_of(st.none(), base) if rules.get("nullable") else base


def doc_strategy(spec):
    """Payloads the entity's schema allows (as an administrator)."""
    schema = schema_for(spec, admin=True)
    required, optional = {}, {}
    for name, rules in schema.items():
        if rules.get("readonly") or set(rules) - HANDLED_RULES:
            continue
        strategy = value_strategy(rules)
        if strategy is None:
            continue
        (required if rules.get("required") else optional)[name] = strategy
    return st.fixed_dictionaries(required, optional=optional)


@pytest.mark.parametrize("entity", ENTITIES)
def test_validation_accepts_what_the_schema_allows(entity):
    spec = REGISTRY.entity(entity)

    @FAST
    @given(doc_strategy(spec))
    def check(doc):
        validate(spec, doc, admin=True)

    check()


def _broken(rules):
    """A value the rules refuse, or None."""
    kinds = rules.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "allowed" in rules:
        return "zz-not-allowed"
    if kinds == ["integer"]:
        return "twelve"
    if kinds in (["decimal"], ["float"]):
        return "1,2,3"
    if kinds == ["date"]:
        return "31.02.2015"
    if kinds == ["datetime"]:
        return "yesterday at noon"
    if kinds == ["boolean"]:
        return "perhaps"
    if "maxlength" in rules:
        return "я" * (rules["maxlength"] + 1)
    return None


@pytest.mark.parametrize("entity", ENTITIES)
def test_validation_refuses_one_broken_field_by_name(entity):
    spec = REGISTRY.entity(entity)
    schema = schema_for(spec, admin=True)
    breakable = sorted(n for n, r in schema.items()
                       if not r.get("readonly") and not set(r) - HANDLED_RULES and _broken(r) is not None)
    if not breakable:
        pytest.skip("no field with a rule to break")

    @FAST
    @given(doc_strategy(spec), st.sampled_from(breakable))
    def check(doc, field):
        bad = {**doc, field: _broken(schema[field])}
        with pytest.raises(ValidationError) as exc:
            validate(spec, bad, admin=True)
        assert field in exc.value.errors

    check()


# -- a row validates in bulk as it does alone ---------------------------------

def as_cell(value, exact=True):
    """How a CSV carries a value (``exact``: datetimes with offset and microseconds)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.isoformat() if exact else value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _blank(v):
    import pandas as pd
    return v is None or v == "" if isinstance(v, (str, type(None))) else bool(pd.isna(v)) if not hasattr(
        v, "__len__") else False


def _same(a, b):
    if _blank(a) or _blank(b):
        return _blank(a) and _blank(b)
    if isinstance(a, (decimal.Decimal, float, int)) and not isinstance(a, bool):
        return abs(decimal.Decimal(str(a)) - decimal.Decimal(str(b))) < decimal.Decimal("0.01")
    if hasattr(b, "to_pydatetime"):
        b = b.to_pydatetime()
    return a == b


@pytest.mark.parametrize("entity", [e for e in ("core.partner", "core.contact", "core.interaction", "core.task",
                                                "deals.deal", "claims.claim", "analysis.sale")
                                    if e in ENTITIES])
def test_bulk_validation_agrees_with_create(entity):
    spec = REGISTRY.entity(entity)

    @FAST
    @given(doc_strategy(spec))
    def check(doc):
        import pandas as pd
        row = {k: as_cell(v) for k, v in doc.items()}
        alone = validate(spec, row, admin=True)
        clean, errors = validate_frame(spec, pd.DataFrame([row], dtype=object), admin=True)
        assert errors == {}, (row, errors)
        for name in row:
            assert _same(alone.get(name), clean[name].iloc[0]), (name, row[name], alone.get(name),
                                                                  clean[name].iloc[0])

    check()


@pytest.mark.parametrize("when", ["2015-10-21T10:00:00+03:00", "2015-10-21T10:00:00.250000", "2015-10-21 07:00:00+00:00"])
def test_exact_datetimes_validate_in_bulk_as_alone(when):
    import pandas as pd
    spec = REGISTRY.entity("core.interaction")
    row = {"kind": "meeting", "date": when}
    alone = validate(spec, row)["date"]
    clean, errors = validate_frame(spec, pd.DataFrame([row], dtype=object))
    assert errors == {} and clean["date"].iloc[0].to_pydatetime() == alone


def test_1c_dates_mean_the_same_in_bulk_and_alone():
    """1C writes dates as DD.MM.YYYY: 01.02.2015 is the 1st of February."""
    import pandas as pd
    spec = REGISTRY.entity("core.partner")
    row = {"name": "Протон", "registered_on": "01.02.2015"}
    assert validate(spec, row)["registered_on"] == dt.date(2015, 2, 1)
    clean, errors = validate_frame(spec, pd.DataFrame([row], dtype=object))
    assert errors == {} and clean["registered_on"].iloc[0] == dt.date(2015, 2, 1)


# -- storing any text ------------------------------------------------------------

@pytest.mark.plugins()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(alphabet=SAFE_TEXT, min_size=1, max_size=200), comment=st.text(alphabet=SAFE_TEXT, max_size=500))
def test_any_allowed_text_is_stored_and_read_back(crm, name, comment):
    assume(name.strip())
    p = crm.create("core.partner", {"name": name, "comment": comment})
    again = crm.get("core.partner", p.id)
    assert (again.name, again.comment) == (name.strip(), comment)


@pytest.mark.plugins()
@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfffy", "\x1b]0;title\x07", "a\x0bb", "a\x9bb"])
def test_unstorable_text_is_a_validation_error(crm, text):
    """NUL and lone surrogates are bad input on both databases, refused naming the field."""
    with pytest.raises(ValidationError) as exc:
        crm.create("core.partner", {"name": "x", "comment": text})
    assert "comment" in exc.value.errors
    assert crm.count("core.partner") == 0


@pytest.mark.plugins()
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_what_crmkit_exports_it_imports(crm, tmp_path, fmt):
    p = crm.create("core.partner", {"name": "Дальстрой"})
    for i in range(3):
        crm.create("core.interaction", {"kind": "call", "direction": "incoming", "partner": p.id, "topic": f"t{i}",
                                        "date": f"2015-10-2{i}T10:1{i}:00+03:00"})
    path = tmp_path / f"interactions.{fmt}"
    crm.export("core.interaction", fmt, out=path)
    import pandas as pd
    frame = pd.read_csv(path, dtype=str, keep_default_na=False) if fmt == "csv" else pd.read_json(path, dtype=False)
    frame = frame.drop(columns=["id", "number"])            # read-only id, unique number
    again = tmp_path / f"again.{fmt}"
    frame.to_csv(again, index=False) if fmt == "csv" else again.write_text(frame.to_json(orient="records"))
    summary = crm.import_file("core.interaction", again, dry_run=True)
    assert summary["valid"] == 3 and summary["rejected"] == 0


# -- ABC --------------------------------------------------------------------------

@needs("analysis")
@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.decimals(-1000, 10**6, places=2, allow_nan=False), min_size=1, max_size=40),
       a=st.floats(1, 98), b_share=st.floats(0, 1))
@example(values=[decimal.Decimal("100")], a=80.0, b_share=0.5)
@example(values=[decimal.Decimal("80"), decimal.Decimal("15"), decimal.Decimal("5")], a=80.0, b_share=0.75)
def test_abc_classes_partition_and_are_monotone(values, a, b_share):
    import pandas as pd
    from crmkit_analysis.classify import abc_classes
    b = (100 - a) * b_share
    ids = list(range(1, len(values) + 1))
    series = pd.Series([float(v) for v in values], index=ids)
    codes = pd.Series([f"C{i:03d}" for i in ids], index=ids)
    out = abc_classes(series, codes, a, b)
    assert sorted(out.index) == ids                          # every item, once
    assert set(out["abc"]) <= {"A", "B", "C"}
    rank = {"A": 0, "B": 1, "C": 2}
    cents = {i: round(float(v) * 100) for i, v in zip(ids, values)}
    for i in ids:
        if cents[i] <= 0:
            assert out.loc[i, "abc"] == "C"
        for j in ids:
            if cents[i] > cents[j]:
                assert rank[out.loc[i, "abc"]] <= rank[out.loc[j, "abc"]], (i, j, out)
    if any(c > 0 for c in cents.values()):
        top = max(ids, key=lambda i: (cents[i], -i))
        assert out.loc[top, "abc"] == "A"                   # the biggest item is always A
        shares = out["share"].dropna().astype(float)
        assert abs(shares.sum() - 100) < 1e-6


# -- templates never raise on a partner's name ---------------------------------------

NAMES = st.text(alphabet=SAFE_TEXT, min_size=1, max_size=200).map(str.strip).filter(bool)


@pytest.mark.plugins()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=NAMES)
@example(name="{{ 7*7 }} #ПредставлениеПартнера# {% raw %}")
@example(name="<script>alert(1)</script> & ' \"")
def test_rendering_never_raises_on_a_partner_name(crm, name):
    p = crm.create("core.partner", {"name": name, "public_name": name})
    text = crm.render_template("Добрый день, #ПредставлениеПартнера#! {{ partner.name }}", {"partner": p})
    assert text == f"Добрый день, {name}! {name}"
    page = crm.render_template("<p>#ПредставлениеПартнера#</p>", {"partner": p}, html=True)
    assert page == f"<p>{markupsafe.escape(name)}</p>"


@needs("marketing")
@pytest.mark.plugins("marketing")
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=NAMES)
@example(name="Иванов\r\nBcc: all@example.com")
def test_marketing_rendering_never_raises_on_a_partner_name(crm, name):
    from crmkit_marketing.render import context_for, render_message
    p = crm.create("core.partner", {"name": name, "public_name": name})
    template = crm.model("marketing.template")(name="t", purpose="mailing", subject="Вам, #ПредставлениеПартнера#",
                                                 body_text="{{ partner.name }}", email=True, method="template")
    try:
        out = render_message(crm, template, context_for(crm, partner=p))
    except ValidationError as exc:       # a name with a line break cannot go into a subject
        assert "subject" in exc.errors and ("\r" in name or "\n" in name)
        return
    assert out["text"] == name and "\n" not in out["subject"] and "\r" not in out["subject"]
