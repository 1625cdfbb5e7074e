"""Report builds. Aggregates come from SQL through ``crm.query`` (access
filters applied), pandas only shapes them. Imported when a report runs."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import peewee as pw

from crmkit import ValidationError, translate

from . import models as m
from .classify import KINDS

ABC_ORDER = ("A", "B", "C", "potential", "lost")
XYZ_ORDER = ("X", "Y", "Z", "potential", "lost")
RANKS = {"A": 3, "B": 2, "C": 1, "X": 3, "Y": 2, "Z": 1, "lost": 0}


def pick_run(crm, kind, as_of=None, measure=None, run=None, **settings):
    """The run a report shows: ``run`` (an id) when given; else the latest
    visible run of ``kind`` on or before ``as_of`` whose settings match the
    ones given (``measure``, thresholds, periods, ``returns``, ``crossing``
    ...), the latest *computed* first among runs of the same date (a re-run
    of older settings replaces its run, keeping that run's id)."""
    from .classify import check_settings
    R = m.Run
    if run not in (None, ""):
        found = crm.query("analysis.run").where(R.id == run).first()
        if found is None:
            raise ValidationError({"run": f"no classification run {run!r}"}, "analysis.run")
        if found.kind != kind:
            raise ValidationError({"run": f"run {run} classifies {found.kind}s, not {kind}s"}, "analysis.run")
        return found
    given = {k: v for k, v in settings.items() if v is not None}
    if measure:
        given["measure"] = measure
    if given:
        given = {k: v for k, v in check_settings(given).items() if k in given}   # coerced, checked, as stored
    q = crm.query("analysis.run").where(R.kind == kind)
    if as_of:
        q = q.where(R.as_of <= as_of)
    if measure:
        q = q.where(R.measure == measure)
    for candidate in q.order_by(R.as_of.desc(), R.computed_at.desc(), R.id.desc()):
        stored = check_settings(json.loads(candidate.settings))
        if all(stored.get(k) == v for k, v in given.items()):
            return candidate
    return None


def previous_run(crm, run):
    R = m.Run
    return (crm.query("analysis.run").where((R.kind == run.kind) & (R.settings_key == run.settings_key)
                                           & (R.as_of < run.as_of))
            .order_by(R.as_of.desc(), R.id.desc()).first())


def view_classes(crm, kind, run):
    """A run's classification as the acting user may see it: a frame of
    item_id, code, name, value, share, cumulative_share, abc, cv, xyz.

    The stored run ranks every client among all clients. Its shares,
    cumulative shares and ABC classes (and, for products, every figure,
    since a product's sales are sales to all clients) depend on clients a
    restricted user may not see. For such a user the visible clients of the
    run are ranked again among themselves, from their stored values (a
    client's value, CV, XYZ class, potential or lost are its own sales);
    products are classified again, live, with the run's date and settings,
    over the sales the user sees. An administrator reads the stored run.
    """
    columns = ["item_id", "code", "name", "value", "share", "cumulative_share", "abc", "cv", "xyz"]
    model, _, _, item_entity = KINDS[kind]
    if crm.sees_everything():
        return crm.frame(_item_query(crm, kind, run.id, model.value, model.share, model.cumulative_share,
                                     model.abc_class, model.cv, model.xyz_class), columns=columns)
    from .classify import abc_classes, check_settings
    settings = check_settings(json.loads(run.settings))
    if kind == "product":
        return _products_of_view(crm, run, settings)[columns]
    # the stored class only says whether the client was ranked at all (own sales in the window)
    own = pw.Case(None, [(model.abc_class.in_(("potential", "lost")), model.abc_class)], "ranked")
    frame = crm.frame(_item_query(crm, kind, run.id, model.value, own, model.cv, model.xyz_class),
                      columns=["item_id", "code", "name", "value", "own", "cv", "xyz"])
    values = pd.to_numeric(frame["value"], errors="coerce")   # the shown value stays as stored
    ranked = frame["own"] == "ranked"
    ranks = abc_classes(values[ranked].set_axis(frame.loc[ranked, "item_id"]),
                        frame.loc[ranked, "code"].set_axis(frame.loc[ranked, "item_id"]),
                        settings["a"], settings["b"], money=settings["measure"] != "documents",
                        crossing=settings["crossing"])
    frame = frame.merge(ranks[["share", "cumulative_share", "abc"]], left_on="item_id", right_index=True,
                        how="left")
    frame["abc"] = frame["abc"].where(ranked, frame["own"])
    return frame[columns]


def _products_of_view(crm, run, settings):
    import numpy as np
    from .classify import aggregate, classify_frame, universe_of
    data = aggregate(crm, "product", settings, run.as_of)
    sold = np.concatenate([data["first"].index.to_numpy(), data["xyz"]["item"].to_numpy(),
                           data["abc"].index.to_numpy()])
    classes = classify_frame(universe_of(crm, "product", sold), data, settings)
    item = crm.model("core.product")
    names = crm.frame(crm.query("core.product", item.id, item.name).where(item.id.in_(classes.index.tolist())),
                      columns=["item_id", "name"])
    frame = classes.rename_axis("item_id").reset_index().merge(names, on="item_id", how="inner")
    frame["value"] = frame["value"].astype(float).round(2)
    return frame


def _item_query(crm, kind, run_id, *extra):
    model, field, entity, item_entity = KINDS[kind]
    item = crm.model(item_entity)
    return (crm.query(entity, item.id.alias("item_id"), item.code, item.name, *extra)
            .join(item, on=(getattr(model, field) == item.id)).where(model.run == run_id))


def _settings_frame(run, lang="en"):
    """The run's settings as the settings form says them, in ``lang``."""
    from crmkit import format_value, translate
    if run is None:
        return pd.DataFrame({"setting": ["classification"], "value": ["not run yet: crmkit analysis classify"]})
    from .classify import anonymous_left_out, check_settings
    settings = check_settings(json.loads(run.settings))

    def window(start, end):
        return f"{format_value(start, lang)} .. {format_value(end - dt.timedelta(days=1), lang)}"
    rows = [("run", str(run.id)), ("as of", run.as_of), ("measure", run.measure),
            ("ABC window", window(run.abc_from, run.abc_to)),
            ("XYZ window", f"{window(run.xyz_from, run.xyz_to)} {translate('by ' + settings['xyz_subperiod'], lang)}"),
            ("ABC thresholds, %", f"A {settings['a']:g} / B {settings['b']:g} / C {settings['c']:g}"),
            ("XYZ thresholds (CV), %",
             f"X <= {settings['x']:g} / Y <= {settings['y']:g} / Z {translate('above', lang)}"),
            ("returns", settings["returns"]), ("crossing item", settings["crossing"])]
    left_out = anonymous_left_out(settings, run.kind)
    if left_out:
        rows.append(("anonymous buyer", translate("{code}: left out of the classification", lang).format(code=left_out)))
    return pd.DataFrame(rows, columns=["setting", "value"])


def _classification(crm, kind, as_of=None, measure=None, **choice):
    run = pick_run(crm, kind, as_of, measure, **choice)
    columns = ["code", "name", "value", "share", "cumulative_share", "abc", "cv", "xyz"]
    if run is None:
        return {"main": pd.DataFrame(columns=columns), "settings": _settings_frame(None, crm.lang)}
    frame = view_classes(crm, kind, run)
    frame["order"] = frame["abc"].map({c: i for i, c in enumerate(ABC_ORDER)})
    frame["sort_value"] = pd.to_numeric(frame["value"], errors="coerce").fillna(float("-inf"))
    frame = frame.sort_values(["order", "sort_value", "code"], ascending=[True, False, True])
    for name in ("share", "cumulative_share", "cv"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").round(2)
    frame = frame[columns].reset_index(drop=True)
    if kind == "partner":
        frame = frame.rename(columns={"name": "partner"})
    else:
        frame = frame.rename(columns={"name": "product"})
    return {"main": frame, "settings": _settings_frame(run, crm.lang)}


def abc_xyz_clients(crm, as_of=None, measure=None, **choice):
    return _classification(crm, "partner", as_of, measure, **choice)


def abc_xyz_products(crm, as_of=None, measure=None, **choice):
    return _classification(crm, "product", as_of, measure, **choice)


def class_cells(crm, kind, run_id):
    """Counts and measure sums per (abc, xyz), grouped in SQL (for a
    restricted user, over the live classification of their view)."""
    model, field, entity, _ = KINDS[kind]
    if not crm.sees_everything():
        frame = view_classes(crm, kind, crm.get("analysis.run", run_id))
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce").fillna(0)
        return (frame.groupby(["abc", "xyz"], as_index=False)
                .agg(count=("item_id", "size"), value=("value", "sum"))[["abc", "xyz", "count", "value"]])
    q = (crm.query(entity, model.abc_class, model.xyz_class, pw.fn.COUNT(model.id),
                   pw.fn.COALESCE(pw.fn.SUM(model.value), 0))
         .where(model.run == run_id).group_by(model.abc_class, model.xyz_class))
    return crm.frame(q, columns=["abc", "xyz", "count", "value"])


def matrix(crm, kind="partner", as_of=None, measure=None, **choice):
    """1C's BCG matrix: XYZ rows x ABC columns with potential and lost."""
    run = pick_run(crm, kind, as_of, measure, **choice)
    cells = class_cells(crm, kind, run.id) if run else pd.DataFrame(columns=["abc", "xyz", "count", "value"])
    full = pd.MultiIndex.from_product([ABC_ORDER, XYZ_ORDER], names=["abc", "xyz"])
    cells = cells.set_index(["abc", "xyz"]).reindex(full).reset_index()
    cells["count"] = cells["count"].fillna(0).astype(int)
    cells["value"] = pd.to_numeric(cells["value"], errors="coerce").fillna(0).astype(float).round(2)

    def pivot(column):
        table = cells.pivot(index="xyz", columns="abc", values=column).reindex(index=XYZ_ORDER,
                                                                              columns=list(ABC_ORDER))
        table["total"] = table.sum(axis=1)
        table = table.reset_index().rename(columns={"xyz": "class"})
        table.columns.name = None
        return table

    heat = cells[cells["abc"].isin(("A", "B", "C", "lost")) & cells["xyz"].isin(("X", "Y", "Z", "lost"))]
    potential = int(cells.loc[(cells["abc"] == "potential") | (cells["xyz"] == "potential"), "count"].sum())
    return {"counts": pivot("count"), "measure": pivot("value"),
            "cells": heat[["abc", "xyz", "count", "value"]].reset_index(drop=True),
            "potential": pd.DataFrame({"potential": [potential]}),
            "settings": _settings_frame(run, crm.lang)}


def change_mark(previous, current):
    """better / worse / unchanged, as the presentation's change matrices mark cells."""
    if previous == current:
        return "unchanged"
    if previous == "potential":
        return "better"
    if current == "potential":
        return "worse"
    return "better" if RANKS[current] > RANKS[previous] else "worse"


def _changes(crm, dimension, kind, as_of, choice):
    rows_order = ABC_ORDER if dimension == "abc" else XYZ_ORDER
    cols_order = [c for c in rows_order if c != "potential"]
    run = pick_run(crm, kind, as_of, **choice)
    before = previous_run(crm, run) if run else None
    model, field, entity, item_entity = KINDS[kind]
    column = model.abc_class if dimension == "abc" else model.xyz_class
    label = "partner" if kind == "partner" else "product"
    moved = pd.DataFrame(columns=["code", label, "previous", "current", "change"])
    cells = pd.DataFrame(columns=["previous", "current", "count", "change"])
    if run is not None and before is not None:
        if crm.sees_everything():
            current = crm.frame(_item_query(crm, kind, run.id, column), columns=["item_id", "code", label, "current"])
            prev = crm.frame(crm.query(entity, getattr(model, field), column).where(model.run == before.id),
                             columns=["item_id", "previous"])
        else:   # classes of the user's view, run by run (see view_classes)
            current = view_classes(crm, kind, run)[["item_id", "code", "name", dimension]].rename(
                columns={"name": label, dimension: "current"})
            prev = view_classes(crm, kind, before)[["item_id", dimension]].rename(columns={dimension: "previous"})
        both = current.merge(prev, on="item_id", how="left")
        both["previous"] = both["previous"].fillna("potential")   # not there yet: nothing sold before
        both = both[~((both["previous"] == "potential") & (both["current"] == "potential"))]
        both["change"] = [change_mark(p, c) for p, c in zip(both["previous"], both["current"])]
        cells = both.groupby(["previous", "current", "change"], as_index=False).size().rename(
            columns={"size": "count"})[["previous", "current", "count", "change"]]
        moved = both[both["change"] != "unchanged"].sort_values(["change", "code"])[
            ["code", label, "previous", "current", "change"]].reset_index(drop=True)
    table = pd.DataFrame(0, index=list(rows_order), columns=cols_order)
    for p, c, n in zip(cells["previous"], cells["current"], cells["count"]):
        if p in table.index and c in table.columns:
            table.loc[p, c] = int(n)
    table = table.reset_index().rename(columns={"index": "previous"})
    runs = pd.DataFrame({"run": ["previous", "current"],
                         "as_of": [str(before.as_of) if before else "", str(run.as_of) if run else ""]})
    return {"matrix": table, "cells": cells.reset_index(drop=True), "moved": moved, "runs": runs}


def abc_changes(crm, kind="partner", as_of=None, **choice):
    return _changes(crm, "abc", kind, as_of, choice)


def xyz_changes(crm, kind="partner", as_of=None, **choice):
    return _changes(crm, "xyz", kind, as_of, choice)


def history(crm, partner=None, page=1, page_size=1000):
    """A partner's classification history (the partner form's "История
    классификации"); over every partner, a page of it (``page_size`` 0:
    every row, as exports ask) and the section "rows" with the total."""
    CC, R, P = m.ClientClass, m.Run, crm.model("core.partner")
    columns = ["code", "partner", "as_of", "measure", "abc", "xyz", "value", "cv"]
    restricted = not crm.sees_everything()
    keys = (CC.run, CC.partner) if restricted else ()    # which run and client each row is, for the view's class
    q = (crm.query("analysis.client_class", P.code, P.name, CC.as_of, R.measure, CC.abc_class, CC.xyz_class,
                   CC.value, CC.cv, *keys)
         .join(P, on=(CC.partner == P.id)).switch(CC).join(R, on=(CC.run == R.id))
         .order_by(P.code, CC.as_of.desc(), R.id.desc()))
    if partner:
        q = q.where((P.code == partner) | (P.name == partner))
    frame, rows = crm.paged(q, page, page_size, columns=columns + (["run_id", "partner_id"] if restricted else []))
    if restricted:
        frame = _history_of_view(crm, frame) if len(frame) else frame[columns]
    frame["cv"] = pd.to_numeric(frame["cv"], errors="coerce").round(2)
    return {"main": frame, "rows": rows}


def _history_of_view(crm, frame):
    """``history`` for a restricted user: each run's ABC class as their view
    classifies it (``view_classes``: the stored one ranks the client among
    all clients). Only what the ranking needs is read, for every run on the
    page in one statement: each visible client's run, code, value and
    whether the run ranked it; a row of the page takes its class by (run,
    client) in one merge."""
    import numpy as np
    from .classify import abc_classes, check_settings
    CC, P = m.ClientClass, crm.model("core.partner")
    runs = list(crm.query("analysis.run").where(m.Run.id.in_(sorted(set(frame["run_id"].tolist())))))
    own = pw.Case(None, [(CC.abc_class.in_(("potential", "lost")), CC.abc_class)], "ranked")
    items = crm.frame(crm.query("analysis.client_class", CC.run, P.id, P.code, CC.value.cast("float"), own)
                      .join(P, on=(CC.partner == P.id)).where(CC.run.in_([r.id for r in runs])),
                      columns=["run_id", "partner_id", "code", "value", "view_abc"])
    parts = [items[items["view_abc"] != "ranked"]]
    for run in runs:
        settings = check_settings(json.loads(run.settings))
        ranked = items[(items["run_id"] == run.id) & (items["view_abc"] == "ranked")]
        ids = ranked["partner_id"].to_numpy()
        ranks = abc_classes(pd.to_numeric(ranked["value"], errors="coerce").set_axis(ids),
                            ranked["code"].set_axis(ids), settings["a"], settings["b"],
                            money=settings["measure"] != "documents", crossing=settings["crossing"])
        parts.append(pd.DataFrame({"run_id": run.id, "partner_id": ids,
                                   "view_abc": ranks["abc"].reindex(ids).to_numpy(dtype=object)}))
    found = frame[["run_id", "partner_id"]].merge(pd.concat(parts)[["run_id", "partner_id", "view_abc"]],
                                                  on=["run_id", "partner_id"], how="left")["view_abc"]
    frame["abc"] = np.where(found.isna().to_numpy(), "potential", found.to_numpy(dtype=object))
    return frame.drop(columns=["run_id", "partner_id"])


# -- sales reports ------------------------------------------------------------

def _period(query, date_from, date_to):
    S = m.Sale
    if date_from:
        query = query.where(S.date >= date_from)
    if date_to:
        query = query.where(S.date <= date_to)
    return query


def _revenue_and_cost(crm, report, date_from, date_to, money):
    """Revenue and cost of the sale lines as SQL: as stored, or in the
    report currency (``report_currency``: each line at the rate of its date,
    or every line at the report date) once every currency's rates are
    checked over the period's lines."""
    from crmkit.core.currency import conversion
    S = m.Sale
    conv = conversion(crm, {"date_to": date_to, **money}, report)
    conv.check(_period(crm.query("analysis.sale"), date_from, date_to), S.currency, S.date)
    return conv.amount(S.revenue, S.currency, S.date), conv.amount(S.cost, S.currency, S.date)


def _partner_segments(crm):
    Seg = crm.model("core.segment")
    return crm.frame(crm.query("core.segment", Seg.id, Seg.name).where(Seg.kind == "partner").order_by(Seg.name),
                     columns=["segment_id", "segment"])


def segments(crm, date_from=None, date_to=None, **money):
    """Comparing client segments: clients, sales volume, gross profit, deals."""
    from crmkit.core.segments import membership
    S = m.Sale
    revenue, cost = _revenue_and_cost(crm, "analysis.segments", date_from, date_to, money)
    P = crm.model("core.partner")
    SM = membership(crm).alias("members")   # as the user has them (ranked segments over their view)
    member = SM.c.member_id.is_null(False)
    segs = _partner_segments(crm)
    clients = crm.frame(crm.query("core.partner", SM.c.segment, pw.fn.COUNT(P.id))
                        .join(SM, on=((SM.c.member_id == P.id) & member)).group_by(SM.c.segment),
                        columns=["segment_id", "clients"])
    # summed per partner first, then per segment: the lines are grouped once,
    # not joined to every membership before a COUNT(DISTINCT) per segment.
    # A sales document belongs to one client, so the documents of a segment
    # are the sum of its members' distinct documents.
    months = _whole_months(date_from, date_to)
    if months is not None and not conversion_active(crm, date_to, money):
        # from the monthly summary: a partner's documents of the period are distinct over its months
        from .summary import visible
        SD = m.SaleDocument
        per_partner = SD.select(SD.partner.alias("partner_id"), (pw.fn.SUM(SD.revenue_cents) / 100.0).alias("revenue"),
                                (pw.fn.SUM(SD.revenue_cents - SD.cost_cents) / 100.0).alias("profit"),
                                pw.fn.COUNT(pw.fn.DISTINCT(SD.document)).alias("documents"))
        if months[0] is not None:
            per_partner = per_partner.where(SD.month >= months[0])
        if months[1] is not None:
            per_partner = per_partner.where(SD.month < months[1])
        per_partner = visible(crm, per_partner, SD).group_by(SD.partner).alias("per_partner")
    else:
        per_partner = _period(crm.query("analysis.sale", S.partner.alias("partner_id"),
                                        pw.fn.SUM(revenue).alias("revenue"),
                                        pw.fn.SUM(revenue - cost).alias("profit"),
                                        pw.fn.COUNT(pw.fn.DISTINCT(S.document)).alias("documents")),
                              date_from, date_to).group_by(S.partner).alias("per_partner")
    sales = crm.frame(SM.select_from(SM.c.segment, pw.fn.SUM(per_partner.c.revenue), pw.fn.SUM(per_partner.c.profit),
                                     pw.fn.SUM(per_partner.c.documents))
                      .join(per_partner, on=(per_partner.c.partner_id == SM.c.member_id)).where(member)
                      .group_by(SM.c.segment),
                      columns=["segment_id", "revenue", "gross_profit", "documents"])
    out = segs.merge(clients, on="segment_id", how="left").merge(sales, on="segment_id", how="left")
    out["clients"] = out["clients"].fillna(0).astype(int)
    out["documents"] = out["documents"].fillna(0).astype(int)
    for name in ("revenue", "gross_profit"):
        out[name] = pd.to_numeric(out[name], errors="coerce").fillna(0).astype(float).round(2)
    from .rules import deals_installed
    if deals_installed(crm):
        D = crm.model("deals.deal")
        deals = crm.frame(crm.query("deals.deal", SM.c.segment, D.status, pw.fn.COUNT(D.id))
                          .join(SM, on=((SM.c.member_id == D.client) & member)).group_by(SM.c.segment, D.status),
                          columns=["segment_id", "status", "deals"])
        if len(deals):
            wide = deals.pivot(index="segment_id", columns="status", values="deals").fillna(0).astype(int)
            wide.columns = [f"deals {c}" for c in wide.columns]
            wide["deals"] = wide.sum(axis=1)
            out = out.merge(wide.reset_index(), on="segment_id", how="left")
            out[list(wide.columns)] = out[list(wide.columns)].fillna(0).astype(int)
        else:
            out["deals"] = 0
    return out.drop(columns=["segment_id"])


def assortment(crm, date_from=None, date_to=None, as_of=None, **money):
    """ABC/XYZ of products by client segment, and the monthly dynamics of
    the assortment and sales (in the report currency when one is asked)."""
    from .classify import aggregate, aggregate_segments, classify_frame, stored_settings
    settings = stored_settings(crm, "product")
    run = pick_run(crm, "product")
    as_of = as_of or (run.as_of if run else dt.datetime.now(crm.zone).date())    # the user's today
    Prod = crm.model("core.product")
    products = crm.frame(crm.query("core.product", Prod.id, Prod.code), columns=["id", "code"])
    products = pd.Series(products["code"].to_numpy(), index=products["id"].to_numpy())
    segs = _partner_segments(crm)
    # The products classified are those sold in a window. With both windows
    # the same (the default) every one of them has both classes, so the
    # first sales (which tell lost from potential) are not read at all.
    from .periods import window
    first = window(settings["abc_period"], settings["abc_periods"], as_of) != \
        window(settings["xyz_period"], settings["xyz_periods"], as_of)
    # two passes over the sales for every group: all clients, then every segment at once
    data = {None: aggregate(crm, "product", settings, as_of, first=first),
            **aggregate_segments(crm, "product", settings, as_of, segs["segment_id"].tolist(), first=first)}
    rows = []
    for name, seg_id in [("all clients", None)] + list(zip(segs["segment"], segs["segment_id"])):
        part = data[seg_id]
        sold = set(part["abc"].index) | set(part["xyz"]["item"]) if len(part["xyz"]) else set(part["abc"].index)
        classes = classify_frame(products[products.index.isin(list(sold))].to_dict(), part, settings)
        counts = classes.groupby(["abc", "xyz"]).size()
        row = {"segment": name, "products": int(len(classes))}
        for a in ("A", "B", "C"):
            for x in ("X", "Y", "Z"):
                row[a + x] = int(counts.get((a, x), 0))
        row["lost"] = int(((classes["abc"] == "lost") | (classes["xyz"] == "lost")).sum()) if len(classes) else 0
        rows.append(row)
    by_segment = pd.DataFrame(rows)
    dyn = dynamics(crm, date_from, date_to, money)
    return {"classes by segment": by_segment, "dynamics": dyn,
            "settings": pd.DataFrame({"setting": ["as of", "measure"], "value": [str(as_of), settings["measure"]]})}


DYNAMICS = ["month", "products_sold", "revenue", "gross_profit", "documents"]


def dynamics(crm, date_from=None, date_to=None, money=None, summary=True):
    """The assortment's monthly dynamics: products sold (with a positive
    quantity), revenue, gross profit and documents per month.

    Read from the monthly summary (``summary``) for the months wholly inside
    the period, from the lines for a month the period cuts and whenever a
    report currency is asked (each line converted at its own date's rate);
    the figures are the same either way. ``summary=False``: from the lines
    only (the tests compare the two)."""
    from crmkit.core.currency import conversion
    money = dict(money or {})
    converting = conversion(crm, {"date_to": date_to, **money}, "analysis.assortment").active
    if not summary or converting:
        return _shape_dynamics(_dynamics_of_lines(crm, date_from, date_to, money))
    from .summary import month_start, next_month
    date_from, date_to = _as_day(date_from), _as_day(date_to)
    first_whole = None if date_from is None else (date_from if date_from.day == 1 else next_month(date_from))
    # the month after the last whole one
    end_whole = None if date_to is None else (next_month(date_to) if next_month(date_to) - date_to == dt.timedelta(days=1)
                                              else month_start(date_to))
    parts = []
    if first_whole is not None and end_whole is not None and first_whole >= end_whole:
        parts.append(_dynamics_of_lines(crm, date_from, date_to, money))   # within one month
    else:
        if date_from is not None and first_whole != date_from:
            parts.append(_dynamics_of_lines(crm, date_from, first_whole - dt.timedelta(days=1), money))
        parts.append(_dynamics_of_summary(crm, first_whole, end_whole))
        if date_to is not None and end_whole <= date_to:
            parts.append(_dynamics_of_lines(crm, end_whole, date_to, money))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    return _shape_dynamics(frame)


def conversion_active(crm, date_to, money):
    from crmkit.core.currency import conversion
    return conversion(crm, {"date_to": date_to, **(money or {})}, "analysis.segments").active


def _whole_months(date_from, date_to):
    """``(first month, month after the last)`` when the period is whole
    months (None for an open end), else None: the period the monthly
    summary answers alone."""
    from .summary import next_month
    date_from, date_to = _as_day(date_from), _as_day(date_to)
    if date_from is not None and date_from.day != 1:
        return None
    if date_to is not None and next_month(date_to) - date_to != dt.timedelta(days=1):
        return None
    return date_from, (next_month(date_to) if date_to is not None else None)


def _as_day(value):
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _dynamics_of_lines(crm, date_from, date_to, money):
    from .periods import bucket_expression
    S = m.Sale
    revenue, cost = _revenue_and_cost(crm, "analysis.assortment", date_from, date_to, money)
    month = bucket_expression(crm.db, "month", S.date)
    return crm.frame(_period(crm.query("analysis.sale", month.alias("month"),
                                       pw.fn.COUNT(pw.fn.DISTINCT(pw.Case(None, [(S.quantity > 0, S.product)], None))),
                                       pw.fn.SUM(revenue), pw.fn.SUM(revenue - cost),
                                       pw.fn.COUNT(pw.fn.DISTINCT(S.document)))
                             .group_by(month).order_by(month), date_from, date_to),
                     columns=DYNAMICS)


def _dynamics_of_summary(crm, first_month, end_month):
    """The months ``first_month`` (None: the first) up to, not including,
    ``end_month`` (None: every later one) from the summary: one GROUP BY
    over the partner/product/month rows, one over the documents."""
    from .summary import visible
    SM, SD = m.SaleMonth, m.SaleDocument

    def months(q, model):
        if first_month is not None:
            q = q.where(model.month >= first_month)
        if end_month is not None:
            q = q.where(model.month < end_month)
        return visible(crm, q, model).group_by(model.month).order_by(model.month)
    products = crm.frame(months(SM.select(SM.month, pw.fn.COUNT(pw.fn.DISTINCT(SM.product)))
                                .where(SM.positive_lines > 0), SM), columns=["month", "products_sold"])
    sums = crm.frame(months(SD.select(SD.month, pw.fn.SUM(SD.revenue_cents), pw.fn.SUM(SD.revenue_cents - SD.cost_cents),
                                      pw.fn.COUNT(pw.fn.DISTINCT(SD.document))), SD),
                     columns=["month", "revenue", "gross_profit", "documents"])
    for name in ("revenue", "gross_profit"):
        sums[name] = pd.to_numeric(sums[name]).astype("int64") / 100 if len(sums) else sums[name]
    sums["month"] = sums["month"].astype(str)
    products["month"] = products["month"].astype(str)
    out = sums.merge(products, on="month", how="left")     # a month of returns only sold no product
    out["products_sold"] = out["products_sold"].fillna(0)
    return out[DYNAMICS]


def _shape_dynamics(dyn):
    dyn = dyn.copy()
    for name in ("revenue", "gross_profit"):
        dyn[name] = pd.to_numeric(dyn[name], errors="coerce").astype(float).round(2)
    dyn["month"] = dyn["month"].astype(str).str[:7]
    dyn["products_sold"] = pd.to_numeric(dyn["products_sold"]).astype("int64")
    dyn["documents"] = pd.to_numeric(dyn["documents"]).fillna(0).astype("int64")
    return dyn.sort_values("month", kind="stable").reset_index(drop=True)


def deal_profit(crm, date_from=None, date_to=None, **money):
    """Gross profit by deal; deal names, clients and states when deals is installed."""
    S = m.Sale
    P = crm.model("core.partner")
    revenue, cost = _revenue_and_cost(crm, "analysis.deal_profit", date_from, date_to, money)
    q = _period(crm.query("analysis.sale", S.deal_id, pw.fn.MIN(P.name), pw.fn.SUM(revenue), pw.fn.SUM(cost),
                          pw.fn.COUNT(S.id))
                .join(P, on=(S.partner == P.id)).where(S.deal_id.is_null(False)).group_by(S.deal_id),
                date_from, date_to)
    frame = crm.frame(q, columns=["deal_id", "client", "revenue", "cost", "lines"])
    for name in ("revenue", "cost"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float).round(2)
    frame["gross_profit"] = (frame["revenue"] - frame["cost"]).round(2)
    frame["margin_pct"] = (frame["gross_profit"] / frame["revenue"].where(frame["revenue"] != 0) * 100).round(2)
    from .rules import deals_installed
    columns = ["deal_id", "client", "revenue", "cost", "gross_profit", "margin_pct", "lines"]
    if deals_installed(crm) and len(frame):
        D, U = crm.model("deals.deal"), crm.model("core.user")
        info = crm.frame(crm.query("deals.deal", D.id, D.code, D.name, D.status, U.name)
                         .join(U, pw.JOIN.LEFT_OUTER, on=(D.responsible == U.id))
                         .where(D.id.in_(S.select(S.deal_id).where(S.deal_id.is_null(False)))),
                         columns=["deal_id", "deal_code", "deal", "status", "responsible"])
        frame = frame.merge(info, on="deal_id", how="inner")   # deals the user may not see drop out
        columns = ["deal_code", "deal", "status", "responsible"] + columns[1:]
    return frame.sort_values("gross_profit", ascending=False)[columns].reset_index(drop=True)
