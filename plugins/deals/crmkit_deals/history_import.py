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
        "entered": pd.to_datetime(frame["entered_at"], utc=True).to_numpy(),
        "left": pd.to_datetime(frame["left_at"], utc=True).to_numpy() if "left_at" in frame.columns else pd.NaT,
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
    deal_ids = sorted({int(d) for d in rows["deal"]})
    D, KS = m.Deal, m.KindStage
    deals = {r[0]: r[1:] for r in D.select(D.id, D.kind, D.stage, D.status, D.closed_at)
             .where(D.id.in_(deal_ids)).tuples()} if deal_ids else {}
    kinds = sorted({k for k, *_ in deals.values() if k is not None})
    routes: dict = {}
    for k, s in (KS.select(KS.kind, KS.stage).where(KS.kind.in_(kinds)).tuples() if kinds else []):
        routes.setdefault(k, set()).add(s)
    for pos, deal, stage, status, entered, is_last in zip(rows["pos"], rows["deal"], rows["stage"], rows["status"],
                                                           rows["entered"], last):
        kind, now_stage, now_status, closed_at = deals.get(int(deal), (None, None, None, None))
        stages = routes.get(kind, set())
        if stage == stage and int(stage) not in stages:
            flag_at(pos, "stage", "is not a stage of the deal's kind")
        elif stage != stage and stages:
            flag_at(pos, "stage", "a deal of a kind with stages is always at one of them")
        if is_last and pos not in closed_last:   # an unclosed last row is its one problem
            if now_status is not None and status != now_status:
                flag_at(pos, "status", f"the deal is {now_status} now: its last row says {status}")
            if (stage if stage == stage else None) != now_stage and now_status is not None:
                flag_at(pos, "stage", "the deal is at another stage now: its last row must be at it")
            if status in ("won", "lost") and closed_at is not None and entered.to_pydatetime() != closed_at:
                flag_at(pos, "entered_at", f"the deal was closed at {closed_at.isoformat()}: its {status} row "
                                           "starts then")
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
    deals = sorted({int(d) for d in frame["deal"]})
    for start in range(0, len(deals), 5000):
        part = deals[start:start + 5000]
        split = [d for (d,) in H.select(H.deal).distinct().where(
            H.deal.in_(part) & (H.id >= first) & (H.id < chunk_first)).tuples()]
        if split:
            raise ValidationError({"deal": f"the rows of deals {', '.join(map(str, split[:10]))} are not together "
                                           "in the file: sort it by deal (a deal's rows are checked together)"},
                                  "deals.stage_history")
        H.delete().where(H.deal.in_(part) & (H.id < first)).execute()
