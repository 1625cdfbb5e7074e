"""Time zones: the zone a user's times are typed and shown in.

Storage is UTC. A moment typed without an offset is a local time of the
acting user's zone: their ``core.user.time_zone``, else ``$CRMKIT_TZ``,
else the system's. ``Crm.zone`` is that zone; the write path, filters,
action and report parameters and the bulk import read naive moments in it
(``reading_in``), and every renderer shows moments in it.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os

from .errors import ValidationError

_input_zone = contextvars.ContextVar("crmkit_input_zone", default=None)
# the zone a command's output is shown in when a renderer is given none (the CLI sets it per command)
_output_zone = contextvars.ContextVar("crmkit_output_zone", default=None)


def _suggestion(name: str) -> str:
    import difflib
    from zoneinfo import available_timezones
    zones = sorted(available_timezones())
    by_lower = {z.lower(): z for z in zones}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]}?" if close else "; an IANA name such as Europe/Moscow"


def zone_named(name: str, field: str = "time_zone"):
    """The ``tzinfo`` of IANA zone ``name``; an unknown name is a one-line
    ValidationError naming ``field`` (and the closest real zone)."""
    from zoneinfo import ZoneInfo
    text = str(name).strip()
    try:
        if not text or text.startswith(("/", ".")) or ".." in text:
            raise ValueError(text)
        return ZoneInfo(text)
    except (KeyError, ValueError, OSError):
        raise ValidationError({field: f"unknown time zone {text!r}{_suggestion(text)}"}) from None


def is_zone(name: str) -> bool:
    try:
        zone_named(name)
    except ValidationError:
        return False
    return True


def operator_zone():
    """The operator's time zone: ``$CRMKIT_TZ`` (e.g. Europe/Moscow) or the
    system's. A misspelled ``CRMKIT_TZ`` is a one-line error."""
    name = os.environ.get("CRMKIT_TZ", "").strip()
    if name:
        return zone_named(name, "CRMKIT_TZ")
    return system_zone()


def system_zone():
    """The system's zone with its rules (summer time of past years too): the
    IANA zone ``$TZ`` names or ``/etc/localtime`` links to, else today's
    fixed offset."""
    from zoneinfo import ZoneInfo
    tz = os.environ.get("TZ", "").lstrip(":")
    try:
        if tz:
            return ZoneInfo(tz)
        target = os.path.realpath("/etc/localtime")
        if "/zoneinfo/" in target:
            return ZoneInfo(target.split("/zoneinfo/", 1)[1])
    except (KeyError, ValueError, OSError):
        pass
    return dt.datetime.now().astimezone().tzinfo


def user_zone(name: str | None):
    """A user's zone: their own when it names one, else the operator's."""
    if name:
        try:
            return zone_named(name)
        except ValidationError:
            pass   # a stored name this system's zone database lacks: the operator's zone
    return operator_zone()


@contextlib.contextmanager
def reading_in(zone):
    """Within: moments typed without an offset are local times of ``zone``."""
    token = _input_zone.set(zone)
    try:
        yield zone
    finally:
        _input_zone.reset(token)


def input_zone():
    """The zone naive input is read in now (see ``reading_in``)."""
    return _input_zone.get() or operator_zone()


def output_zone():
    """The zone moments are shown in when no zone is given: the acting
    user's within a CLI command (``showing``), else the operator's."""
    return _output_zone.get() or operator_zone()


def showing(zone):
    """Show moments in ``zone`` from now on in this context; returns the
    token ``_output_zone.reset`` takes."""
    return _output_zone.set(zone)


def reset_showing(token):
    _output_zone.reset(token)


def local_moment(value, zone=None):
    """An aware moment (``datetime`` or pandas ``Timestamp``) in ``zone``
    (default ``output_zone()``), its offset kept; anything else as it is."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(zone or output_zone())
    return value


def local_frame(frame, zone=None):
    """A copy of ``frame`` whose moment columns are in ``zone`` (offsets
    kept), for CSV and JSON files; other columns as they are."""
    zone = zone or output_zone()
    out = None
    for col in frame.columns:
        series = frame[col]
        if getattr(series.dtype, "tz", None) is not None:
            converted = series.dt.tz_convert(zone)
        elif series.dtype == object:
            first = series.dropna()
            if not len(first) or not isinstance(first.iloc[0], dt.datetime):
                continue
            import pandas as pd    # object kept: each moment is written as it is, not to one precision
            converted = pd.Series([local_moment(v, zone) for v in series.tolist()], index=series.index, dtype=object)
        else:
            continue
        out = frame.copy() if out is None else out
        out[col] = converted
    return frame if out is None else out


def aware(moment: dt.datetime, zone=None) -> dt.datetime:
    """``moment`` with its offset, a naive one taken as a local time of
    ``zone`` (default: the zone input is read in)."""
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone or input_zone())


def day_start(day: dt.date, zone=None) -> dt.datetime:
    """The first moment of the local day ``day`` (a period's edge: 06.04
    starts at 06.04 00:00 in the user's zone, 05.04 21:00 UTC in Moscow)."""
    return aware(dt.datetime.combine(day, dt.time.min), zone)


def local_day(moment: dt.datetime, zone=None) -> dt.date:
    """The local date of an aware ``moment`` in ``zone``."""
    return aware(moment, dt.timezone.utc).astimezone(zone or input_zone()).date()
