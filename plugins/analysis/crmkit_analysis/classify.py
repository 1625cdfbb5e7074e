"""ABC/XYZ classification of clients and products (1C's "ABC/XYZ классификация").

Definitions (tested in tests/test_classify.py):

- ABC: items with a positive measure in the ABC window, sorted by it
  descending, ties by code. An item is A while the cumulative share of the
  items *before* it is below ``a`` %, B while below ``a + b`` %, else C: the
  item that crosses a line belongs to the higher class, and a single dominant
  client is A. Items with sales in the window but a measure <= 0 are C.
- XYZ: the measure per sub-period over the XYZ window, zero-filled for
  sub-periods without sales; coefficient of variation = population standard
  deviation / mean, in %. X if <= ``x``, Y if <= ``y``, else Z. A mean <= 0
  (nothing or only returns) is Z.
- potential: no sales at all before the window's end; lost: no sales in the
  window but sales before it. ABC and XYZ each use their own window.
- ``returns``: ``net`` (returns, negative lines, are netted into the measure:
  the default) or ``sales_only`` (only lines with a positive quantity count,
  in every window and for the first sale, as the usual cleaning of the UCI
  Online Retail file drops cancellations).
- ``crossing``: the item whose share crosses a line is in the ``higher``
  class (the default: 1C's convention, the share *before* it decides) or the
  ``lower`` one (the share *including* it must be within the line).
- ``anonymous``: the code of the anonymous buyer (the import's
  ``--option anonymous=CODE`` records it); with ``anonymous_buyer`` left at
  ``exclude`` that partner is left out of the client classification (its
  sales still count for products), and the report settings say so.

The database aggregates (GROUP BY item, sub-period); pandas only sees that
aggregated matrix.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import peewee as pw

from crmkit import AccessDenied, ValidationError, utcnow

from . import models as m
from .periods import RANK, UNITS, bucket_position, buckets, positions, window

from .kinds import MEASURES  # noqa: E402
# 1C's defaults: thresholds 80/15/5 and X <= 10 %, Y <= 25 %; periods as on
# the presentation's settings form: four previous weeks, XYZ by days.
DEFAULTS = {"measure": "revenue", "abc_period": "week", "abc_periods": 4,
            "xyz_period": "week", "xyz_periods": 4, "xyz_subperiod": "day",
            "a": 80.0, "b": 15.0, "c": 5.0, "x": 10.0, "y": 25.0,
            "returns": "net", "crossing": "higher", "anonymous": "", "anonymous_buyer": "exclude",
            "report_currency": ""}
CHOICES = {"returns": ("net", "sales_only"), "crossing": ("higher", "lower"), "anonymous_buyer": ("exclude", "include")}
# settings added after runs were stored: at these values they stay out of a run's
# settings text, so a run made before keeps its key (a re-run replaces it)
LATER = {"returns": "net", "crossing": "higher", "anonymous": "", "anonymous_buyer": "exclude",
         "report_currency": ""}
KINDS = {"partner": (m.ClientClass, "partner", "analysis.client_class", "core.partner"),
         "product": (m.ProductClass, "product", "analysis.product_class", "core.product")}
CV_TOLERANCE = 1e-9   # a CV this close to a threshold counts as on it (float noise)
ENTITY = "analysis.run"


# -- settings ---------------------------------------------------------------

def check_settings(values: dict) -> dict:
    """Defaults merged with ``values``, validated; ValidationError names the field."""
    errors: dict = {}
    unknown = set(values) - set(DEFAULTS)
    for name in sorted(unknown):
        errors[name] = "unknown setting; known: " + ", ".join(DEFAULTS)
    out = dict(DEFAULTS)
    for name, value in values.items():
        if name in unknown or value is None:
            continue
        default = DEFAULTS[name]
        try:
            if isinstance(default, float):
                value = float(str(value).replace(",", "."))
                if value != value or value < 0 or value > 100:
                    raise ValueError
            elif isinstance(default, int):
                value = int(str(value))
                if not 1 <= value <= 1000:
                    raise ValueError
            else:
                value = str(value).strip()
                if name == "anonymous" and len(value) > 20:
                    raise ValueError
                if name == "report_currency" and value:
                    from crmkit.core.rates import currency_problem
                    value = value.upper()
                    problem = currency_problem(value)
                    if problem:
                        errors[name] = problem
                        continue
        except ValueError:
            errors[name] = f"{value!r} is not valid: " + ("a percentage 0..100" if isinstance(default, float)
                                                         else "a whole number 1..1000" if isinstance(default, int)
                                                         else "a partner code of at most 20 characters")
            continue
        out[name] = value
    if out["measure"] not in MEASURES:
        errors["measure"] = f"unallowed value {out['measure']!r} (allowed: {', '.join(MEASURES)})"
    for name, allowed in CHOICES.items():
        if out[name] not in allowed:
            errors[name] = f"unallowed value {out[name]!r} (allowed: {', '.join(allowed)})"
    for name in ("abc_period", "xyz_period", "xyz_subperiod"):
        if out[name] not in UNITS:
            errors[name] = f"unallowed value {out[name]!r} (allowed: {', '.join(UNITS)})"
    if not errors:
        if abs(out["a"] + out["b"] + out["c"] - 100) > 1e-9:
            errors["c"] = f"a + b + c must be 100 (got {out['a']:g} + {out['b']:g} + {out['c']:g})"
        if out["a"] <= 0:
            errors["a"] = "must be above 0"
        if out["x"] >= out["y"]:
            errors["y"] = f"must be above x ({out['x']:g})"
        if RANK[out["xyz_subperiod"]] > RANK[out["xyz_period"]]:
            errors["xyz_subperiod"] = f"must not be longer than the XYZ period ({out['xyz_period']})"
        elif out["xyz_subperiod"] == out["xyz_period"] and out["xyz_periods"] < 2:
            errors["xyz_periods"] = "XYZ needs at least 2 sub-periods to measure variation"
    if errors:
        raise ValidationError(errors, ENTITY)
    return out


def settings_key(settings: dict) -> tuple[str, str]:
    text = json.dumps({k: v for k, v in settings.items() if not (k in LATER and v == LATER[k])}, sort_keys=True)
    return text, hashlib.sha256(text.encode()).hexdigest()


def stored_settings(crm, kind) -> dict:
    """The kind's stored settings (1C's settings form), defaults where unset."""
    row = m.Setting.get_or_none(m.Setting.kind == kind)
    return check_settings(json.loads(row.settings) if row else {})


def save_settings(crm, kind, values: dict) -> dict:
    _check_kind(kind)
    crm.require("update", ENTITY)
    settings = check_settings({**stored_settings(crm, kind), **values})
    with crm.transaction():
        text = json.dumps(settings, sort_keys=True)
        if not m.Setting.update(settings=text, changed_at=utcnow()).where(m.Setting.kind == kind).execute():
            m.Setting.create(kind=kind, settings=text)
    return settings


def _check_kind(kind):
    if kind not in KINDS:
        raise ValidationError({"kind": f"unallowed value {kind!r} (allowed: {', '.join(KINDS)})"}, ENTITY)


# -- aggregation in SQL -----------------------------------------------------

def _measure(measure, conv=None):
    """The measure's aggregate; money in the report currency when ``conv``
    converts (each line at the rate of its date)."""
    S = m.Sale
    money = (lambda field: conv.amount(field, S.currency, S.date)) if conv is not None else (lambda field: field)
    if measure == "revenue":
        return pw.fn.SUM(money(S.revenue))
    if measure == "gross_profit":
        return pw.fn.SUM(money(S.revenue) - money(S.cost))
    return pw.fn.COUNT(pw.fn.DISTINCT(pw.Case(None, [(S.quantity > 0, S.document)], None)))


def _conversion(crm, settings, lines):
    """The conversion of a money measure over ``lines`` (a select of the
    windows' sales): into ``report_currency`` once every currency's rates
    are checked; without one, the lines must be in one currency (amounts of
    different currencies are never added up): the currency of one line,
    then whether any line has another (one pass that stops at the first)."""
    if settings["measure"] not in ("revenue", "gross_profit"):
        return None
    S = m.Sale
    if settings.get("report_currency"):
        from crmkit.core.currency import conversion
        conv = conversion(crm, {"report_currency": settings["report_currency"]}, ENTITY)
        conv.check(lines(S.id), S.currency, S.date)
        return conv
    one = lines(S.currency).order_by().limit(1).scalar()
    other = lines(S.currency).where(S.currency != one).order_by().limit(1).scalar() if one is not None else None
    if other is not None:
        found = sorted((one, other))
        raise ValidationError({"report_currency": f"the sales are in several currencies ({', '.join(found)}): "
                                                  f"classify in one (report_currency={found[0]} ...)"}, ENTITY)
    return None


def _sales(crm, start, end, restrict=None, sales_only=False):
    S = m.Sale
    def select(*fields):
        q = crm.query("analysis.sale", *fields).where((S.date >= start) & (S.date < end))
        if sales_only:
            q = q.where(S.quantity > 0)
        return restrict(q) if restrict is not None else q
    return select


def aggregate(crm, kind, settings, as_of, restrict=None, first=True):
    """The aggregated inputs of one classification, from SQL.

    :param restrict: optional ``f(select) -> select`` narrowing the sales
        (a segment's partners ...); access filters apply anyway.
    :param first: False: the first sales are not read (``first`` is empty;
        for a caller that classifies only items sold in both windows).
    :return: dict with ``abc`` (item id -> measure over the ABC window),
        ``xyz`` (long frame item, bucket, value), ``buckets``, ``first``
        (Series: item id -> first sale date before the later window start), windows.
    """
    return _aggregate(crm, kind, settings, as_of, restrict, None, [None], first)[None]


def aggregate_segments(crm, kind, settings, as_of, segment_ids, first=True):
    """``aggregate`` for the sales of each partner segment's current
    members: ``{segment id: data}``. Each aggregate is one query for all the
    segments (the sales joined to the distinct current memberships, grouped
    by segment too), not one per segment."""
    from crmkit.core.segments import membership
    S = m.Sale
    segment_ids = [int(i) for i in segment_ids]
    # the memberships as the user has them (a segment ranked company-wide: over the user's view)
    current = membership(crm, segment_ids or [0]).alias("current")
    members = (current.select_from(current.c.segment.alias("segment_id"), current.c.member_id).distinct()
               .alias("members"))

    def restrict(q, partner=S.partner):
        return q.join(members, on=(members.c.member_id == partner))
    restrict.partner_aware = True     # also narrows the monthly summary (its partner column given)
    return _aggregate(crm, kind, settings, as_of, restrict, members.c.segment_id, segment_ids, first)


def _aggregate(crm, kind, settings, as_of, restrict, group, groups, first=True):
    """``aggregate`` for each of ``groups`` (values of the expression
    ``group``; None: one group, all the sales).

    The first sales before the later window's start (every year of lines)
    come from the monthly summary (``summary``: the earliest of its monthly
    first dates before that day is the earliest line before it), unless a
    caller's own ``restrict`` narrows the lines only."""
    import pandas as pd
    S = m.Sale
    key = S.partner if kind == "partner" else S.product
    abc_from, abc_to = window(settings["abc_period"], settings["abc_periods"], as_of)
    xyz_from, xyz_to = window(settings["xyz_period"], settings["xyz_periods"], as_of)
    sub = settings["xyz_subperiod"]
    starts = buckets(sub, xyz_from, xyz_to)
    bucket = bucket_position(crm.db, sub, starts, S.date).alias("bucket")
    # the exact sum, sent as a float: a Decimal made per group would cost more
    # than the sum (classes are computed on whole cents, see abc_classes)
    lead = [group.alias("grp")] if group is not None else []
    sales_only = settings.get("returns") == "sales_only"
    conv = _conversion(crm, settings, _sales(crm, min(abc_from, xyz_from), max(abc_to, xyz_to), restrict, sales_only))
    measure = pw.Cast(_measure(settings["measure"], conv), "DOUBLE PRECISION").alias("value")
    by = [group] if group is not None else []

    def split(frame):
        if group is None:
            return {None: frame}
        parts = {k: part.drop(columns="grp").reset_index(drop=True) for k, part in frame.groupby("grp", sort=False)}
        return {g: parts.get(g, frame.iloc[:0].drop(columns="grp")) for g in groups}

    xyz_q = (_sales(crm, xyz_from, xyz_to, restrict, sales_only)(*lead, key.alias("item"), bucket, measure)
             .group_by(*by, key, pw.SQL(str(len(lead) + 2))))
    xyz_all = crm.frame(xyz_q, columns=["grp"] * bool(lead) + ["item", "bucket", "value"])
    xyz_all["bucket"] = positions(xyz_all["bucket"], starts)
    xyz_all["value"] = xyz_all["value"].astype(float)
    xyz = split(xyz_all)
    if (abc_from, abc_to) == (xyz_from, xyz_to):
        abc = {g: frame.groupby("item")["value"].sum() for g, frame in xyz.items()}
    else:
        abc_q = _sales(crm, abc_from, abc_to, restrict, sales_only)(*lead, key.alias("item"), measure).group_by(*by, key)
        abc = {g: pd.Series(frame["value"].astype(float).to_numpy(), index=frame["item"].to_numpy(), dtype=float)
               for g, frame in split(crm.frame(abc_q, columns=["grp"] * bool(lead) + ["item", "value"])).items()}
    later_start = max(abc_from, xyz_from)
    first_columns = ["grp"] * bool(lead) + ["item", "first"]
    if not first:
        first_frames = split(pd.DataFrame(columns=first_columns))
    elif restrict is None or getattr(restrict, "partner_aware", False):
        from .summary import visible
        SM = m.SaleMonth
        sm_key = SM.partner if kind == "partner" else SM.product
        day = SM.first_positive_date if sales_only else SM.first_date
        first_q = visible(crm, SM.select(*lead, sm_key.alias("item"), pw.fn.MIN(day)).where(day < later_start), SM)
        if restrict is not None:
            first_q = restrict(first_q, SM.partner)
        first_frames = split(crm.frame(first_q.group_by(*by, sm_key), columns=first_columns))
    else:
        first_q = (_sales(crm, dt.date(1, 1, 1), later_start, restrict, sales_only)(*lead, key.alias("item"),
                                                                                    pw.fn.MIN(S.date))
                   .group_by(*by, key))
        first_frames = split(crm.frame(first_q, columns=first_columns))
    out = {}
    for g in groups:
        ff = first_frames[g]
        first = pd.Series(pd.to_datetime(ff["first"].astype(str).str[:10]).to_numpy(), index=ff["item"].to_numpy()) \
            if len(ff) else pd.Series(dtype="datetime64[ns]")
        out[g] = {"abc": abc[g], "xyz": xyz[g], "buckets": [d.isoformat() for d in starts], "first": first,
                  "abc_window": (abc_from, abc_to), "xyz_window": (xyz_from, xyz_to)}
    return out


# -- classification in pandas ------------------------------------------------

def abc_classes(values, codes, a, b, money=True, crossing="higher"):
    """ABC of the items with sales in the window.

    :param values: Series item id -> measure.
    :param codes: Series item id -> code (ties are broken by code).
    :param crossing: ``higher``: the item crossing a line is in the higher
        class (the share before it decides); ``lower``: the share including
        it must be within the line.
    :return: DataFrame indexed by item id: value, share, cumulative_share, abc.
    """
    import numpy as np
    import pandas as pd
    frame = pd.DataFrame({"value": values.astype(float)})
    frame["code"] = codes.reindex(frame.index).astype(str).to_numpy()
    # exact arithmetic on integer cents, so "below 80 %" is exact at the line
    frame["units"] = np.round(frame["value"] * (100 if money else 1)).astype("int64")
    positive = frame[frame["units"] > 0].sort_values(["units", "code"], ascending=[False, True], kind="stable")
    total = int(positive["units"].sum())
    cumulative = positive["units"].cumsum()
    before = (cumulative - positive["units"]).to_numpy(dtype=float)
    if crossing == "lower":
        upto = cumulative.to_numpy(dtype=float)
        cls = np.where(upto * 100 <= a * total, "A", np.where(upto * 100 <= (a + b) * total, "B", "C"))
    else:
        cls = np.where(before * 100 < a * total, "A", np.where(before * 100 < (a + b) * total, "B", "C"))
    out = frame[["value"]].copy()
    out["share"] = None
    out["cumulative_share"] = None
    out["abc"] = "C"
    if total:
        out.loc[positive.index, "share"] = (positive["units"] / total * 100).to_numpy()
        out.loc[positive.index, "cumulative_share"] = (cumulative / total * 100).to_numpy()
        out.loc[positive.index, "abc"] = cls
    return out


def xyz_classes(long, bucket_keys, x, y):
    """XYZ of the items with lines in the XYZ window.

    :param long: frame item, bucket, value (one row per item and sub-period;
        bucket: the sub-period's position in ``bucket_keys``, -1 outside).
    :return: DataFrame indexed by item id: cv (% or None), xyz.
    """
    import numpy as np
    import pandas as pd
    if not len(long):
        return pd.DataFrame({"cv": pd.Series(dtype=float), "xyz": pd.Series(dtype=object)})
    cols = long["bucket"].to_numpy(dtype=np.int64)
    inside = (cols >= 0) & (cols < len(bucket_keys))
    long, cols = long[inside], cols[inside]
    items, rows = np.unique(long["item"].to_numpy(), return_inverse=True)
    matrix = np.zeros((len(items), len(bucket_keys)))
    np.add.at(matrix, (rows, cols), long["value"].astype(float).to_numpy())
    mean = matrix.mean(axis=1)
    std = matrix.std(axis=1)      # population: ddof=0
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where(mean > 0, std / mean * 100, np.nan)
    xyz = np.where(np.isnan(cv), "Z", np.where(cv <= x + CV_TOLERANCE, "X",
                                               np.where(cv <= y + CV_TOLERANCE, "Y", "Z")))
    return pd.DataFrame({"cv": cv, "xyz": xyz}, index=items)


def classify_frame(universe, data, settings):
    """Every item of ``universe`` (id -> code) with its ABC and XYZ class."""
    import numpy as np
    import pandas as pd
    codes = pd.Series(universe)
    abc_values = data["abc"][data["abc"].index.isin(codes.index)]
    abc = abc_classes(abc_values, codes, settings["a"], settings["b"], money=settings["measure"] != "documents",
                      crossing=settings.get("crossing", "higher"))
    long = data["xyz"][data["xyz"]["item"].isin(codes.index)] if len(data["xyz"]) else data["xyz"]
    xyz = xyz_classes(long, data["buckets"], settings["x"], settings["y"])
    out = pd.DataFrame(index=codes.index)
    out["code"] = codes
    out = out.join(abc).join(xyz)
    first = data["first"].reindex(out.index)   # first sale (datetime64) of each item, NaT if none
    for dim, start in (("abc", data["abc_window"][0]), ("xyz", data["xyz_window"][0])):
        missing = out[dim].isna()
        before = first.notna() & (first < pd.Timestamp(start))
        out[dim] = np.where(missing & before.to_numpy(dtype=bool), "lost",
                            np.where(missing, "potential", out[dim].astype(object)))
    return out


# -- a run: compute and store -------------------------------------------------

def universe_of(crm, kind, sold_ids):
    """Items to classify: clients (or every product) plus anything with sales.

    :param sold_ids: ids of items with sales before the window's end (known
        from the aggregates already read: no second scan of the sales).
    :return: Series item id -> code.
    """
    import pandas as pd
    _, _, _, entity = KINDS[kind]
    model = crm.model(entity)
    if kind == "partner":
        frame = crm.frame(crm.query(entity, model.id, model.code, model.is_client), columns=["id", "code", "client"])
        keep = frame["client"].astype(bool) | frame["id"].isin(sold_ids)
        frame = frame[keep]
    else:
        frame = crm.frame(crm.query(entity, model.id, model.code), columns=["id", "code"])
    return pd.Series(frame["code"].to_numpy(), index=frame["id"].to_numpy())


STEPS = 3   # what ``run`` reports to ``progress``: sales read, classes computed, history stored


def run(crm, kind="partner", as_of=None, progress=None, **overrides):
    """Classify as of a date and store it as history; a re-run for the same
    date and settings replaces that run's rows (no duplicates).

    :param progress: called with 1, 2, 3 (of ``STEPS``) as each stage ends.

    :return: summary dict (run id, windows, counts per class).
    """
    import numpy as np
    _check_kind(kind)
    model, field, entity, _ = KINDS[kind]
    crm.require("create", entity)
    if crm.visible("core.partner") is not None:
        raise AccessDenied(f"user {crm.actor.login!r}: classification covers every partner; "
                           "run it as an administrator or the system user")
    as_of = _parse_as_of(as_of, crm.zone)
    settings = check_settings({**stored_settings(crm, kind), **overrides})
    text, digest = settings_key(settings)
    progress = progress or (lambda step: None)
    data = aggregate(crm, kind, settings, as_of)
    progress(1)
    sold = np.concatenate([data["first"].index.to_numpy(), data["xyz"]["item"].to_numpy(), data["abc"].index.to_numpy()])
    universe = universe_of(crm, kind, sold)
    left_out = anonymous_left_out(settings, kind, universe)
    if left_out:
        universe = universe[universe != left_out]
    classes = classify_frame(universe, data, settings)
    progress(2)
    (abc_from, abc_to), (xyz_from, xyz_to) = data["abc_window"], data["xyz_window"]
    now = utcnow()
    with crm.transaction():
        found = m.Run.get_or_none((m.Run.kind == kind) & (m.Run.as_of == as_of) & (m.Run.settings_key == digest))
        if found is None:
            found = m.Run.create(kind=kind, as_of=as_of, settings=text, settings_key=digest,
                                 measure=settings["measure"], abc_from=abc_from, abc_to=abc_to,
                                 xyz_from=xyz_from, xyz_to=xyz_to, items=len(classes),
                                 computed_at=now, created_at=now, changed_at=now)
        else:
            m.Run.update(items=len(classes), computed_at=now, changed_at=now).where(m.Run.id == found.id).execute()
        _store(crm, model, field, found.id, as_of, classes)
    progress(3)
    counts = classes.groupby(["abc", "xyz"]).size()
    return {"run": found.id, "kind": kind, "as_of": as_of, "measure": settings["measure"],
            "abc_window": f"{abc_from} .. {abc_to - dt.timedelta(days=1)}",
            "xyz_window": f"{xyz_from} .. {xyz_to - dt.timedelta(days=1)} by {settings['xyz_subperiod']}",
            "items": len(classes),
            **({"note": f"the anonymous buyer {left_out} is left out (anonymous_buyer=include counts it)"}
               if left_out else {}),
            "classes": {f"{a}{x}" if len(a) == 1 and len(x) == 1 else f"{a}/{x}": int(n)
                                               for (a, x), n in counts.items()}}


def anonymous_left_out(settings, kind, universe=None):
    """The code of the anonymous buyer a client classification leaves out,
    or "" (products, ``anonymous_buyer=include``, none recorded, or not
    among the items)."""
    code = settings.get("anonymous", "")
    if kind != "partner" or not code or settings.get("anonymous_buyer") != "exclude":
        return ""
    if universe is not None and not (universe == code).any():
        return ""
    return code


def remember_anonymous(code):
    """Record the anonymous buyer's code in the stored client settings (the
    sales import does when given ``anonymous=CODE``), so classifications
    leave it out by default."""
    row = m.Setting.get_or_none(m.Setting.kind == "partner")
    values = json.loads(row.settings) if row else {}
    if values.get("anonymous") == code:
        return
    values["anonymous"] = code
    text = json.dumps(values, sort_keys=True)
    if row is None:
        m.Setting.create(kind="partner", settings=text)
    else:
        m.Setting.update(settings=text, changed_at=utcnow()).where(m.Setting.id == row.id).execute()


def _parse_as_of(value, zone):
    """The day a classification is as of: given, else the user's today."""
    if value is None:
        return dt.datetime.now(zone).date()
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).date() if value.tzinfo is not None else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError({"as_of": f"{value!r} is not a date (YYYY-MM-DD)"}, ENTITY) from None


def _store(crm, model, field, run_id, as_of, classes):
    """The run's rows, replacing any it had, through ``crm.load_partition``
    (on PostgreSQL a run is a partition of the history table), built column
    by column."""
    def num(column, digits):
        values = classes[column].astype(float).round(digits)
        return [None if v != v else v for v in values.tolist()]

    n = len(classes)
    columns = ["run", field, "as_of", "abc_class", "xyz_class", "value", "share", "cumulative_share", "cv"]
    rows = list(zip([run_id] * n, classes.index.tolist(), [model.as_of.db_value(as_of)] * n, classes["abc"].tolist(),
                    classes["xyz"].tolist(), num("value", 2), num("share", 6), num("cumulative_share", 6),
                    num("cv", 6)))
    crm.load_partition(model, "run", run_id, columns, rows)
