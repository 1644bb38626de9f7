"""Dated runs: a scenario whose ``clock.start`` is set is timed in UTC date-times.

The engine counts seconds from the start of a run; a dated run's ``Result``
shows them as date-times at its boundary: the index of ``series``,
``leverage`` and ``exposure`` is a UTC ``DatetimeIndex`` (``start + seconds``,
exact to the nanosecond), and the ``time`` column of ``liquidations`` and
``trades`` holds UTC date-times. An undated run keeps seconds everywhere.

Code that needs seconds (durations, steps, arithmetic on time) gets them back
with ``seconds_of``, or a whole result in seconds with ``undated_result``. A
time a user gives (``at=``, a window's ends) is read by ``time_seconds``
(seconds or a duration for any run, a date-time as well for a dated one) and
shown by ``time_label`` / ``time_text``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from deleverage.result import Result
    from deleverage.scenario import Scenario

__all__ = [
    "date_times",
    "dated_result",
    "is_dated",
    "run_start",
    "seconds_of",
    "time_label",
    "time_seconds",
    "time_text",
    "undated_result",
]

_SECOND = pd.Timedelta(seconds=1)
_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}")


def run_start(x: Result | Scenario | None) -> pd.Timestamp | None:
    """The UTC start of a run (of a ``Result`` or a ``Scenario``), None if undated."""
    from deleverage.scenario import Scenario

    if x is None:
        return None
    scenario = x if isinstance(x, Scenario) else x.scenario
    start = scenario.clock.start
    return None if start is None else pd.Timestamp(start).tz_convert("UTC")


def is_dated(x: Result | Scenario) -> bool:
    """True for a run (or scenario) with a ``clock.start``."""
    return run_start(x) is not None


def date_times(seconds: Any, start: pd.Timestamp | datetime.datetime) -> pd.DatetimeIndex:
    """``start + seconds`` as a UTC ``DatetimeIndex`` (seconds rounded to the nanosecond)."""
    values = np.asarray(seconds, dtype=np.float64)
    origin = pd.Timestamp(start).tz_convert("UTC")
    return pd.DatetimeIndex(origin + pd.to_timedelta(values, unit="s"))


def seconds_of(values: Any, start: pd.Timestamp | datetime.datetime | None) -> np.ndarray:
    """Times as float seconds from the start of the run: date-times (an index, a
    column, an array) are measured from ``start``; numbers are already seconds."""
    if isinstance(values, (pd.Index, pd.Series)) and pd.api.types.is_datetime64_any_dtype(
        values.dtype
    ):
        if start is None:
            raise ValueError("time: date-times given for an undated run (no clock.start)")
        origin = pd.Timestamp(start).tz_convert("UTC")
        times = pd.DatetimeIndex(values)
        if times.tz is None:
            times = times.tz_localize("UTC")
        return np.asarray((times - origin) / _SECOND, dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def time_label(seconds: float, start: pd.Timestamp | datetime.datetime | None) -> Any:
    """The index label of ``seconds`` from the start: the seconds themselves for an
    undated run, ``start + seconds`` (a UTC ``Timestamp``) for a dated one."""
    if start is None:
        return float(seconds)
    return pd.Timestamp(start).tz_convert("UTC") + pd.Timedelta(seconds=float(seconds))


def _as_timestamp(value: Any, name: str) -> pd.Timestamp:
    if isinstance(value, str) and not _DATE.match(value):
        # A time of day alone ("21:00") would be read as today's: not a time of the run.
        raise ValueError(
            f"{name}: must be seconds or a duration such as '21h', or a UTC date-time "
            f"such as '2026-01-30 01:00' (a date first), got {value!r}"
        )
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: must be seconds or a duration such as '21h', or a UTC date-time "
            f"such as '2026-01-30 01:00', got {value!r}"
        ) from None
    if pd.isna(ts):
        raise ValueError(f"{name}: must be a time, got {value!r}")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def time_seconds(t: object, start: pd.Timestamp | datetime.datetime | None, name: str) -> float:
    """A time a user gives, as seconds from the start of the run.

    Any run: a number of seconds, a ``Timedelta`` or a duration text
    (``"21h"``, ``"1 days 21:00:00"``, ``"75600"``). A dated run also takes a
    date-time (``datetime``, ``Timestamp``, ``numpy.datetime64``) or its text
    (``"2026-01-30 01:00"``); one without an offset is read as UTC.
    """
    if isinstance(t, str):
        text = t.strip()
        try:
            return float(text)  # a bare number is seconds (pandas would read nanoseconds)
        except ValueError:
            pass
        try:
            return float(pd.Timedelta(text) / _SECOND)
        except ValueError:
            pass
        if start is None:
            raise ValueError(
                f"{name}: must be seconds or a duration such as '21h' or '1 days 21:00' "
                f"(this run has no clock.start, so no dates), got {t!r}"
            )
        return float((_as_timestamp(text, name) - pd.Timestamp(start).tz_convert("UTC")) / _SECOND)
    if isinstance(t, (pd.Timedelta, datetime.timedelta, np.timedelta64)):
        return float(pd.Timedelta(t) / _SECOND)
    if isinstance(t, (datetime.datetime, datetime.date, np.datetime64)):
        if start is None:
            raise TypeError(
                f"{name}: a date-time was given, but this run has no clock.start: "
                f"give seconds from the start, got {t!r}"
            )
        return float((_as_timestamp(t, name) - pd.Timestamp(start).tz_convert("UTC")) / _SECOND)
    if isinstance(t, bool) or not isinstance(t, Real):
        kinds = "seconds, a duration text" + (" or a date-time" if start is not None else "")
        raise TypeError(f"{name}: must be {kinds}, got {type(t).__name__} {t!r}")
    value = float(t)
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {t!r}")
    return value


def time_text(seconds: float, start: pd.Timestamp | datetime.datetime | None) -> str:
    """A time for a table: ``[day N ]HH:MM:SS`` from the start of an undated run,
    ``YYYY-MM-DD HH:MM:SS`` (UTC) for a dated one; ``-`` for NaN."""
    if not math.isfinite(seconds):
        return "-"
    if start is not None:
        ts = time_label(seconds, start)
        text = str(ts.strftime("%Y-%m-%d %H:%M:%S"))
        if ts.microsecond:
            text += f".{ts.microsecond:06d}".rstrip("0")
        return text
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    text = f"{h:02d}:{m:02d}:{s:02d}"
    return f"day {days} {text}" if days else text


def _dated_index(index: pd.Index, start: pd.Timestamp) -> pd.DatetimeIndex:
    return date_times(index.to_numpy(dtype=np.float64), start).rename(index.name)


def _dated_time(frame: pd.DataFrame | None, start: pd.Timestamp) -> pd.DataFrame | None:
    if frame is None or "time" not in frame.columns:
        return frame
    out = frame.copy()
    out["time"] = date_times(frame["time"].to_numpy(dtype=np.float64), start)
    return out


def dated_result(result: Result) -> Result:
    """``result`` (built in seconds) with its tables dated, if its scenario has a
    ``clock.start``; the same object otherwise."""
    start = run_start(result)
    if start is None:
        return result
    return _retimed(result, start, _dated_index, _dated_time)


def _seconds_index(index: pd.Index, start: pd.Timestamp) -> pd.Index:
    seconds = np.asarray(seconds_of(index, start), dtype=np.float64)
    out: pd.Index = pd.Index(seconds, name=index.name)
    return out


def _seconds_time(frame: pd.DataFrame | None, start: pd.Timestamp) -> pd.DataFrame | None:
    if frame is None or "time" not in frame.columns:
        return frame
    out = frame.copy()
    out["time"] = seconds_of(frame["time"], start)
    return out


def undated_result(result: Result) -> Result:
    """``result`` with its tables in seconds from the start (the engine's own
    timing), for code that does arithmetic on time; an undated result as it is."""
    start = run_start(result)
    if start is None or not isinstance(result.series.index, pd.DatetimeIndex):
        return result
    return _retimed(result, start, _seconds_index, _seconds_time)


def _retimed(
    result: Result,
    start: pd.Timestamp,
    index: Callable[[pd.Index, pd.Timestamp], pd.Index],
    column: Callable[[pd.DataFrame | None, pd.Timestamp], pd.DataFrame | None],
) -> Result:
    """``result`` with every time-indexed table re-indexed by ``index`` and the
    logs' ``time`` columns converted by ``column``: one path each way."""
    import dataclasses

    def reindexed(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out.index = index(frame.index, start)
        return out

    liquidations = column(result.liquidations, start)
    assert liquidations is not None
    return dataclasses.replace(
        result,
        series=reindexed(result.series),
        leverage=reindexed(result.leverage),
        exposure=None if result.exposure is None else reindexed(result.exposure),
        liquidations=liquidations,
        trades=column(result.trades, start),
    )
