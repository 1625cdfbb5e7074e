"""Deal reports. Each aggregates in one GROUP BY through ``crm.query`` (so
the acting user's access and deletion marks apply), then shapes in pandas.

The status of a deal is read from its stage-history row open at the moment
asked (``as_of``) or now, so every report can look back in time.
"""
from __future__ import annotations

import datetime as dt
import functools
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import peewee as pw

from crmkit import ValidationError, translate

from . import models as m
from . import stats
from .api import resolve

D, H, K, S, KS = m.Deal, m.StageHistory, m.Kind, m.Stage, m.KindStage
STATUSES = ("in_work", "won", "lost")
STATUS_LABELS = {"in_work": "In work", "won": "Won", "lost": "Lost"}
ZERO = Decimal("0.00")
COUNT, POTENTIAL = "Number of deals", "Potential sales amount"


# -- filters ------------------------------------------------------------------

def _day_start(day):
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


def _filtered(crm, fields, params, period_on=D.start_date, report=None):
    """``crm.query("deals.deal", ...)`` narrowed by the report filters."""
    q = crm.query("deals.deal", *fields, include_marked=bool(params.get("include_marked")))
    if params.get("date_from"):
        q = q.where(period_on >= (params["date_from"] if period_on is D.start_date
                                  else _day_start(params["date_from"])))
    if params.get("date_to"):
        q = q.where(period_on <= params["date_to"] if period_on is D.start_date
                    else period_on < _day_start(params["date_to"]) + dt.timedelta(days=1))
    if params.get("kind") not in (None, ""):
        q = q.where(D.kind == resolve(crm, "deals.kind", params["kind"], "kind"))
    if params.get("responsible") not in (None, ""):
        q = q.where(D.responsible == resolve(crm, "core.user", params["responsible"], "responsible"))
    if params.get("client") not in (None, ""):
        q = q.where(D.client == resolve(crm, "core.partner", params["client"], "client"))
    if params.get("segment") not in (None, ""):
        seg = resolve(crm, "core.segment", params["segment"], "segment")
        Member = crm.model("core.segment_member")
        q = q.where(D.client.in_(Member.select(Member.member_id).where(
            (Member.segment == seg) & Member.removed_at.is_null())))
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


def _one_currency(frame, report):
    """Potentials of different currencies are never added up."""
    found = sorted(set(frame["currency"].dropna())) if len(frame) else []
    if len(found) > 1:
        raise ValidationError({"currency": f"the deals are in several currencies ({', '.join(found)}): "
                                           f"choose one with currency=..."}, report)
    return frame.drop(columns=["currency"])


def _money(value):
    if value is None or (isinstance(value, float) and value != value):
        return ZERO
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _pct(part, whole):
    if not whole:
        return None
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _status_label(crm, status):
    return translate(STATUS_LABELS[status], crm.lang)


# -- funnel -------------------------------------------------------------------

def funnel(crm, as_of=None, **params):
    """Per stage: passages of deals in work, won and lost with their potential,
    and the average days a passage lasted (passages finished by then)."""
    if as_of is None:
        status, days, days_n = D.status, pw.fn.SUM(H.days), pw.fn.COUNT(H.days)
        q = _filtered(crm, [], params, period_on=H.entered_at).join(H, on=(H.deal == D.id))
    else:
        now = H.alias("now")
        ended = pw.Case(None, [(H.left_at <= as_of, H.days)], None)
        status, days, days_n = now.status, pw.fn.SUM(ended), pw.fn.COUNT(ended)
        q = _state_join(_filtered(crm, [], params, period_on=H.entered_at), as_of, now) \
            .switch(D).join(H, on=(H.deal == D.id)).where(H.entered_at <= as_of)
    q = (q.select(H.stage.alias("stage"), status.alias("status"), D.currency.alias("currency"),
                  pw.fn.COUNT(H.id).alias("n"), pw.fn.SUM(D.potential).alias("potential"),
                  days.alias("days"), days_n.alias("days_n"))
         .where(H.passage == True).group_by(H.stage, status, D.currency))  # noqa: E712
    frame = _one_currency(crm.frame(q), "deals.funnel")
    order = _stage_order(crm, params)
    stage_ids = list(dict.fromkeys(list(order) + sorted(set(frame["stage"]) - set(order),
                                                      key=lambda s: order.get(s, 10 ** 6))))
    stage_ids = [s for s in stage_ids if s in set(frame["stage"]) or params.get("kind")]
    names = dict(S.select(S.id, S.name).where(S.id.in_(stage_ids or [0])).tuples())
    rows, chart = [], []
    for sid in stage_ids:
        part = frame[frame["stage"] == sid]
        row = {"Sales process stage": names.get(sid, "")}
        for st, n_col, p_col in (("in_work", "Stages in work", "Potential in work"),
                                 ("won", "Stages won", "Won potential"),
                                 ("lost", "Stages lost", "Lost potential")):
            sel = part[part["status"] == st]
            row[n_col] = int(sel["n"].sum())
            row[p_col] = _money(sum((_money(v) for v in sel["potential"]), ZERO))
        n_days = int(part["days_n"].sum())
        total_days = sum((_money(v) for v in part["days"] if v is not None and v == v), ZERO)
        row["Duration, days"] = (total_days / n_days).quantize(Decimal("0.01"), ROUND_HALF_UP) if n_days else None
        rows.append(row)
        chart.append({"Sales process stage": row["Sales process stage"],
                      COUNT: row["Stages in work"] + row["Stages won"] + row["Stages lost"],
                      POTENTIAL: row["Potential in work"] + row["Won potential"] + row["Lost potential"]})
    columns = ["Sales process stage", "Stages in work", "Potential in work", "Stages won", "Won potential",
               "Stages lost", "Lost potential", "Duration, days"]
    return {"Sales funnel": pd.DataFrame(rows, columns=columns),
            "Funnel chart": pd.DataFrame(chart, columns=["Sales process stage", COUNT, POTENTIAL])}


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

def _deal_rows(crm, params, as_of, report):
    """One row per deal and status with names for grouping (one GROUP BY)."""
    U, P, A = crm.model("core.user"), crm.model("core.partner"), m.Agreement
    q = _state_join(_filtered(crm, [], params), as_of)
    q = (q.switch(D).join(K, pw.JOIN.LEFT_OUTER, on=(D.kind == K.id))
         .switch(D).join(U, pw.JOIN.LEFT_OUTER, on=(D.responsible == U.id))
         .switch(D).join(P, on=(D.client == P.id))
         .switch(D).join(A, pw.JOIN.LEFT_OUTER, on=(D.agreement == A.id))
         .select(pw.fn.COALESCE(K.name, "").alias("kind"), D.id.alias("deal_id"), D.name.alias("deal"),
                 pw.fn.COALESCE(U.name, "").alias("responsible"), P.id.alias("client_id"),
                 P.name.alias("client"), pw.fn.COALESCE(A.name, "").alias("agreement"),
                 H.status.alias("status"), D.currency.alias("currency"),
                 pw.fn.COUNT(D.id).alias("n"), pw.fn.SUM(D.potential).alias("potential"))
         .group_by(K.name, D.id, D.name, U.name, P.id, P.name, A.name, H.status, D.currency))
    return _one_currency(crm.frame(q), report)


def _cents(values):
    """Money column -> whole cents (int64): sums stay exact and vectorised."""
    return (pd.to_numeric(values.map(lambda v: None if v is None else float(v)), errors="coerce")
            .fillna(0) * 100).round().astype("int64")


def _half_up(part, whole):
    """round(part / whole, 2 decimals, half up) of non-negative integers, as
    integer hundredths; None where whole is 0 (vectorised, exact)."""
    import numpy as np
    part = np.asarray(part, dtype="int64")
    whole = np.asarray(whole, dtype="int64")
    safe = np.where(whole == 0, 1, whole)
    return np.where(whole == 0, -1, (part * 20000 + safe) // (2 * safe))


@functools.lru_cache(maxsize=1 << 16)
def _decimal(hundredths: int) -> Decimal:
    return Decimal(hundredths).scaleb(-2)


def _hundredths(values, empty):
    """Integer hundredths -> Decimal with two places (None where ``empty``);
    shares repeat a lot, so their Decimals are made once."""
    return [None if e else _decimal(v) for v, e in zip(values.tolist(), empty.tolist())]


def _tree(frame, levels, statuses, prefixes):
    """Rows of a grouping tree with counts, potentials and shares of the
    parent group per status.

    Vectorised: each level is aggregated once (one groupby over its key
    path), joined to its parent's sums for the shares, and the rows are put
    in tree order by sorting on each level's position among its siblings
    (siblings ordered by label). Money is summed in whole cents.

    :param levels: ``[(key column, label column, detail column or None)]``.
    :param prefixes: ``{status: column prefix}``.
    """
    base = frame.copy()
    cents = _cents(base["potential"]) if len(base) else pd.Series([], dtype="int64")
    for st in statuses:
        mask = base["status"] == st
        base[f"n_{st}"] = base["n"].where(mask, 0).astype("int64")
        base[f"c_{st}"] = cents.where(mask, 0).astype("int64") if len(base) else base["n"]
    sums = [f"{k}_{st}" for st in statuses for k in ("n", "c")]
    keys = [key for key, _, _ in levels]
    grand = {c: int(base[c].sum()) if len(base) else 0 for c in sums}
    parts, previous = [], None
    for depth, (key, label, detail) in enumerate(levels):
        path = keys[:depth + 1]
        how = {c: "sum" for c in sums}
        how[label] = "first"
        if detail:
            how[detail] = "first"
        g = base.groupby(path, sort=False, dropna=False).agg(how).reset_index()
        order_cols = [f"_o{d}" for d in range(depth)]
        if previous is None:
            for c in sums:
                g[f"p{c}"] = grand[c]
        else:
            parent = previous[keys[:depth] + order_cols + sums].rename(columns={c: f"p{c}" for c in sums})
            g = g.merge(parent, on=keys[:depth], how="left")
        g["_label"] = g[label].astype(str)
        g["_key"] = g[key].astype(str)
        g = g.sort_values(order_cols + ["_label", "_key"], kind="stable")
        g[f"_o{depth}"] = g.groupby(order_cols, sort=False).cumcount() if order_cols else range(len(g))
        g["Level"] = depth
        g["label"] = g[label]
        g["detail"] = g[detail] if detail else ""
        parts.append(g)
        previous = g
    if not parts or not len(base):
        return None
    order_cols = [f"_o{d}" for d in range(len(levels))]
    tree = pd.concat(parts, ignore_index=True)
    tree[order_cols] = tree[order_cols].fillna(-1)
    tree = tree.sort_values(order_cols, kind="stable")
    out = pd.DataFrame({"Level": tree["Level"].to_numpy(), "label": tree["label"].to_numpy(),
                        "detail": tree["detail"].fillna("").to_numpy()})
    for st in statuses:
        prefix = prefixes[st]
        n, c = tree[f"n_{st}"].astype("int64"), tree[f"c_{st}"].astype("int64")
        none = (n == 0).to_numpy()
        out[f"{prefix}: deals"] = n.to_numpy()
        out[f"{prefix}: share of deals, %"] = _hundredths(
            pd.Series(_half_up(n, tree[f"pn_{st}"])), none | (tree[f"pn_{st}"] == 0).to_numpy())
        out[f"{prefix}: potential"] = _hundredths(c, pd.Series(False, index=c.index))
        out[f"{prefix}: share of potential, %"] = _hundredths(
            pd.Series(_half_up(c, tree[f"pc_{st}"])), none | (tree[f"pc_{st}"] == 0).to_numpy())
    return out


def _tree_section(rows, label_name, detail_name, cols):
    if rows is None:
        return pd.DataFrame(columns=cols)
    return rows.rename(columns={"label": label_name, "detail": detail_name})[cols]


def efficiency(crm, as_of=None, detail=True, **params):
    frame = _deal_rows(crm, params, as_of, "deals.efficiency")
    by_status = []
    cents = _cents(frame["potential"]) if len(frame) else frame["potential"]
    for st in STATUSES:
        mask = frame["status"] == st
        total = int(cents[mask].sum()) if len(frame) else 0
        by_status.append({"Status": _status_label(crm, st), COUNT: int(frame["n"][mask].sum()),
                          POTENTIAL: (Decimal(total) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)})
    sections = {"By status": pd.DataFrame(by_status, columns=["Status", COUNT, POTENTIAL])}
    if not detail:
        return sections
    no_kind = translate("(no kind)", crm.lang)
    frame["kind"] = frame["kind"].replace("", no_kind)
    frame["kind_key"] = frame["kind"]
    label1, label2 = "Deal kind / deal / client", "Responsible / agreement"
    rows = _tree(frame, [("kind_key", "kind", None), ("deal_id", "deal", "responsible"),
                         ("client_id", "client", "agreement")],
                 ("in_work", "won"), {"in_work": "In work", "won": "Won"})
    cols = ["Level", label1, label2] + [f"{p}: {c}" for p in ("In work", "Won")
                                        for c in ("deals", "share of deals, %", "potential",
                                                  "share of potential, %")]
    sections["Deals in work and won"] = _tree_section(rows, label1, label2, cols)
    lost = frame[frame["status"] == "lost"].copy()
    lost["responsible_key"] = lost["responsible"]
    label3, label4 = "Responsible / deal kind / deal / client", "Agreement with client"
    rows = _tree(lost, [("responsible_key", "responsible", None), ("kind_key", "kind", None),
                        ("deal_id", "deal", None), ("client_id", "client", "agreement")],
                 ("lost",), {"lost": "Lost"})
    cols = ["Level", label3, label4] + [f"Lost: {c}" for c in ("deals", "share of deals, %", "potential",
                                                              "share of potential, %")]
    sections["Lost deals"] = _tree_section(rows, label3, label4, cols)
    return sections


# -- loss reasons ---------------------------------------------------------------

def loss_reasons(crm, as_of=None, reason=None, **params):
    R = m.LossReason
    q = (_state_join(_filtered(crm, [], params), as_of).where(H.status == "lost")
         .switch(D).join(R, pw.JOIN.LEFT_OUTER, on=(D.loss_reason == R.id))
         .select(pw.fn.COALESCE(R.name, "").alias("reason"), D.currency.alias("currency"),
                 pw.fn.COUNT(D.id).alias("n"), pw.fn.SUM(D.potential).alias("potential"))
         .group_by(R.name, D.currency).order_by(R.name))
    if reason not in (None, ""):
        q = q.where(D.loss_reason == resolve(crm, "deals.loss_reason", reason, "reason"))
    frame = _one_currency(crm.frame(q), "deals.loss_reasons")
    rows = [{"Loss reason": r, "Lost deals count": int(n), POTENTIAL: _money(p)}
            for r, n, p in zip(frame["reason"], frame["n"], frame["potential"])]
    rows.append({"Loss reason": translate("Total", crm.lang), "Lost deals count": sum(r["Lost deals count"] for r in rows),
                 POTENTIAL: sum((r[POTENTIAL] for r in rows), ZERO)})
    return pd.DataFrame(rows, columns=["Loss reason", "Lost deals count", POTENTIAL])


# -- forecast -------------------------------------------------------------------

def forecast(crm, **params):
    """Deals in work by expected close month and by responsible, each
    potential weighted by its win probability (manual, or from statistics
    for deals whose probability method says so)."""
    U = crm.model("core.user")
    q = (_filtered(crm, [], params).where(D.status == "in_work")
         .join(U, pw.JOIN.LEFT_OUTER, on=(D.responsible == U.id))
         .select(pw.fn.COALESCE(U.name, "").alias("responsible"), D.end_date.alias("end_date"),
                 D.probability_method.alias("method"), D.probability.alias("probability"),
                 D.stage.alias("stage"), D.responsible.alias("manager"), D.client.alias("partner"),
                 D.kind.alias("kind"), D.currency.alias("currency"),
                 pw.fn.COUNT(D.id).alias("n"), pw.fn.SUM(D.potential).alias("potential"))
         .group_by(U.name, D.end_date, D.probability_method, D.probability, D.stage, D.responsible,
                   D.client, D.kind, D.currency))
    frame = _one_currency(crm.frame(q), "deals.forecast")
    statistics = stats.statistics(crm) if (frame["method"] == "statistics").any() else None
    probabilities = []
    for row in frame.itertuples(index=False):
        p = row.probability
        if row.method == "statistics":
            _, computed = stats.breakdown(statistics, _key(row.stage), _key(row.manager),
                                          _key(row.partner), _key(row.kind))
            p = computed if computed is not None else p
        probabilities.append(int(p))
    frame["p"] = probabilities
    frame["potential"] = [_money(v) for v in frame["potential"]]
    frame["weighted"] = [(pot * p / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                         for pot, p in zip(frame["potential"], frame["p"])]
    no_date = translate("(no date)", crm.lang)
    frame["Month"] = [d.strftime("%Y-%m") if d is not None and d == d else no_date for d in frame["end_date"]]

    def summary(key, label):
        out = []
        for value, grp in sorted(frame.groupby(key), key=lambda g: str(g[0])):
            pot, weighted = sum(grp["potential"], ZERO), sum(grp["weighted"], ZERO)
            out.append({label: value, COUNT: int(grp["n"].sum()), POTENTIAL: pot, "Weighted potential": weighted,
                        "Average probability, %": _pct(weighted, pot)})
        return pd.DataFrame(out, columns=[label, COUNT, POTENTIAL, "Weighted potential",
                                          "Average probability, %"])

    return {"By close month": summary("Month", "Month"), "By responsible": summary("responsible", "Responsible")}


def _key(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    return int(value)


# -- primary demand -------------------------------------------------------------

def primary_demand(crm, **params):
    """What clients asked for, by product and by deal: satisfied (deal won),
    not satisfied (lost) or pending (in work)."""
    Dm, Pr = m.Demand, crm.model("core.product")
    deals = _filtered(crm, [D.id], params)
    q = (crm.query("deals.demand").join(D, on=(Dm.deal == D.id)).join(Pr, on=(Dm.product == Pr.id))
         .where(D.id.in_(deals))
         .select(Pr.code.alias("code"), Pr.name.alias("product"), D.status.alias("status"),
                 D.currency.alias("currency"), pw.fn.COUNT(pw.fn.DISTINCT(D.id)).alias("n"),
                 pw.fn.SUM(Dm.quantity).alias("quantity"), pw.fn.SUM(Dm.amount).alias("amount"))
         .group_by(Pr.code, Pr.name, D.status, D.currency))
    frame = _one_currency(crm.frame(q), "deals.primary_demand")
    rows = []
    for (code, product), grp in sorted(frame.groupby(["code", "product"]), key=lambda g: g[0][1]):
        part = {st: grp[grp["status"] == st] for st in STATUSES}
        qty = {st: sum((Decimal(str(v)) for v in part[st]["quantity"]), Decimal(0)) for st in STATUSES}
        amt = {st: sum((_money(v) for v in part[st]["amount"]), ZERO) for st in STATUSES}
        total = sum(amt.values(), ZERO)
        rows.append({"Product": product, COUNT: int(grp["n"].sum()), "Quantity": sum(qty.values(), Decimal(0)),
                     "Amount": total, "Satisfied quantity": qty["won"], "Satisfied amount": amt["won"],
                     "Unsatisfied quantity": qty["lost"], "Unsatisfied amount": amt["lost"],
                     "Pending quantity": qty["in_work"], "Pending amount": amt["in_work"],
                     "Satisfied, %": _pct(amt["won"], amt["won"] + amt["lost"])})
    by_product = pd.DataFrame(rows, columns=["Product", COUNT, "Quantity", "Amount", "Satisfied quantity",
                                             "Satisfied amount", "Unsatisfied quantity", "Unsatisfied amount",
                                             "Pending quantity", "Pending amount", "Satisfied, %"])
    P, R = crm.model("core.partner"), m.LossReason
    q = (crm.query("deals.demand").join(D, on=(Dm.deal == D.id)).join(P, on=(D.client == P.id))
         .switch(D).join(R, pw.JOIN.LEFT_OUTER, on=(D.loss_reason == R.id))
         .where(D.id.in_(deals))
         .select(D.name.alias("deal"), P.name.alias("client"), D.status.alias("status"),
                 pw.fn.COALESCE(R.name, "").alias("reason"), pw.fn.SUM(Dm.amount).alias("amount"))
         .group_by(D.id, D.name, P.name, D.status, R.name).order_by(D.name, D.id))
    deal_frame = crm.frame(q)
    answers = {"won": translate("yes", crm.lang), "lost": translate("no", crm.lang),
               "in_work": translate("not yet", crm.lang)}
    by_deal = pd.DataFrame([{"Deal": d, "Client": c, "Status": _status_label(crm, s), "Demand amount": _money(a),
                             "Satisfied": answers[s], "Loss reason": r}
                            for d, c, s, r, a in deal_frame.itertuples(index=False)],
                           columns=["Deal", "Client", "Status", "Demand amount", "Satisfied", "Loss reason"])
    return {"By product": by_product, "By deal": by_deal}


# -- managers -------------------------------------------------------------------

def _cycle_days(crm):
    """Days from a deal's start to its close, in the database's dialect."""
    if isinstance(crm.db, pw.SqliteDatabase):
        return pw.fn.julianday(D.closed_at) - pw.fn.julianday(D.start_date)
    return pw.NodeList((pw.SQL("EXTRACT(EPOCH FROM ("), D.closed_at, pw.SQL("- CAST("), D.start_date,
                        pw.SQL("AS TIMESTAMP)))")), glue=" ") / 86400


def managers(crm, **params):
    U = crm.model("core.user")
    cycle = pw.Case(None, [(D.status != "in_work", _cycle_days(crm))], None)
    q = (_filtered(crm, [], params).join(U, pw.JOIN.LEFT_OUTER, on=(D.responsible == U.id))
         .select(pw.fn.COALESCE(U.name, "").alias("responsible"), D.status.alias("status"),
                 D.currency.alias("currency"), pw.fn.COUNT(D.id).alias("n"),
                 pw.fn.SUM(D.potential).alias("potential"),
                 pw.fn.SUM(cycle).coerce(False).alias("cycle"))
         .group_by(U.name, D.status, D.currency))
    frame = _one_currency(crm.frame(q), "deals.managers")
    rows = []
    for name, grp in sorted(frame.groupby("responsible"), key=lambda g: g[0]):
        n = {st: int(grp.loc[grp["status"] == st, "n"].sum()) for st in STATUSES}
        pot = {st: sum((_money(v) for v in grp.loc[grp["status"] == st, "potential"]), ZERO) for st in STATUSES}
        closed = grp[grp["status"] != "in_work"]
        cycle_sum = sum(float(v) for v in closed["cycle"] if v is not None and v == v)
        n_closed = n["won"] + n["lost"]
        rows.append({"Responsible": name, "Deals in work": n["in_work"], "Deals won": n["won"],
                     "Deals lost": n["lost"], "Win rate, %": _pct(n["won"], n_closed),
                     "Potential in work": pot["in_work"], "Won potential": pot["won"],
                     "Lost potential": pot["lost"],
                     "Average cycle, days": (Decimal(str(cycle_sum)) / n_closed).quantize(
                         Decimal("0.01"), ROUND_HALF_UP) if n_closed else None})
    return pd.DataFrame(rows, columns=["Responsible", "Deals in work", "Deals won", "Deals lost", "Win rate, %",
                                       "Potential in work", "Won potential", "Lost potential",
                                       "Average cycle, days"])
