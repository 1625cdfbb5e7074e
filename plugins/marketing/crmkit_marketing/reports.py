"""Marketing reports: primary interest (Первичный интерес) and event return.

Counted in SQL (COUNT DISTINCT, SUM, GROUP BY through ``crm.query``, so the
access filter applies), shaped in pandas. Deals are used when the deals
plugin is installed; without it the deal sections are empty.
"""
from __future__ import annotations

import decimal

import pandas as pd
import peewee as pw

from crmkit import AccessDenied, NotFound, translate

from . import models as m

PI, C = m.PrimaryInterest, m.Channel
DEAL = "deals.deal"
SOURCE_TYPE_LABELS = {"event": "Marketing event", "user": "User", "partner": "Client",
                      "contact": "Contact person", "individual": "Individual"}
DEALS, PARTNERS = "number of deals", "number of distinct partners"
WON, WON_POTENTIAL, CURRENCY = "won deals", "won potential", "currency"
LEAD = "leads.lead"   # the leads plugin's, counted when installed
LEADS, QUALIFIED, CONVERSION = "number of leads", "qualified leads", "conversion, %"


def _deals_installed(crm):
    return DEAL in crm.registry.entities


def _interest(crm, *fields, date_from=None, date_to=None, subject=DEAL):
    q = crm.query("marketing.primary_interest", *fields).join(C, on=(PI.channel == C.id)).where(
        PI.subject_type == subject)
    if date_from:
        q = q.where(PI.date >= date_from)
    if date_to:
        q = q.where(PI.date <= date_to)
    if subject == DEAL:
        D = crm.model(DEAL)
        q = q.join(D, on=(D.id == PI.subject_id)).where(D.deletion_mark == False)  # noqa: E712
    return q


def _with_total(frame, label_col, crm, total):
    total_row = {label_col: translate("Total", crm.lang), DEALS: int(total[0] or 0), PARTNERS: int(total[1] or 0)}
    frame = frame.rename(columns={"n_subjects": DEALS, "n_partners": PARTNERS})
    return pd.concat([frame, pd.DataFrame([total_row])], ignore_index=True)


def source_labels(crm, types, ids) -> list:
    """The source of each row as the user sees it: one query per kind of
    source (``crm.names``), however many sources there are. A source the
    user may not see shows as ``entity:id``; an interest without a source
    as "(no source)"."""
    frame = pd.DataFrame({"type": list(types), "id": pd.array(list(ids), dtype="Int64")})
    labels = pd.Series(translate("(no source)", crm.lang), index=frame.index, dtype=object)
    known = frame[frame["type"].notna() & frame["id"].notna()]
    for entity, part in known.groupby("type", sort=False):
        try:
            names = crm.names(entity, part["id"].unique().tolist())
        except (NotFound, AccessDenied):
            names = {}
        named = part["id"].map(names).astype(object)
        labels[part.index] = named.where(named.notna(), entity + ":" + part["id"].astype(str))
    return labels.tolist()


def _interest_rows(crm, conv, period):
    """The deals' primary interests aggregated once, for every section of
    the report: one row per channel, source, partner and currency with the
    number of deals, of won deals and the won potential in whole cents (not
    used when converting: see ``primary_interest``). A deal has one primary interest (the
    ``(subject_type, subject_id)`` index is unique), so the deals of a group
    are the sum of its rows; distinct partners are counted per section in
    pandas. Before, each section ran its own GROUP BY (five over the same
    rows, each paying the access filter)."""
    D = crm.model(DEAL)
    won = D.status == "won"
    q = (_interest(crm, PI.channel.alias("channel_id"), PI.source_type.alias("source_type"),
                   PI.source_id.alias("source_id"), PI.partner.alias("partner_id"),
                   conv.currency(D.currency).alias("currency"), pw.fn.COUNT(PI.id).alias("n"),
                   pw.fn.SUM(pw.Case(None, [(won, 1)], 0)).alias("won"),
                   pw.fn.SUM(pw.Case(None, [(won, conv.cents(D.potential, D.currency, D.start_date))], 0))
                   .alias("won_cents"), **period)
         .group_by(PI.channel, PI.source_type, PI.source_id, PI.partner, *conv.keys(D.currency)))
    rows = crm.frame(q, columns=["channel_id", "source_type", "source_id", "partner_id", "currency", "n", "won",
                                 "won_cents"])
    for name in ("n", "won", "won_cents"):
        rows[name] = pd.to_numeric(rows[name]).fillna(0).astype("int64")
    return rows


def _distinct_counts(rows, keys, **more):
    """Per group of ``keys``: deals (a sum) and distinct partners (as
    ``COUNT(DISTINCT partner_id)`` counts them: none is not one)."""
    if not len(rows):
        return pd.DataFrame(columns=[*keys, "n_subjects", "n_partners", *more])
    return (rows.groupby(keys, dropna=False, sort=False)
            .agg(n_subjects=("n", "sum"), n_partners=("partner_id", "nunique"), **more).reset_index())


CENT = decimal.Decimal("0.01")


def _money(value):
    """A SUM as Decimal: SQLite answers in floats, PostgreSQL in Decimals."""
    if value is None or (not isinstance(value, decimal.Decimal) and pd.isna(value)):
        return decimal.Decimal("0.00")
    return decimal.Decimal(str(value)).quantize(CENT)


def _money_of(values):
    """``_money`` of a column, computed once per distinct value (most sources
    won nothing: their sums are all the same missing value)."""
    import numpy as np
    values = pd.Series(values, dtype=object)
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return pd.Series(np.array([_money(v) for v in distinct], dtype=object)[codes], index=values.index, dtype=object)


def _money_columns(frame, money, keys, crm):
    """Add won potential: one column with its currency, or one per currency."""
    money = money.assign(won_potential=_money_of(money["won_potential"])) if len(money) else money
    currencies = sorted(c for c in money["currency"].dropna().unique()) if len(money) else []
    if len(currencies) <= 1:
        sums = money.groupby(keys, as_index=False)["won_potential"].sum() if len(money) else \
            pd.DataFrame(columns=[*keys, "won_potential"])
        frame = frame.merge(sums, on=keys, how="left")
        frame[WON_POTENTIAL] = _money_of(frame.pop("won_potential"))
        frame[CURRENCY] = currencies[0] if currencies else ""
        return frame
    for cur in currencies:
        part = money[money["currency"] == cur].groupby(keys, as_index=False)["won_potential"].sum()
        frame = frame.merge(part.rename(columns={"won_potential": f"{WON_POTENTIAL}, {cur}"}), on=keys, how="left")
        frame[f"{WON_POTENTIAL}, {cur}"] = _money_of(frame[f"{WON_POTENTIAL}, {cur}"])
    return frame


def _conversion(crm, report, date_to, money, deals_query=None):
    """The report currency asked for; the won deals' currencies checked
    for rates at their start dates (or the report date)."""
    from crmkit.core.currency import conversion
    conv = conversion(crm, {"date_to": date_to, **money}, report)
    if conv.active and deals_query is not None:
        D = crm.model(DEAL)
        conv.check(deals_query, D.currency, D.start_date)
    return conv


def _won_potential(conv, D):
    """SUM of won deals' potential, in the report currency when converting."""
    return pw.fn.SUM(conv.amount(D.potential, D.currency, D.start_date))


def primary_interest(crm, date_from=None, date_to=None, **money_params):
    """Deals and distinct partners by source type, channel and source, with
    totals; won deals and won potential per source; new clients by source."""
    period = {"date_from": date_from, "date_to": date_to}
    sections = {}
    by_type_cols = ["source type", DEALS, PARTNERS]
    if _deals_installed(crm):
        D = crm.model(DEAL)
        conv = _conversion(crm, "marketing.primary_interest", date_to, money_params,
                           _interest(crm, **period).where(D.status == "won"))
        rows = _interest_rows(crm, conv, period)
        total = (int(rows["n"].sum()), int(rows["partner_id"].nunique()))
        channels = crm.frame(crm.query("marketing.channel", C.id, C.name, C.impact_type, include_marked=True),
                             columns=["channel_id", "name", "impact_type"])
        rows = rows.merge(channels, on="channel_id", how="left")
        by_type = _distinct_counts(rows, ["impact_type"]).sort_values(
            ["n_subjects", "impact_type"], ascending=[False, True], kind="stable")[["impact_type", "n_subjects",
                                                                                  "n_partners"]]
        by_type["impact_type"] = by_type["impact_type"].map(
            lambda t: translate(SOURCE_TYPE_LABELS.get(t, t), crm.lang))
        sections["By source type"] = _with_total(by_type.rename(columns={"impact_type": "source type"}),
                                                 "source type", crm, total)
        by_channel = _distinct_counts(rows, ["channel_id", "name"]).sort_values(
            ["n_subjects", "name", "channel_id"], ascending=[False, True, True], kind="stable")
        sections["By channel"] = _with_total(by_channel[["name", "n_subjects", "n_partners"]].rename(
            columns={"name": "primary interest channel"}), "primary interest channel", crm, total)
        keys = ["source_type", "source_id"]
        by_source = _distinct_counts(rows, keys, won=("won", "sum"))
        if conv.active:   # converted amounts summed unrounded, as the report always did
            money = crm.frame(_interest(crm, PI.source_type, PI.source_id, conv.currency(D.currency).alias("currency"),
                                        _won_potential(conv, D).alias("won_potential"), **period)
                              .where(D.status == "won").group_by(PI.source_type, PI.source_id,
                                                                 *conv.keys(D.currency)))
        else:             # potentials have two places: their sum is the sum of their cents
            won_rows = rows[rows["won"] > 0]
            money = won_rows.groupby([*keys, "currency"], dropna=False, sort=False)["won_cents"].sum().reset_index()
            money["won_potential"] = [decimal.Decimal(int(c)).scaleb(-2) for c in money.pop("won_cents").tolist()]
        by_source["primary interest source"] = source_labels(crm, by_source["source_type"], by_source["source_id"])
        by_source = by_source.sort_values(["n_subjects", "primary interest source"], ascending=[False, True])
        by_source[WON] = by_source.pop("won").fillna(0).astype(int)
        by_source = _money_columns(by_source, money, ["source_type", "source_id"], crm)
        total_won = int(by_source[WON].sum())
        by_source = by_source.drop(columns=["source_type", "source_id"])
        by_source = _with_total(by_source[["primary interest source", "n_subjects", "n_partners",
                                           *[c for c in by_source.columns if c.startswith((WON, WON_POTENTIAL, CURRENCY))]]],
                                "primary interest source", crm, total)
        last = by_source.index[-1]
        by_source.loc[last, WON] = total_won
        by_source[WON] = by_source[WON].astype(int)
        for col in [c for c in by_source.columns if c.startswith(WON_POTENTIAL)]:
            by_source.at[last, col] = sum(by_source[col].iloc[:-1], decimal.Decimal("0.00"))
        if CURRENCY in by_source.columns:
            by_source.loc[last, CURRENCY] = by_source[CURRENCY].iloc[0] if len(by_source) > 1 else ""
        sections["By source"] = by_source
    else:
        empty = pd.DataFrame(columns=by_type_cols)
        sections["By source type"] = empty
    if LEAD in crm.registry.entities:
        sections["Leads by source"] = _leads_by_source(crm, **period)
    clients = crm.frame(_interest(crm, PI.source_type, PI.source_id, C.name,
                                  pw.fn.COUNT(PI.subject_id.distinct()).alias("clients"),
                                  subject="core.partner", **period)
                        .group_by(PI.source_type, PI.source_id, C.name).order_by(C.name))
    clients.insert(0, "primary interest source", source_labels(crm, clients["source_type"], clients["source_id"]))
    sections["New clients by source"] = clients.drop(columns=["source_type", "source_id"]).rename(
        columns={"name": "primary interest channel", "clients": "number of clients"})
    return sections


def _leads_by_source(crm, date_from=None, date_to=None):
    """Leads (the leads plugin's) by channel and source of their primary
    interest: how many arrived and how many were qualified. Counted from
    the leads the user may see (their own access filter), in one query."""
    L = crm.model(LEAD)
    qualified = pw.fn.SUM(pw.Case(None, [(L.status == "qualified", 1)], 0))
    q = (crm.query(LEAD, C.name, PI.source_type, PI.source_id, pw.fn.COUNT(L.id.distinct()).alias("leads"),
                   qualified.alias("qualified"))
         .join(PI, on=((PI.subject_type == LEAD) & (PI.subject_id == L.id)))
         .join(C, on=(PI.channel == C.id))
         .where(L.deletion_mark == False)  # noqa: E712
         .group_by(C.name, PI.source_type, PI.source_id))
    if date_from:
        q = q.where(PI.date >= date_from)
    if date_to:
        q = q.where(PI.date <= date_to)
    frame = crm.frame(q)
    columns = ["primary interest channel", "primary interest source", LEADS, QUALIFIED, CONVERSION]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame.insert(0, "primary interest source", source_labels(crm, frame["source_type"], frame["source_id"]))
    frame = frame.rename(columns={"name": "primary interest channel", "leads": LEADS, "qualified": QUALIFIED})
    frame[LEADS] = frame[LEADS].astype(int)
    frame[QUALIFIED] = frame[QUALIFIED].fillna(0).astype(int)
    frame = frame.sort_values([LEADS, "primary interest channel", "primary interest source"],
                              ascending=[False, True, True])[columns[:-1]]
    total = {"primary interest channel": translate("Total", crm.lang), "primary interest source": "",
             LEADS: int(frame[LEADS].sum()), QUALIFIED: int(frame[QUALIFIED].sum())}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    frame[CONVERSION] = (100 * frame[QUALIFIED] / frame[LEADS]).round(1)
    return frame


def event_return(crm, date_from=None, date_to=None, event=None, **money_params):
    """Per event: budget, participants, deals it brought, won potential,
    cost per won deal (actual cost, or planned while there is none). In a
    report currency the budgets are converted at the event's planned start
    and the won potential at each deal's start date (or all at the report date)."""
    E = m.Event
    conv = _conversion(crm, "marketing.event_return", date_to, money_params)
    q = crm.query("marketing.event", E.id, E.code, E.name, E.planned_start,
                  conv.amount(E.budget_planned, E.currency, E.planned_start).alias("budget_planned"),
                  conv.amount(E.budget_actual, E.currency, E.planned_start).alias("budget_actual"),
                  conv.currency(E.currency).alias("currency")).order_by(E.planned_start, E.name)
    start = pw.fn.COALESCE(E.actual_start, E.planned_start)
    if date_from:
        q = q.where(start >= date_from)
    if date_to:
        q = q.where(start <= date_to)
    if event:
        q = q.where(E.id == crm.get("marketing.event", event).id)
    conv.check(q.clone(), E.currency, E.planned_start)
    events = crm.frame(q)
    if conv.active:   # converted budgets come back unrounded (floats on SQLite)
        for col in ("budget_planned", "budget_actual"):
            events[col] = [None if v is None or v != v else _money(v) for v in events[col]]
    P = m.Participant
    parts = crm.frame(crm.query("marketing.participant", P.event.alias("id"), pw.fn.COUNT(P.id).alias("participants"))
                      .group_by(P.event))
    frame = events.merge(parts, on="id", how="left")
    frame["participants"] = frame["participants"].fillna(0).astype(int)
    frame["deals"], frame[WON] = 0, 0
    money = pd.DataFrame(columns=["id", "currency", "won_potential"])
    frame["deals"] = frame["deals"].astype(int)
    if _deals_installed(crm):
        D = crm.model(DEAL)
        won = pw.Case(None, [(D.status == "won", 1)], 0)
        event_interest = PI.source_type == "marketing.event"
        if conv.active:
            base = _interest(crm, PI.source_id.alias("id"), pw.fn.COUNT(PI.subject_id.distinct()).alias("deals_n"),
                             pw.fn.SUM(won).alias("won_n")).where(event_interest)
            counts = crm.frame(base.group_by(PI.source_id))
            won_deals = _interest(crm).where(event_interest & (D.status == "won"))
            conv.check(won_deals, D.currency, D.start_date)
            money = crm.frame(_interest(crm, PI.source_id.alias("id"), conv.currency(D.currency).alias("currency"),
                                        _won_potential(conv, D).alias("won_potential"))
                              .where(event_interest & (D.status == "won"))
                              .group_by(PI.source_id, *conv.keys(D.currency)))
        else:
            # one GROUP BY per event and currency gives the deals, the won ones and their
            # potential in whole cents (a deal has one primary interest: see _interest_rows)
            cents = pw.Case(None, [(D.status == "won", conv.cents(D.potential, D.currency, D.start_date))], 0)
            rows = crm.frame(_interest(crm, PI.source_id.alias("id"), D.currency.alias("currency"),
                                       pw.fn.COUNT(PI.id).alias("deals_n"), pw.fn.SUM(won).alias("won_n"),
                                       pw.fn.SUM(cents).alias("won_cents")).where(event_interest)
                             .group_by(PI.source_id, D.currency),
                             columns=["id", "currency", "deals_n", "won_n", "won_cents"])
            for name in ("deals_n", "won_n", "won_cents"):
                rows[name] = pd.to_numeric(rows[name]).fillna(0).astype("int64")
            counts = rows.groupby("id", dropna=False, sort=False)[["deals_n", "won_n"]].sum().reset_index()
            money = rows[rows["won_n"] > 0].reset_index(drop=True)
            money = money.assign(won_potential=[decimal.Decimal(int(c)).scaleb(-2) for c in money["won_cents"]])[
                ["id", "currency", "won_potential"]]
        frame = frame.merge(counts, on="id", how="left")
        frame["deals"] = frame.pop("deals_n").fillna(0).astype(int)
        frame[WON] = frame.pop("won_n").fillna(0).astype(int)
    frame = frame.rename(columns={"currency": "budget currency"})
    frame = _money_columns(frame, money, ["id"], crm)

    def per_won(row):
        cost = row["budget_actual"] or row["budget_planned"]
        if not row[WON] or cost is None:
            return None
        return (decimal.Decimal(cost) / row[WON]).quantize(decimal.Decimal("0.01"))

    frame["cost per won deal"] = frame.apply(per_won, axis=1) if len(frame) else []
    frame = frame.rename(columns={"name": "event", "code": "code", "planned_start": "planned start",
                                  "budget_planned": "planned cost", "budget_actual": "actual cost"})
    cols = ["code", "event", "planned start", "participants", "planned cost", "actual cost", "budget currency",
            "deals", WON, *[c for c in frame.columns if c.startswith(WON_POTENTIAL)],
            *([CURRENCY] if CURRENCY in frame.columns else []), "cost per won deal"]
    return frame[cols]
