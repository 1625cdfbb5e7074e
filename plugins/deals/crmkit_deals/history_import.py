"""Importing a file of stage history rows (``deals.stage_history``).

Each row is an interval a deal spent at one stage with one status: deal,
stage, status, entered_at, left_at (empty for the row the deal is in now).
The rows of a deal in the file are its whole history: they replace what it
had (the rows a deals import or its moves wrote), all or nothing. Checked
per deal, every problem named on its row: dates in order, no overlaps,
exactly one open row and it is the last, stages of the deal's kind, the
last row at the deal's stage and status, a won or lost deal's last row
starting at its close moment. ``passage`` and ``days`` are derived as a
move would set them: a row in work at a stage other than the previous row's
starts a passage, whose length runs to its ``left_at``.

Loading history is for administrators, like recording a move at a past
moment (``at``).
"""
from __future__ import annotations

from crmkit import AccessDenied, ValidationError

DERIVED = ("passage", "days")
FIRST_ID = "_deals_history_first_id"   # kept in the import's options: rows written by this import


def validate(crm, frame):
    import numpy as np
    import pandas as pd

    from . import models as m
    if "_id" in frame.columns:    # an update import: the history is loaded whole, deal by deal
        return {pos: {"_row": ["a deal's stage history is imported whole (--mode insert replaces it)"]}
                for pos in range(len(frame))}
    if not crm.actor.is_admin:
        raise AccessDenied("only an administrator may load stage history (it rewrites what deals went through)")
    n = len(frame)
    errors: dict = {}

    def flag(mask, field, message):
        for pos in np.flatnonzero(np.asarray(mask, dtype=bool)):
            errors.setdefault(int(pos), {}).setdefault(field, []).append(message)

    for name in DERIVED:
        if name in frame.columns:
            flag(frame[name].notna() & (frame[name].astype("string") != ""), name,
                 "is derived from the rows; leave the column out")

    def flag_at(pos, field, message):
        errors.setdefault(int(pos), {}).setdefault(field, []).append(message)

    if crm.actor.id is not None:
        user = frame["user"] if "user" in frame.columns else pd.Series([None] * n, index=frame.index, dtype=object)
        frame["user"] = user.astype(object).where(user.notna(), crm.actor.id)
    rows = pd.DataFrame({
        "pos": np.arange(n),
        "deal": pd.to_numeric(frame["deal"], errors="coerce").astype("float64").to_numpy(),
        "stage": pd.to_numeric(frame["stage"], errors="coerce").astype("float64").to_numpy()
        if "stage" in frame.columns else np.nan,
        "status": frame["status"].to_numpy(),
        # naive UTC datetime64 (a tz-aware column's to_numpy is a Timestamp object per cell)
        "entered": _naive(frame["entered_at"]),
        "left": _naive(frame["left_at"]) if "left_at" in frame.columns else np.datetime64("NaT", "us"),
    })
    complete = rows["deal"].notna() & rows["entered"].notna() & rows["status"].notna()
    flag(complete & rows["left"].notna() & (rows["left"] < rows["entered"]), "left_at", "is before entered_at")
    rows = rows[complete].sort_values(["deal", "entered", "pos"], kind="stable")
    same_deal_next = rows["deal"].eq(rows["deal"].shift(-1))
    same_deal_prev = rows["deal"].eq(rows["deal"].shift(1))
    open_row = rows["left"].isna()
    next_entered = rows["entered"].shift(-1)
    overlap = same_deal_next & rows["left"].notna() & (next_entered < rows["left"])
    for pos, later in zip(rows["pos"][overlap], rows["pos"].shift(-1)[overlap]):
        flag_at(later, "entered_at", f"overlaps the deal's row {int(pos) + 1} (it has not left its stage yet)")
    early_open = open_row & same_deal_next
    for pos in rows["pos"][early_open]:
        flag_at(pos, "left_at", "is empty but the deal has later rows: only its last row is open")
    last = ~same_deal_next
    closed_last = set(rows["pos"][last & ~open_row].tolist())
    for pos in closed_last:
        flag_at(pos, "left_at", "is the deal's last row in the file, which must be open (left_at empty; are the deal's rows together?)")

    # against the deals themselves: their kind's stages, where they are now, when they closed
    # (column-wise; only the rows at fault are visited)
    deal_ids = sorted({int(d) for d in rows["deal"]})
    D, KS = m.Deal, m.KindStage
    # the id range, not a list of thousands of ids (a node per value); the rest is dropped by the merge
    # as the driver gives them (no field conversion per row), the moments read column-wise below
    known = pd.DataFrame(crm.db.execute(D.select(D.id, D.kind, D.stage, D.status, D.closed_at)
                                        .where(D.id.between(deal_ids[0], deal_ids[-1]))).fetchall()
                         if deal_ids else [], columns=["deal", "kind", "now_stage", "now_status", "closed_at"])
    kinds = sorted({int(k) for k in known["kind"].dropna()})
    route = pd.DataFrame(list(KS.select(KS.kind, KS.stage).where(KS.kind.in_(kinds)).tuples()) if kinds else [],
                         columns=["kind", "stage"])
    known["deal"] = known["deal"].astype("float64")
    info = rows[["deal"]].merge(known, on="deal", how="left")
    info.index = rows.index
    kind = pd.to_numeric(info["kind"], errors="coerce").to_numpy(dtype="float64")
    pair = set(zip(route["kind"].astype("float64"), route["stage"].astype("float64")))
    in_route = np.array([(k, s) in pair for k, s in zip(kind, rows["stage"].to_numpy())], dtype=bool) \
        if pair else np.zeros(len(rows), dtype=bool)
    has_route = np.isin(kind, route["kind"].astype("float64").unique()) if len(route) else np.zeros(len(rows), bool)
    staged = rows["stage"].notna().to_numpy()
    for pos in rows["pos"][staged & ~in_route]:
        flag_at(pos, "stage", "is not a stage of the deal's kind")
    for pos in rows["pos"][~staged & has_route]:
        flag_at(pos, "stage", "a deal of a kind with stages is always at one of them")
    check = (last & ~rows["pos"].isin(closed_last) & info["now_status"].notna()).to_numpy()
    now_stage = pd.to_numeric(info["now_stage"], errors="coerce").to_numpy(dtype="float64")
    stage_now = rows["stage"].to_numpy(dtype="float64")
    other_status = check & (rows["status"].to_numpy() != info["now_status"].to_numpy())
    for pos, now, said in zip(rows["pos"][other_status], info["now_status"][other_status],
                              rows["status"][other_status]):
        flag_at(pos, "status", f"the deal is {now} now: its last row says {said}")
    other_stage = check & ~((stage_now == now_stage) | (np.isnan(stage_now) & np.isnan(now_stage)))
    for pos in rows["pos"][other_stage]:
        flag_at(pos, "stage", "the deal is at another stage now: its last row must be at it")
    closed_at = _stored_moments(info["closed_at"])
    closing = check & rows["status"].isin(["won", "lost"]).to_numpy() & closed_at.notna().to_numpy()
    moved = closing & (rows["entered"].to_numpy() != closed_at.dt.tz_localize(None).to_numpy())
    for pos, when, status in zip(rows["pos"][moved], closed_at[moved], rows["status"][moved]):
        flag_at(pos, "entered_at", f"the deal was closed at {when.isoformat()}: its {status} row starts then")
    # a passage starts where a deal in work comes to a stage it was not at just before; it lasts,
    # across a close and reopening at that stage, until the last time the deal left it or closed
    # there (as lifecycle._end_passage measures it at each such move)
    prev_stage = rows["stage"].shift(1)
    starts = (rows["status"] == "in_work") & rows["stage"].notna() & (~same_deal_prev | (rows["stage"] != prev_stage))
    run = starts.astype(int).groupby(rows["deal"]).cumsum()
    ended = rows["left"].where(rows["status"] == "in_work")
    end = ended.groupby([rows["deal"], run]).transform("max")
    from .importing import days_between_columns
    length = days_between_columns(end, rows["entered"]).where(starts & end.notna(), None)
    passage = pd.Series(False, index=frame.index)
    passage.iloc[rows["pos"].to_numpy()] = starts.to_numpy()
    days = pd.Series([None] * n, index=frame.index, dtype=object)
    days.iloc[rows["pos"].to_numpy()] = length.to_numpy()
    frame["passage"] = passage.to_numpy()
    frame["days"] = days.to_numpy()
    return errors


def _naive(col):
    """A column of moments as naive UTC datetime64."""
    import pandas as pd
    return pd.to_datetime(col, utc=True).dt.tz_localize(None).to_numpy()


def _stored_moments(col):
    """Moments as the driver read them (naive UTC: text on SQLite, datetimes
    on PostgreSQL) as a UTC column."""
    import pandas as pd
    return pd.to_datetime(col, utc=True, format="ISO8601") if col.dtype == object else pd.to_datetime(col, utc=True)


def replace_history(crm, frame, options):
    """The deals in this chunk lose the rows they had before the import;
    a deal whose rows an earlier chunk of the same file wrote is an error
    (its history would be cut in two)."""
    from . import models as m
    H = m.StageHistory
    if frame.empty:
        return
    ids = frame["id"].dropna().astype("int64")
    first = options.setdefault(FIRST_ID, int(ids.min()))
    chunk_first = int(ids.min())
    mine = H.select(H.deal).where(H.id >= chunk_first)   # the deals of this chunk, as SQL
    split = [d for (d,) in H.select(H.deal).distinct().where(
        H.deal.in_(mine) & (H.id >= first) & (H.id < chunk_first)).limit(10).tuples()]
    if split:
        raise ValidationError({"deal": f"the rows of deals {', '.join(map(str, split))} are not together "
                                       "in the file: sort it by deal (a deal's rows are checked together)"},
                              "deals.stage_history")
    H.delete().where(H.deal.in_(mine) & (H.id < first)).execute()
