"""Deal reports. Each aggregates in one GROUP BY through ``crm.query`` (so
the acting user's access and deletion marks apply), then shapes in pandas.

The status of a deal is read from its stage-history row open at the moment
asked (``as_of``) or now, so every report can look back in time.
"""
from __future__ import annotations

import datetime as dt
import functools
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import peewee as pw

from crmkit import ValidationError, translate

from . import models as m
from . import dimensions, stats
from .api import resolve

D, H, K, S, KS = m.Deal, m.StageHistory, m.Kind, m.Stage, m.KindStage
STATUSES = ("in_work", "won", "lost")
STATUS_LABELS = {"in_work": "In work", "won": "Won", "lost": "Lost"}
ZERO = Decimal("0.00")
COUNT, POTENTIAL = "Number of deals", "Potential sales amount"


# -- filters ------------------------------------------------------------------

def _day_start(crm, day):
    """A period's edge on a moment column: the local day's start in the user's zone."""
    return crm.day_start(day)


def _filtered(crm, fields, params, period_on=D.start_date, report=None):
    """``crm.query("deals.deal", ...)`` narrowed by the report filters. The
    period reads ``period_on`` unless ``date_basis`` names the start or the
    close date."""
    period_on = dimensions.date_column(params, period_on)
    q = crm.query("deals.deal", *fields, include_marked=bool(params.get("include_marked")))
    by_day = isinstance(period_on, pw.DateField)
    if params.get("date_from"):
        q = q.where(period_on >= (params["date_from"] if by_day else _day_start(crm, params["date_from"])))
    if params.get("date_to"):
        q = q.where(period_on <= params["date_to"] if by_day
                    else period_on < _day_start(crm, params["date_to"]) + dt.timedelta(days=1))
    if params.get("kind") not in (None, ""):
        q = q.where(D.kind == resolve(crm, "deals.kind", params["kind"], "kind"))
    if params.get("responsible") not in (None, ""):
        q = q.where(D.responsible == resolve(crm, "core.user", params["responsible"], "responsible"))
    if params.get("client") not in (None, ""):
        q = q.where(D.client == resolve(crm, "core.partner", params["client"], "client"))
    if params.get("holding") not in (None, ""):
        head = resolve(crm, "core.partner", params["holding"], "holding")
        q = q.where(D.client.in_(dimensions.holding_partners(crm, head)))
    if params.get("department") not in (None, ""):
        department = resolve(crm, "core.department", params["department"], "department")
        q = q.where(D.responsible.in_(dimensions.responsibles_in(crm, department)))
    if params.get("team") not in (None, ""):
        department = dimensions.team_department(crm, params["team"], report)
        q = q.where(D.responsible.in_(dimensions.responsibles_in(crm, department)))
    if params.get("segment") not in (None, ""):
        seg = resolve(crm, "core.segment", params["segment"], "segment")
        from crmkit.core.segments import membership   # as the user has them
        members = membership(crm, [seg]).alias("members")
        q = q.where(D.client.in_(members.select_from(members.c.member_id)))
    if params.get("currency"):
        q = q.where(D.currency == params["currency"].upper())
    return q


def _state_join(q, as_of, alias=None):
    """Join the stage-history row that holds the deal's state at ``as_of``
    (the open row when None)."""
    h = alias or H
    if as_of is None:
        return q.join(h, on=((h.deal == D.id) & h.left_at.is_null()))
    return q.join(h, on=((h.deal == D.id) & (h.entered_at <= as_of)
                         & (h.left_at.is_null() | (h.left_at > as_of))))


def _conversion(crm, params, report):
    """The report currency asked for (``report_currency``, ``rates_on``):
    potentials are converted in SQL at the rate of the deal's start date
    (or the report date), after checking that every currency of the
    report's deals has a rate then (an error naming it otherwise)."""
    from crmkit.core.currency import conversion
    conv = conversion(crm, params, report)
    if conv.active:
        conv.check(_filtered(crm, [], params), D.currency, D.start_date)
    return conv


def _money_of(conv, field=None):
    """A deal's money field (the potential) in the report currency when converting."""
    return conv.amount(field if field is not None else D.potential, D.currency, D.start_date)


def _one_currency(frame, report):
    """Potentials of different currencies are never added up."""
    found = sorted(frame["currency"].dropna().unique().tolist())
    if len(found) > 1:
        raise ValidationError({"currency": f"the deals are in several currencies ({', '.join(found)}): "
                                           f"choose one with currency=..."}, report)
    return frame.drop(columns=["currency"])


def _money(value):
    if value is None or (isinstance(value, float) and value != value):
        return ZERO
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _decimal(value):
    if value is None or (isinstance(value, float) and value != value):
        return Decimal(0)
    return Decimal(str(value))


def _pct(part, whole):
    if not whole:
        return None
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _status_label(crm, status):
    return translate(STATUS_LABELS[status], crm.lang)


# -- funnel -------------------------------------------------------------------

FUNNEL_MEASURES = ["n", "cents", "days_c", "days_n"]


def funnel(crm, as_of=None, group_by=None, **params):
    """Per stage: passages of deals in work, won and lost with their potential,
    and the average days a passage lasted (passages finished by then), of
    all deals, of won ones and of lost ones; with ``group_by`` also "By
    group": the same per group (department, holding ...) and stage."""
    keys = dimensions.group_keys(group_by, "deals.funnel")
    conv = _conversion(crm, params, "deals.funnel")
    if as_of is None:
        status, days, days_n = D.status, pw.fn.SUM(H.days), pw.fn.COUNT(H.days)
        q = _filtered(crm, [], params, period_on=H.entered_at, report="deals.funnel").join(H, on=(H.deal == D.id))
    else:
        now = H.alias("now")
        ended = pw.Case(None, [(H.left_at <= as_of, H.days)], None)
        status, days, days_n = now.status, pw.fn.SUM(ended), pw.fn.COUNT(ended)
        q = _state_join(_filtered(crm, [], params, period_on=H.entered_at, report="deals.funnel"), as_of, now) \
            .switch(D).join(H, on=(H.deal == D.id)).where(H.entered_at <= as_of)
    q, exprs = dimensions.join_groups(crm, q, keys, params)
    q = (q.select(H.stage.alias("stage"), status.alias("status"), conv.currency(D.currency).alias("currency"),
                  pw.fn.COUNT(H.id).alias("n"), pw.fn.SUM(_money_of(conv)).alias("potential"),
                  days.alias("days"), days_n.alias("days_n"), *[exprs[k].alias(k) for k in keys])
         .where(H.passage == True)  # noqa: E712
         .group_by(H.stage, status, *conv.keys(D.currency), *[exprs[k] for k in keys]))
    frame = _one_currency(crm.frame(q), "deals.funnel")
    order = _stage_order(crm, params)
    stage_ids = list(dict.fromkeys(list(order) + sorted(set(frame["stage"]) - set(order),
                                                      key=lambda s: order.get(s, 10 ** 6))))
    stage_ids = [s for s in stage_ids if s in set(frame["stage"]) or params.get("kind")]
    names = dict(S.select(S.id, S.name).where(S.id.in_(stage_ids or [0])).tuples())
    # whole cents and hundredths of a day: sums and averages are exact integers
    frame["cents"], frame["days_c"] = _cents(frame["potential"]), _cents(frame["days"])
    columns = pd.MultiIndex.from_product([FUNNEL_MEASURES, STATUSES])
    wide = (frame.groupby(["stage", "status"], sort=False)[FUNNEL_MEASURES].sum().unstack("status", fill_value=0)
            .reindex(index=stage_ids, columns=columns, fill_value=0)
            if len(frame) else pd.DataFrame(0, index=stage_ids, columns=columns))
    table = pd.DataFrame({"Sales process stage": [names.get(sid, "") for sid in stage_ids], **_funnel_figures(wide)})
    chart = pd.DataFrame({"Sales process stage": table["Sales process stage"],
                          COUNT: table["Stages in work"] + table["Stages won"] + table["Stages lost"],
                          POTENTIAL: _money_column(sum(wide[("cents", st)].to_numpy(dtype="int64")
                                                       for st in STATUSES))})
    sections = {"Sales funnel": table, "Funnel chart": chart}
    if keys:
        sections["By group"] = _funnel_by_group(crm, frame, keys, names, order)
    return sections


def _funnel_figures(wide):
    """The funnel's columns from sums ``wide[(measure, status)]``."""
    def col(measure, status):
        return wide[(measure, status)].to_numpy(dtype="int64")

    def days(statuses):
        total = sum(col("days_c", st) for st in statuses)
        count = sum(col("days_n", st) for st in statuses)
        return np.where(count == 0, None, _money_column(_half_up_div(total, count)))

    out = {}
    for st, n_col, p_col in (("in_work", "Stages in work", "Potential in work"),
                             ("won", "Stages won", "Won potential"), ("lost", "Stages lost", "Lost potential")):
        out[n_col] = col("n", st)
        out[p_col] = _money_column(col("cents", st))
    out["Duration, days"] = days(STATUSES)
    out["Duration of won deals, days"] = days(("won",))
    out["Duration of lost deals, days"] = days(("lost",))
    return out


def _funnel_by_group(crm, frame, keys, names, order):
    """The funnel per group and stage: one row per (group, stage) passed,
    groups by name, stages in the funnel's order."""
    frame, ids = _labelled(crm, frame, keys)
    labels = [dimensions.GROUP_LABELS[k] for k in keys]
    columns = [*labels, "Sales process stage", "Stages in work", "Potential in work", "Stages won", "Won potential",
               "Stages lost", "Lost potential", "Duration, days", "Duration of won deals, days",
               "Duration of lost deals, days"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    wide = (frame.groupby([*ids, "stage", "status"], sort=False)[FUNNEL_MEASURES].sum()
            .unstack("status", fill_value=0).reindex(columns=pd.MultiIndex.from_product([FUNNEL_MEASURES, STATUSES]),
                                                      fill_value=0))
    first = frame.groupby(ids, sort=False)[labels].first()
    rows = wide.index.to_frame(index=False)
    rows = rows.join(first, on=ids)
    rows["position"] = rows["stage"].map(order).fillna(10 ** 6)
    shown = rows.sort_values([*labels, *ids, "position", "stage"], kind="stable").index.to_numpy()
    wide, rows = wide.iloc[shown], rows.iloc[shown]
    return pd.DataFrame({**{label: rows[label].to_numpy(dtype=object) for label in labels},
                         "Sales process stage": rows["stage"].map(names).fillna("").to_numpy(dtype=object),
                         **_funnel_figures(wide)}, columns=columns)


def _stage_order(crm, params):
    """Stage id -> position: the kind's route when one kind is asked for,
    else the latest place a stage takes in any route (so that "Выполнение
    обязательств", 4th in a short route and 7th in a long one, comes last)."""
    q = KS.select(KS.stage, pw.fn.MAX(KS.sequence)).group_by(KS.stage)
    if params.get("kind") not in (None, ""):
        q = q.where(KS.kind == resolve(crm, "deals.kind", params["kind"], "kind"))
    pairs = sorted(q.tuples(), key=lambda p: (p[1], p[0]))
    return {stage: pos for pos, (stage, _) in enumerate(pairs)}


# -- efficiency -----------------------------------------------------------------

def _deal_rows(crm, params, as_of, report, keys=()):
    """One row per deal: its state at ``as_of`` (or now) and what the detail
    tree groups by (with ``keys``: each group key's id as ``group_<key>``).
    No GROUP BY is needed, as a deal has exactly one stage-history row open
    at any moment. Kinds and responsibles come as ids (short catalogues,
    named by ``_catalogue``); the potential as whole cents."""
    P, A = crm.model("core.partner"), m.Agreement
    conv = _conversion(crm, params, report)
    cents = conv.cents(D.potential, D.currency, D.start_date)
    q = (_state_join(_filtered(crm, [], params, report=report), as_of)
         .switch(D).join(P, on=(D.client == P.id))
         .switch(D).join(A, pw.JOIN.LEFT_OUTER, on=(D.agreement == A.id)))
    q, exprs = dimensions.join_groups(crm, q, keys, params)
    q = q.select(D.kind.alias("kind_id"), D.responsible.alias("responsible_id"), D.id.alias("deal_id"),
                 D.name.alias("deal"), P.id.alias("client_id"), P.name.alias("client"),
                 pw.fn.COALESCE(A.name, "").alias("agreement"), H.status.alias("status"),
                 conv.currency(D.currency).alias("currency"), cents.alias("cents"),
                 *[exprs[k].alias("group_" + k) for k in keys])
    frame = _one_currency(crm.frame(q), report)
    frame["cents"] = frame["cents"].astype("int64")
    return frame


def _group_levels(crm, frame, keys):
    """Tree levels for ``keys`` above a tree's own: each key's name (as the
    user sees it) and sibling rank as columns of ``frame``."""
    if not keys:
        return []
    named, ids = _labelled(crm, frame[["group_" + k for k in keys]].set_axis(list(keys), axis=1), keys)
    levels = []
    for key, id_column in zip(keys, ids):
        label = named[dimensions.GROUP_LABELS[key]].astype(object)
        frame["g_" + key] = label.to_numpy(dtype=object)
        frame["g_" + key + "_rank"] = _sibling_rank(label, named[id_column])
        levels.append(("g_" + key + "_rank", "g_" + key, None))
    return levels


def _tree_header(crm, keys, header):
    """A tree's first column's name: the msgid as it is, or with the group
    keys' names before it (each part worded in the session's language)."""
    if not keys:
        return header
    return " / ".join([translate(dimensions.GROUP_LABELS[k], crm.lang) for k in keys] + [translate(header, crm.lang)])


def _half_up(part, whole):
    """round(part / whole, 2 decimals, half up) of non-negative integers, as
    integer hundredths; -1 where whole is 0 (vectorised, exact)."""
    import numpy as np
    safe = np.where(whole == 0, 1, whole)
    return np.where(whole == 0, -1, (part * 20000 + safe) // (2 * safe))


def _money_column(cents):
    """Whole cents -> Decimals with two places. Sums repeat a lot (zeros, a
    deal's sums on its client's row), so each distinct one is made once."""
    import numpy as np
    at, distinct = pd.factorize(cents)
    return np.array([Decimal(v).scaleb(-2) for v in distinct.tolist()], dtype=object)[at]


@functools.cache
def _percents():
    """Decimals of every share 0.00 ... 100.00 %, then None."""
    import numpy as np
    return np.array([Decimal(v).scaleb(-2) for v in range(10001)] + [None], dtype=object)


def _share_column(part, whole):
    """Shares in % (two places, half up) as Decimals; None where there is
    nothing to share."""
    import numpy as np
    return _percents()[np.where((part == 0) | (whole == 0), 10001, _half_up(part, whole))]


def _positions(names, keys):
    """Position of each distinct key when sorted by name, then by key."""
    import numpy as np
    by_key = np.argsort(np.asarray(keys), kind="stable").tolist()
    position = np.empty(len(keys), dtype="int64")
    position[sorted(by_key, key=names.__getitem__)] = np.arange(len(keys))
    return position


def _sibling_rank(labels, keys):
    """Integer rank of each row's (label, key) among all rows: siblings are
    shown by label, then by key (a subset of the rows keeps its order).
    ``keys`` (ids) determine ``labels``, so only the distinct keys are
    ranked, not every row's string hashed."""
    import numpy as np
    codes, distinct = pd.factorize(keys)
    first_row = np.empty(len(distinct), dtype="int64")
    first_row[codes[::-1]] = np.arange(len(codes))[::-1]      # the first row of each key wins
    return _positions(labels.fillna("").to_numpy(dtype=object)[first_row], distinct)[codes]


def _catalogue(ids, model, blank):
    """Names and sibling ranks for a column of ids of a short catalogue
    (kinds, users): the distinct ids are named in one query; missing ids
    (0: ids start at 1) are named ``blank``."""
    import numpy as np
    codes, distinct = pd.factorize(ids.fillna(0).astype("int64"))
    keys = [int(i) for i in distinct]
    found = dict(model.select(model.id, model.name).where(model.id.in_(keys)).tuples()) if keys else {}
    names = np.array([found.get(i, blank) for i in keys], dtype=object)
    return names[codes], _positions(names, distinct)[codes]


def _tree(frame, levels, statuses, prefixes, label_name, detail_name):
    """A grouping tree as a section: one row per group of each level, with
    counts, potentials and shares of the parent group per status, each
    group followed by its children.

    Vectorised: the rows (one per deal) are sorted once by every level's
    sibling rank (a column of ``frame``), so each group of each level is one
    run of consecutive rows; a group's sums are ``np.add.reduceat`` over its
    run, its parent is the group of the level above holding the run's first
    row, and sorting the groups by (first row, level) puts every parent just
    before its children. Money is summed in whole cents.

    :param levels: ``[(rank column, label column, detail column or None)]``.
    :param prefixes: ``{status: column prefix}``.
    """
    import numpy as np
    columns = ["Level", label_name, detail_name] + [
        f"{prefixes[st]}: {c}" for st in statuses
        for c in ("deals", "share of deals, %", "potential", "share of potential, %")]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    order = np.lexsort([frame[rank].to_numpy() for rank, _, _ in reversed(levels)])
    status, cents = frame["status"].to_numpy(dtype=object)[order], frame["cents"].to_numpy("int64")[order]
    measures = {}
    for st in statuses:
        mine = status == st
        measures["n", st] = mine.astype("int64")
        measures["c", st] = np.where(mine, cents, 0)
    new_group = np.zeros(len(order), dtype=bool)
    new_group[0] = True
    group_of_row, sums = np.zeros(len(order), dtype="int64"), {k: v.sum(keepdims=True) for k, v in measures.items()}
    parts = {name: [] for name in ("start", "level", "label", "detail", *measures, *(("p",) + k for k in measures))}
    for depth, (rank, label, detail) in enumerate(levels):
        rank = frame[rank].to_numpy()[order]
        new_group = new_group.copy()
        new_group[1:] |= rank[1:] != rank[:-1]
        starts = np.flatnonzero(new_group)
        rows = order[starts]
        parts["start"].append(starts)
        parts["level"].append(np.full(len(starts), depth))
        parts["label"].append(frame[label].to_numpy(dtype=object)[rows])
        parts["detail"].append(frame[detail].to_numpy(dtype=object)[rows] if detail
                               else np.full(len(starts), "", dtype=object))
        for k in measures:
            parts[("p",) + k].append(sums[k][group_of_row[starts]])
        sums = {k: np.add.reduceat(v, starts) for k, v in measures.items()}
        for k in measures:
            parts[k].append(sums[k])
        group_of_row = np.cumsum(new_group) - 1
    shown = np.lexsort((np.concatenate(parts["level"]), np.concatenate(parts["start"])))
    tree = {name: np.concatenate(arrays)[shown] for name, arrays in parts.items()}
    out = {"Level": tree["level"], label_name: tree["label"], detail_name: tree["detail"]}
    for st in statuses:
        n, c = tree["n", st], tree["c", st]
        prefix = prefixes[st]
        out[f"{prefix}: deals"] = n
        out[f"{prefix}: share of deals, %"] = _share_column(n, tree["p", "n", st])
        out[f"{prefix}: potential"] = _money_column(c)
        out[f"{prefix}: share of potential, %"] = _share_column(np.where(n == 0, 0, c), tree["p", "c", st])
    # object columns as they are: no scan of 100,000s of values for a dtype
    return pd.DataFrame({name: pd.Series(values, dtype=object if values.dtype == object else None, copy=False)
                         for name, values in out.items()}, columns=columns)


def efficiency(crm, as_of=None, detail=True, group_by=None, **params):
    """Deals by status, then the presentation's two trees (in work and won by
    kind, deal and client; lost by responsible, kind, deal and client); with
    ``group_by`` the groups (department, holding ...) are the trees' top levels."""
    keys = dimensions.group_keys(group_by, "deals.efficiency") if detail else ()
    frame = _deal_rows(crm, params, as_of, "deals.efficiency", keys)
    status, cents = frame["status"].to_numpy(dtype=object), frame["cents"].to_numpy()
    by_status = [{"Status": _status_label(crm, st), COUNT: int((status == st).sum()),
                  POTENTIAL: Decimal(int(cents[status == st].sum())).scaleb(-2)} for st in STATUSES]
    sections = {"By status": pd.DataFrame(by_status, columns=["Status", COUNT, POTENTIAL])}
    if not detail:
        return sections
    frame["kind"], frame["kind_rank"] = _catalogue(frame["kind_id"], K, translate("(no kind)", crm.lang))
    frame["responsible"], frame["responsible_rank"] = _catalogue(frame["responsible_id"], crm.model("core.user"), "")
    frame["deal_rank"] = _sibling_rank(frame["deal"], frame["deal_id"])
    frame["client_rank"] = _sibling_rank(frame["client"], frame["client_id"])
    groups = _group_levels(crm, frame, keys)
    sections["Deals in work and won"] = _tree(
        frame, groups + [("kind_rank", "kind", None), ("deal_rank", "deal", "responsible"),
                         ("client_rank", "client", "agreement")],
        ("in_work", "won"), {"in_work": "In work", "won": "Won"},
        _tree_header(crm, keys, "Deal kind / deal / client"), "Responsible / agreement")
    sections["Lost deals"] = _tree(
        frame[status == "lost"], groups + [("responsible_rank", "responsible", None), ("kind_rank", "kind", None),
                                           ("deal_rank", "deal", None), ("client_rank", "client", "agreement")],
        ("lost",), {"lost": "Lost"}, _tree_header(crm, keys, "Responsible / deal kind / deal / client"),
        "Agreement with client")
    return sections


# -- loss reasons ---------------------------------------------------------------

def loss_reasons(crm, as_of=None, reason=None, group_by=None, **params):
    """Lost deals and their potential by loss reason (and by the groups of
    ``group_by`` before the reason), with a total row."""
    R = m.LossReason
    keys = dimensions.group_keys(group_by, "deals.loss_reasons")
    conv = _conversion(crm, params, "deals.loss_reasons")
    q, exprs = dimensions.join_groups(
        crm, _state_join(_filtered(crm, [], params, report="deals.loss_reasons"), as_of).where(H.status == "lost")
        .switch(D).join(R, pw.JOIN.LEFT_OUTER, on=(D.loss_reason == R.id)), keys, params)
    q = (q.select(*[exprs[k].alias(k) for k in keys], pw.fn.COALESCE(R.name, "").alias("reason"),
                  conv.currency(D.currency).alias("currency"), pw.fn.COUNT(D.id).alias("n"),
                  pw.fn.SUM(_money_of(conv)).alias("potential"))
         .group_by(*[exprs[k] for k in keys], R.name, *conv.keys(D.currency)))
    if reason not in (None, ""):
        q = q.where(D.loss_reason == resolve(crm, "deals.loss_reason", reason, "reason"))
    frame = _one_currency(crm.frame(q), "deals.loss_reasons")
    frame["cents"] = _cents(frame["potential"]) if len(frame) else np.zeros(0, dtype="int64")
    frame["n"] = frame["n"].astype("int64")
    labels = [dimensions.GROUP_LABELS[k] for k in keys]
    if keys:
        frame, ids = _labelled(crm, frame, keys)
        sums = frame.groupby([*ids, "reason"], sort=False).agg({"n": "sum", "cents": "sum",
                                                               **{label: "first" for label in labels}})
        frame = sums.reset_index().sort_values([*labels, *ids, "reason"], kind="stable")
    else:
        frame = frame.sort_values("reason", kind="stable")
    n, cents = frame["n"].to_numpy(dtype="int64"), frame["cents"].to_numpy(dtype="int64")
    out = pd.DataFrame({**{label: frame[label].to_numpy(dtype=object) for label in labels},
                        "Loss reason": frame["reason"].to_numpy(dtype=object), "Lost deals count": n,
                        POTENTIAL: _money_column(cents)})
    total = {**{label: "" for label in labels}, "Loss reason": "", "Lost deals count": int(n.sum()),
             POTENTIAL: Decimal(int(cents.sum())).scaleb(-2)}
    total[(labels or ["Loss reason"])[0]] = translate("Total", crm.lang)
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)[[*labels, "Loss reason", "Lost deals count",
                                                                       POTENTIAL]]


# -- forecast -------------------------------------------------------------------

def forecast(crm, group_by=None, **params):
    """Deals in work by expected close month, by responsible (and by the
    groups of ``group_by``), each potential weighted by its win probability
    (manual, or from statistics for deals whose probability method says so);
    then the deals that have no expected close date, named, since the month
    table can only put them under "(no date)". The close date basis reads
    the expected close date: these deals are not closed yet."""
    U = crm.model("core.user")
    keys = dimensions.group_keys(group_by, "deals.forecast")
    conv = _conversion(crm, params, "deals.forecast")
    if params.get("date_basis") == "close":
        params = {**params, "date_basis": None}
        base = _filtered(crm, [], params, period_on=D.end_date, report="deals.forecast")
    else:
        base = _filtered(crm, [], params, report="deals.forecast")
    base = base.where(D.status == "in_work")
    q, exprs = dimensions.join_groups(crm, base.join(U, pw.JOIN.LEFT_OUTER, on=(D.responsible == U.id)),
                                      [k for k in keys if k != "month"], params)
    if "month" in keys:    # the month of a forecast is the expected close month
        exprs["month"] = dimensions.month_of(crm, D.end_date)
    extra = [exprs[k] for k in keys]
    q = (q.select(pw.fn.COALESCE(U.name, "").alias("responsible"), D.end_date.alias("end_date"),
                  D.probability_method.alias("method"), D.probability.alias("probability"),
                  D.stage.alias("stage"), D.responsible.alias("manager"), D.client.alias("partner"),
                  D.kind.alias("kind"), conv.currency(D.currency).alias("currency"),
                  *[e.alias("group_" + k) for k, e in zip(keys, extra)],
                  pw.fn.COUNT(D.id).alias("n"), pw.fn.SUM(_money_of(conv)).alias("potential"))
         .group_by(U.name, D.end_date, D.probability_method, D.probability, D.stage, D.responsible,
                   D.client, D.kind, *conv.keys(D.currency), *extra))
    frame = _one_currency(crm.frame(q), "deals.forecast")
    probability = frame["probability"].to_numpy(dtype="int64", copy=True)
    by_statistics = (frame["method"] == "statistics").to_numpy()
    if by_statistics.any():
        factors = frame.loc[by_statistics, ["stage", "manager", "partner", "kind"]].set_axis(
            list(stats.FACTORS), axis=1)
        computed = stats.probabilities(stats.statistics(crm), factors)
        probability[by_statistics] = np.where(computed >= 0, computed, probability[by_statistics])
    cents = _cents(frame["potential"])
    weighted = np.sign(cents) * ((2 * np.abs(cents) * probability + 100) // 200)    # half up, in cents
    no_date = translate("(no date)", crm.lang)
    month = _distinct_map(frame["end_date"], lambda d: d.strftime("%Y-%m") if d is not None and d == d else no_date)
    measures = pd.DataFrame({"n": frame["n"].to_numpy(dtype="int64"), "cents": cents, "weighted": weighted})
    columns = [COUNT, POTENTIAL, "Weighted potential", "Average probability, %"]

    def figures(sums):
        pot, wei = _money_column(sums["cents"].to_numpy()), _money_column(sums["weighted"].to_numpy())
        return {COUNT: sums["n"].to_numpy(), POTENTIAL: pot, "Weighted potential": wei,
                "Average probability, %": [_pct(w, p) for w, p in zip(wei, pot)]}

    def summary(keys, label):
        sums = measures.groupby(keys.to_numpy(dtype=object)).sum().sort_index()
        return pd.DataFrame({label: sums.index.to_numpy(dtype=object), **figures(sums)}, columns=[label, *columns])

    sections = {"By close month": summary(month, "Month"),
                "By responsible": summary(frame["responsible"], "Responsible")}
    if keys:
        grouped = pd.concat([measures, frame[["group_" + k for k in keys]].set_axis(list(keys), axis=1)], axis=1)
        grouped, ids = _labelled(crm, grouped, keys)
        labels = [dimensions.GROUP_LABELS[k] for k in keys]
        sums = grouped.groupby(ids, sort=False).agg({"n": "sum", "cents": "sum", "weighted": "sum",
                                                     **{label: "first" for label in labels}})
        sums = sums.reset_index().sort_values([*labels, *ids], kind="stable")
        sections["By group"] = pd.DataFrame({**{label: sums[label].to_numpy(dtype=object) for label in labels},
                                             **figures(sums)}, columns=[*labels, *columns])
    sections["Deals without a close date"] = _undated(crm, base)
    return sections


def _undated(crm, base):
    """The forecast's deals in work that have no expected close date."""
    U, P = crm.model("core.user"), crm.model("core.partner")
    q = (base.where(D.end_date.is_null())
         .join(P, on=(D.client == P.id)).switch(D).join(U, pw.JOIN.LEFT_OUTER, on=(D.responsible == U.id))
         .select(D.code.alias("code"), D.name.alias("deal"), P.name.alias("client"),
                 pw.fn.COALESCE(U.name, "").alias("responsible"), D.potential.alias("potential"),
                 D.probability.alias("probability"), D.probability_method.alias("method"))
         .order_by(D.name, D.id))
    frame = crm.frame(q)
    return pd.DataFrame({"Code": frame["code"], "Deal": frame["deal"], "Client": frame["client"],
                         "Responsible": frame["responsible"],
                         POTENTIAL: _money_column(_cents(frame["potential"])) if len(frame) else [],
                         "Probability, %": frame["probability"]},
                        columns=["Code", "Deal", "Client", "Responsible", POTENTIAL, "Probability, %"])


def _distinct_map(values, fn):
    """``fn`` of each value, computed once per distinct value."""
    codes, distinct = pd.factorize(values.astype(object), use_na_sentinel=False)
    return pd.Series(np.array([fn(v) for v in distinct], dtype=object)[codes], index=values.index, dtype=object)


def _cents(values):
    """Sums of money (floats on SQLite, Decimals on PostgreSQL) as whole
    cents, rounded as ``_money`` rounds, each distinct value once."""
    codes, distinct = pd.factorize(values.astype(object), use_na_sentinel=False)
    return np.array([int(_money(v).scaleb(2)) for v in distinct], dtype="int64")[codes]


def _key(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    return int(value)


# -- primary demand -------------------------------------------------------------

def primary_demand(crm, **params):
    """What clients asked for, by product and by deal: satisfied (deal won),
    not satisfied (lost) or pending (in work)."""
    Dm, Pr = m.Demand, crm.model("core.product")
    conv = _conversion(crm, params, "deals.primary_demand")
    deals = _filtered(crm, [D.id], params, report="deals.primary_demand")
    q = (crm.query("deals.demand").join(D, on=(Dm.deal == D.id)).join(Pr, on=(Dm.product == Pr.id))
         .where(D.id.in_(deals))
         .select(Pr.code.alias("code"), Pr.name.alias("product"), D.status.alias("status"),
                 conv.currency(D.currency).alias("currency"), pw.fn.COUNT(pw.fn.DISTINCT(D.id)).alias("n"),
                 pw.fn.SUM(Dm.quantity).alias("quantity"), pw.fn.SUM(_money_of(conv, Dm.amount)).alias("amount"))
         .group_by(Pr.code, Pr.name, D.status, *conv.keys(D.currency)))
    frame = _one_currency(crm.frame(q), "deals.primary_demand").dropna(subset=["code", "product"])
    columns = ["Product", COUNT, "Quantity", "Amount", "Satisfied quantity", "Satisfied amount",
               "Unsatisfied quantity", "Unsatisfied amount", "Pending quantity", "Pending amount", "Satisfied, %"]
    if len(frame):
        # one row per (product, status): the statuses become columns, products sorted by name then code
        frame["quantity"] = frame["quantity"].map(_decimal)
        frame["amount"] = frame["amount"].map(_money)
        wide = frame.set_index(["product", "code", "status"])[["n", "quantity", "amount"]].unstack("status").sort_index()

        def part(column, status, zero):
            if (column, status) not in wide.columns:
                return pd.Series([zero] * len(wide), index=wide.index, dtype=object)
            values = wide[(column, status)]
            return values.astype(object).where(values.notna(), zero)

        qty = {st: part("quantity", st, Decimal(0)) for st in STATUSES}
        amt = {st: part("amount", st, ZERO) for st in STATUSES}
        won_amount, lost_amount = amt["won"].tolist(), amt["lost"].tolist()
        by_product = pd.DataFrame({
            "Product": wide.index.get_level_values("product"),
            COUNT: wide["n"].fillna(0).sum(axis=1).astype(int).to_numpy(),
            "Quantity": (qty["in_work"] + qty["won"] + qty["lost"]).to_numpy(),
            "Amount": (amt["in_work"] + amt["won"] + amt["lost"]).to_numpy(),
            "Satisfied quantity": qty["won"].to_numpy(), "Satisfied amount": amt["won"].to_numpy(),
            "Unsatisfied quantity": qty["lost"].to_numpy(), "Unsatisfied amount": amt["lost"].to_numpy(),
            "Pending quantity": qty["in_work"].to_numpy(), "Pending amount": amt["in_work"].to_numpy(),
            "Satisfied, %": [_pct(w, w + lo) for w, lo in zip(won_amount, lost_amount)]}, columns=columns)
    else:
        by_product = pd.DataFrame(columns=columns)
    P, R = crm.model("core.partner"), m.LossReason
    q = (crm.query("deals.demand").join(D, on=(Dm.deal == D.id)).join(P, on=(D.client == P.id))
         .switch(D).join(R, pw.JOIN.LEFT_OUTER, on=(D.loss_reason == R.id))
         .where(D.id.in_(deals))
         .select(D.name.alias("deal"), P.name.alias("client"), D.status.alias("status"),
                 pw.fn.COALESCE(R.name, "").alias("reason"),
                 # amounts have two places: unless converted, a deal's sum is the sum of its cents,
                 # made Decimals once per distinct sum (one ``_money`` per deal cost more than the query)
                 pw.fn.SUM(_money_of(conv, Dm.amount) if conv.active else conv.cents(Dm.amount, D.currency, D.start_date))
                 .alias("amount"))
         .group_by(D.id, D.name, P.name, D.status, R.name).order_by(D.name, D.id))
    deal_frame = crm.frame(q)
    answers = {"won": translate("yes", crm.lang), "lost": translate("no", crm.lang),
               "in_work": translate("not yet", crm.lang)}
    labels = {st: _status_label(crm, st) for st in STATUSES}
    by_deal = pd.DataFrame({"Deal": deal_frame["deal"], "Client": deal_frame["client"],
                            "Status": deal_frame["status"].map(labels),
                            "Demand amount": deal_frame["amount"].map(_money) if conv.active else
                            _money_column(deal_frame["amount"].fillna(0).to_numpy(dtype="int64")),
                            "Satisfied": deal_frame["status"].map(answers), "Loss reason": deal_frame["reason"]},
                           columns=["Deal", "Client", "Status", "Demand amount", "Satisfied", "Loss reason"])
    return {"By product": by_product, "By deal": by_deal}


# -- managers -------------------------------------------------------------------

def _cycle_days(crm):
    """Days from a deal's start to its close, in the database's dialect."""
    if isinstance(crm.db, pw.SqliteDatabase):
        return pw.fn.julianday(D.closed_at) - pw.fn.julianday(D.start_date)
    return pw.NodeList((pw.SQL("EXTRACT(EPOCH FROM ("), D.closed_at, pw.SQL("- CAST("), D.start_date,
                        pw.SQL("AS TIMESTAMP)))")), glue=" ") / 86400


MANAGER_COLUMNS = ["Deals in work", "Deals won", "Deals lost", "Win rate, %", "Potential in work", "Won potential",
                   "Lost potential", "Average cycle, days", "Average won cycle, days", "Average won deal"]


def managers(crm, group_by=None, **params):
    """Manager analysis (Анализ показателей работы менеджеров): per group
    (the responsible by default; any whitelisted keys, e.g. department,
    holding or the month of the date basis) deals in work, won and lost,
    the win rate, potentials, the average cycle of closed deals and of won
    ones, the average won deal; then a total row. One GROUP BY by the keys
    and the status; the statuses become columns in pandas."""
    keys = dimensions.group_keys(group_by, "deals.managers", default=("responsible",))
    conv = _conversion(crm, params, "deals.managers")
    cycle = pw.Case(None, [(D.status != "in_work", _cycle_days(crm))], None)
    q, exprs = dimensions.join_groups(crm, _filtered(crm, [], params, report="deals.managers"), keys, params)
    q = (q.select(*[exprs[k].alias(k) for k in keys], D.status.alias("status"),
                  conv.currency(D.currency).alias("currency"), pw.fn.COUNT(D.id).alias("n"),
                  pw.fn.SUM(_money_of(conv)).alias("potential"), pw.fn.SUM(cycle).coerce(False).alias("cycle"))
         .group_by(*[exprs[k] for k in keys], D.status, *conv.keys(D.currency)))
    frame = _one_currency(crm.frame(q), "deals.managers")
    frame["cents"] = _cents(frame["potential"]) if len(frame) else np.zeros(0, dtype="int64")
    frame["cycle"] = pd.to_numeric(frame["cycle"].astype(object), errors="coerce").fillna(0.0)
    frame["n"] = frame["n"].astype("int64")
    groups = _by_groups(crm, frame, keys)
    labels = groups[[dimensions.GROUP_LABELS[k] for k in keys]]
    figures = _manager_figures({name: groups[name].to_numpy() for name in groups.columns if isinstance(name, tuple)})
    total = _manager_figures({name: groups[name].to_numpy().sum(keepdims=True)
                              for name in groups.columns if isinstance(name, tuple)})
    table = pd.concat([labels.reset_index(drop=True), figures], axis=1)
    total_row = pd.DataFrame({**{dimensions.GROUP_LABELS[k]: [""] for k in keys}, **total.to_dict("list")})
    total_row.iloc[0, 0] = translate("Total", crm.lang)
    return pd.concat([table, total_row], ignore_index=True)[list(labels.columns) + MANAGER_COLUMNS]


GROUP_BLANKS = {"department": "(no department)", "top_department": "(no department)", "kind": "(no kind)",
                "month": "(no date)"}


def _labelled(crm, frame, keys):
    """``frame`` with each key's name as the user sees it (column
    ``GROUP_LABELS[key]``) and an id column ``<key>_id`` (-1: none; the
    month's is its text), and the names of those id columns."""
    frame = dimensions.label_columns(crm, frame, keys, "")
    for key in keys:
        if key == "month":
            frame[key] = frame[key].replace("", translate(GROUP_BLANKS[key], crm.lang))
            frame["month_id"] = frame[key]
        else:
            if key in GROUP_BLANKS:
                frame[key] = frame[key].where(frame[key + "_id"].notna(), translate(GROUP_BLANKS[key], crm.lang))
            frame[key + "_id"] = frame[key + "_id"].fillna(-1).astype("int64")
    ids = [k + "_id" for k in keys]
    return frame.rename(columns={k: dimensions.GROUP_LABELS[k] for k in keys}), ids


def _by_groups(crm, frame, keys, measures=("n", "cents", "cycle")):
    """One row per group of ``keys`` (sorted by name, then id), with a
    column ``(measure, status)`` per measure and status."""
    frame, ids = _labelled(crm, frame, keys)
    labels = [dimensions.GROUP_LABELS[k] for k in keys]
    if not len(frame):
        return pd.DataFrame(columns=[*labels, *ids, *[(mm, st) for mm in measures for st in STATUSES]])
    # groupby + unstack: pivot_table costs several times more for the same sums
    wide = (frame.groupby([*ids, "status"], sort=False)[list(measures)].sum().unstack("status", fill_value=0)
            .reindex(columns=pd.MultiIndex.from_product([list(measures), STATUSES]), fill_value=0))
    names = frame.groupby(ids, sort=False)[labels].first()
    out = names.join(wide.set_axis(list(wide.columns), axis=1), how="inner").reset_index()
    return out.sort_values([*labels, *ids], kind="stable").reset_index(drop=True)


def _manager_figures(x):
    """The figures of ``managers`` from arrays ``x[(measure, status)]``."""
    n = {st: x["n", st].astype("int64") for st in STATUSES}
    cents = {st: x["cents", st].astype("int64") for st in STATUSES}
    closed = n["won"] + n["lost"]
    return pd.DataFrame({
        "Deals in work": n["in_work"], "Deals won": n["won"], "Deals lost": n["lost"],
        "Win rate, %": _percents()[np.where(closed == 0, 10001, _half_up(n["won"], closed))],
        "Potential in work": _money_column(cents["in_work"]), "Won potential": _money_column(cents["won"]),
        "Lost potential": _money_column(cents["lost"]),
        "Average cycle, days": _average_days(x["cycle", "won"] + x["cycle", "lost"], closed),
        "Average won cycle, days": _average_days(x["cycle", "won"], n["won"]),
        "Average won deal": np.where(n["won"] == 0, None, _money_column(_half_up_div(cents["won"], n["won"])))})


def _half_up_div(part, whole):
    """round(part / whole) half up for integers (whole > 0 where it matters)."""
    safe = np.where(whole == 0, 1, whole)
    return np.sign(part) * ((2 * np.abs(part) + safe) // (2 * safe))


def _average_days(total, count):
    """Days as Decimals with two places (half up), None where nothing counts."""
    return np.array([(Decimal(str(float(t))) / int(c)).quantize(Decimal("0.01"), ROUND_HALF_UP) if c else None
                     for t, c in zip(total.tolist(), count.tolist())], dtype=object)
