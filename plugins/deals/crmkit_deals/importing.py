"""The deals plugin's part of a bulk import of ``deals.deal``.

An imported deal ends up exactly as one created and moved by hand would:
the same rules as ``rules.validate_deal`` checked column by column, its
close moment taken from the file, and its stage history written in bulk
(one insert per chunk) with the file's dates:

- a passage through the first stage of its kind from the start, when the
  file says when the deal entered a later stage (``stage_entered_at``);
- a passage through its stage from then (or from the start) until it was
  closed (``closed_at``), or open when it is in work;
- for a won or lost deal, the closed row from the close moment, open.

Dates without a zone are the acting user's local time (``crm.zone``).
Where the file leaves a date out, the default applied is said in the
import's summary; today is never a date of history unless nothing else is
known for a deal in work (as creating it today would).
"""
from __future__ import annotations

import datetime as dt

from crmkit import utcnow

CARRIED = ("closed_at", "stage_entered_at")


def prepare(frame):
    """The file's close and stage-entry moments go past the schema (closed_at
    is read-only for edits) to ``validate``, which checks and converts them."""
    present = [c for c in CARRIED if c in frame.columns]
    if not present:
        return None
    return frame.rename(columns={c: f"_{c}" for c in present})


def _moments(col, zone):
    """Strings to UTC Timestamps (NaT where blank) and the mask of unreadable ones."""
    import pandas as pd
    text = col.astype("string").str.strip()
    blank = text.isna() | (text == "")
    parsed = {}
    for value in text[~blank].unique().tolist():
        parsed[value] = _moment(value, zone)
    values = text.map(parsed)
    bad = ~blank & values.isna()
    return pd.to_datetime(values.where(~blank & ~bad), utc=True), bad


def _moment(text, zone):
    for fmt in (None, "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if fmt is None \
                else dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        if not 1900 <= value.year <= 2199:
            return None
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return None


def _day_starts(dates, zone):
    """Dates (``datetime.date`` or None) to the UTC moment their day starts in ``zone``."""
    import pandas as pd
    return pd.to_datetime(pd.Series([None if d is None or d != d else
                                     dt.datetime(d.year, d.month, d.day, tzinfo=zone) for d in dates],
                                    dtype=object), utc=True)


MOVED = ("stage", "status", "kind")
MOVED_MESSAGE = "changed by moving the deal (deals move, win, lose), which writes its history, not by an import's update"


def validate_updates(crm, frame):
    """Stored deals an import updates (``_id``): the rules ``update`` runs,
    row by row with the stored deal; what the stage history holds (stage,
    status, kind, the close moment, the moment the stage was entered) must
    be what is stored: a move writes history, an import's update does not."""
    import pandas as pd

    from . import models as m
    from .rules import validate_record
    ids = [int(i) for i in frame["_id"].tolist()]
    stored = {d.id: d for d in m.Deal.select().where(m.Deal.id.in_(ids))}
    entered = {}
    if "_stage_entered_at" in frame.columns:
        H = m.StageHistory
        for deal, stage, at in H.select(H.deal, H.stage, H.entered_at).where(H.deal.in_(ids)).tuples():
            entered.setdefault((deal, stage), []).append(_utc(at))
    zone = crm.zone
    errors: dict = {}
    closed, bad_closed = _moments(frame["_closed_at"], zone) if "_closed_at" in frame.columns else (None, None)
    stage_at, bad_at = _moments(frame["_stage_entered_at"], zone) if "_stage_entered_at" in frame.columns \
        else (None, None)
    fields = [c for c in frame.columns if not str(c).startswith("_")]
    for pos, row in enumerate(frame[fields].to_dict("records")):
        deal = stored[ids[pos]]
        data = {k: (None if not isinstance(v, (str, bytes)) and pd.isna(v) else v) for k, v in row.items()}
        mine = errors.setdefault(pos, {})
        for name in MOVED:
            if name in data and data[name] != (deal.status if name == "status" else getattr(deal, name + "_id")):
                mine.setdefault(name, []).append(MOVED_MESSAGE)
        if closed is not None and (bad_closed.iloc[pos] or (closed.iloc[pos] == closed.iloc[pos] and (
                deal.closed_at is None or abs(closed.iloc[pos] - _utc(deal.closed_at)).total_seconds() >= 1))):
            mine.setdefault("closed_at", []).append(MOVED_MESSAGE)
        if stage_at is not None and stage_at.iloc[pos] == stage_at.iloc[pos]:
            known = entered.get((deal.id, deal.stage_id), [])
            if not any(abs(stage_at.iloc[pos] - at).total_seconds() < 1 for at in known):
                mine.setdefault("stage_entered_at", []).append(MOVED_MESSAGE)
        elif stage_at is not None and bad_at.iloc[pos]:
            mine.setdefault("stage_entered_at", []).append("is not a date and time")
        if mine:
            continue
        for field, msgs in (validate_record(crm, "deals.deal", data, deal) or {}).items():
            mine.setdefault(field, []).extend(msgs if isinstance(msgs, (list, tuple)) else [msgs])
    return {pos: errs for pos, errs in errors.items() if errs}


def _utc(moment):
    import pandas as pd
    moment = pd.Timestamp(moment)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def validate(crm, frame):
    """``rules.validate_deal`` for a whole chunk, vectorised; fills in place
    what creating would (start date, responsible, first stage, close moment)
    and says in ``_default`` which defaults it applied."""
    import numpy as np
    if "_id" in frame.columns:
        return validate_updates(crm, frame)
    import pandas as pd

    from . import models as m
    from .rules import is_currency

    zone = crm.zone
    n = len(frame)
    errors: dict = {}
    notes = [[] for _ in range(n)]

    def flag(mask, field, message):
        for pos in np.flatnonzero(np.asarray(mask, dtype=bool)):
            errors.setdefault(int(pos), {}).setdefault(field, []).append(message)

    def column(name):
        if name in frame.columns:
            return frame[name].astype(object).where(frame[name].notna(), None)
        return pd.Series([None] * n, index=frame.index, dtype=object)

    if "currency" in frame.columns:
        upper = frame["currency"].astype("string").str.strip().str.upper()
        known = {c: is_currency(c) for c in upper.dropna().unique().tolist()}
        flag(upper.notna() & ~upper.map(known).fillna(True).astype(bool), "currency",
             "is not an ISO 4217 currency code")
        frame["currency"] = upper.astype(object).where(upper.notna(), None)
    if "potential" in frame.columns:
        flag(pd.to_numeric(frame["potential"], errors="coerce").fillna(0) < 0, "potential", "cannot be negative")

    status = column("status").fillna("in_work")
    closed_status = status.isin(["won", "lost"]).to_numpy()
    reason = column("loss_reason")
    flag((status == "lost") & reason.isna(), "loss_reason", "a lost deal needs a loss reason")
    flag((status != "lost") & reason.notna(), "loss_reason", "only a lost deal has a loss reason")

    closed, bad_closed = _moments(column("_closed_at"), zone)
    flag(bad_closed, "closed_at", "is not a date and time")
    flag(~closed_status & closed.notna(), "closed_at", "only a won or lost deal has a close moment")
    entered, bad = _moments(column("_stage_entered_at"), zone)
    flag(bad, "stage_entered_at", "is not a date and time")

    # the start: the file's, else the first moment the file knows of the deal
    start_date = column("start_date")
    known_first = entered.where(entered.notna(), closed)
    from_file = start_date.isna() & known_first.notna()
    local_first = known_first.dt.tz_convert(zone).dt.date
    start_date = start_date.where(~from_file, local_first.astype(object))
    for pos in np.flatnonzero(from_file.to_numpy()):
        notes[pos].append("start_date: the first date the file gives" if entered.iloc[pos] == entered.iloc[pos]
                          else "start_date: the close date")
    today = start_date.isna()
    if today.any():
        moment_today = utcnow().astimezone(zone).date()
        start_date = start_date.where(~today, moment_today)
        for pos in np.flatnonzero(today.to_numpy()):
            notes[pos].append("start_date: today (no date in the file)")
    frame["start_date"] = start_date
    end_date = column("end_date")
    flag(pd.to_datetime(end_date) < pd.to_datetime(start_date), "end_date", "is before the start date")

    # closed deals without a close moment: their expected end date, said in the summary
    no_close = closed_status & closed.isna().to_numpy() & ~bad_closed.to_numpy()
    if no_close.any():
        by_end = no_close & end_date.notna().to_numpy()
        closed = closed.where(~by_end, _day_starts(end_date.where(pd.Series(by_end, index=frame.index)), zone))
        for pos in np.flatnonzero(by_end):
            notes[pos].append("closed_at: the end date")
        flag(no_close & ~by_end, "closed_at", "a won or lost deal needs the moment it was closed")
    start_moment = _day_starts(start_date, zone)
    flag(closed.notna() & (closed < start_moment), "closed_at", "is before the start date")
    flag(entered.notna() & (entered < start_moment), "stage_entered_at", "is before the start date")
    flag(entered.notna() & closed.notna() & (entered > closed), "stage_entered_at", "is after the close moment")
    frame["closed_at"] = closed.array      # moments stay a column of moments (to_numpy: a Timestamp per cell)

    if crm.actor.id is not None:
        responsible = column("responsible")
        frame["responsible"] = responsible.where(responsible.notna(), crm.actor.id)

    agreement = column("agreement")
    if agreement.notna().any():
        A = m.Agreement
        owners = dict(A.select(A.id, A.client).where(A.id.in_(sorted({int(a) for a in agreement.dropna()})))
                      .tuples())
        client = column("client")
        wrong = [a is not None and owners.get(int(a)) is not None and owners.get(int(a)) != c
                 for a, c in zip(agreement.tolist(), client.tolist())]
        flag(wrong, "agreement", "is an agreement with another client")

    _check_stages(frame, column, entered, flag)
    frame["_default"] = ["; ".join(x) if x else None for x in notes]
    frame["_start_moment"] = start_moment.array
    frame["_entered"] = entered.array
    return errors


def _check_stages(frame, column, entered, flag):
    """A stage of the deal's kind (the first when none is given), as ``_check_stage`` on create."""
    from . import models as m
    kind, stage = column("kind"), column("stage")
    kinds = sorted({int(k) for k in kind.dropna()})
    routes: dict = {}
    names = {}
    if kinds:
        KS = m.KindStage
        for k, s in KS.select(KS.kind, KS.stage).where(KS.kind.in_(kinds)).order_by(KS.kind, KS.sequence).tuples():
            routes.setdefault(k, []).append(s)
        names = dict(m.Kind.select(m.Kind.id, m.Kind.name).where(m.Kind.id.in_(kinds)).tuples())
    import numpy as np
    filled, first, problems = [], [], []
    for pos, (k, s) in enumerate(zip(kind.tolist(), stage.tolist())):
        ids = routes.get(int(k)) if k is not None else None
        first.append(ids[0] if ids else None)
        if not ids:
            if s is not None:
                problems.append((pos, f"deals of kind {names.get(int(k))!r} have no stages" if k is not None
                                 else "a deal without a kind has no stages"))
            filled.append(s)
            continue
        if s is None:
            filled.append(ids[0])
        else:
            if int(s) not in ids:
                problems.append((pos, f"is not a stage of kind {names.get(int(k))!r}"))
            filled.append(s)
    for pos, message in problems:
        mask = np.zeros(len(frame), dtype=bool)
        mask[pos] = True
        flag(mask, "stage", message)
    frame["stage"] = filled
    frame["_first_stage"] = first
    later = [e == e and f is not None and s is not None and int(s) != int(f)
             for e, f, s in zip(entered.tolist(), first, filled)]
    no_stage = [e == e and s is None for e, s in zip(entered.tolist(), filled)]
    flag(no_stage, "stage_entered_at", "a deal without a stage enters none")
    frame["_two_passages"] = later


def write_history(crm, frame):
    """The imported deals' stage history, in one bulk insert."""
    import numpy as np
    import pandas as pd

    from . import models as m
    if frame.empty:
        return
    user = crm.actor.id
    deal = frame["id"].astype("int64").to_numpy()
    status = frame["status"].fillna("in_work").to_numpy() if "status" in frame.columns \
        else pd.Series(["in_work"] * len(frame)).to_numpy()
    stage = frame["stage"].astype(object).where(frame["stage"].notna(), None).to_numpy()
    start = pd.to_datetime(frame["_start_moment"], utc=True)
    entered = pd.to_datetime(frame["_entered"], utc=True)
    closed = pd.to_datetime(frame["closed_at"], utc=True)
    two = frame["_two_passages"].astype(bool).to_numpy()
    has_stage = pd.notna(stage)
    is_closed = closed.notna().to_numpy()

    # moments as naive UTC datetime64 columns throughout (a tz-aware column's to_numpy is a
    # Timestamp object per cell, which every later step then read back one by one)
    start, entered, closed = (c.dt.tz_localize(None) for c in (start, entered, closed))
    parts = []
    if two.any():   # the first stage, from the start until the deal entered its stage
        parts.append(pd.DataFrame({
            "deal": deal[two], "stage": frame["_first_stage"].to_numpy()[two], "status": "in_work",
            "passage": True, "entered_at": start[two].to_numpy(), "left_at": entered[two].to_numpy(),
            "days": days_between_columns(entered[two], start[two]).to_numpy()}))
    since = start.where(~pd.Series(two, index=start.index), entered)
    parts.append(pd.DataFrame({   # the stage the deal is at, until it closed (or still open)
        "deal": deal, "stage": stage, "status": "in_work", "passage": has_stage,
        "entered_at": since.to_numpy(), "left_at": closed.to_numpy(),
        "days": days_between_columns(closed, since).where(pd.Series(has_stage & is_closed, index=since.index))
        .to_numpy()}))
    if is_closed.any():   # won or lost from the close moment on
        k = int(is_closed.sum())
        parts.append(pd.DataFrame({
            "deal": deal[is_closed], "stage": stage[is_closed], "status": status[is_closed], "passage": False,
            "entered_at": closed[is_closed].to_numpy(), "left_at": np.full(k, np.datetime64("NaT"), closed.dtype),
            "days": np.full(k, np.nan)}))
    rows = pd.concat(parts, ignore_index=True)
    rows["user"] = user
    rows["stage"] = rows["stage"].astype(object).where(rows["stage"].notna(), None)
    rows["left_at"] = rows["left_at"].dt.tz_localize("UTC")
    rows["entered_at"] = rows["entered_at"].dt.tz_localize("UTC")
    crm.insert_frame(m.StageHistory, rows)


def days_between_columns(left, since):
    """Days from ``since`` to ``left`` to the hundredth, rounded half up as
    ``rules.days_between`` (in integers: no float ties), as floats (the
    double nearest each whole number of hundredths, which a two-place
    decimal column stores exactly); NaN where either is missing."""
    import numpy as np
    import pandas as pd
    valid = (pd.notna(left).to_numpy() & pd.notna(since).to_numpy())
    micros = (left - since).to_numpy().astype("timedelta64[us]").astype("int64")
    cents = (micros * 100 + 43_200_000_000) // 86_400_000_000
    return pd.Series(np.where(valid, cents / 100, np.nan), index=left.index)
