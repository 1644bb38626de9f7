"""Positions before and after: how much leverage and open interest a shock took out.

Aggregate leverage is ``Result.leverage``: per population, total notional over
total equity (dimensionless, sampled every few steps). Open interest is
``series[(instrument, "open_interest")]`` in lots. Each is summarised by its
peak before the reference time ``at``, its value just before ``at``, its
value at a later time (the end by default) and the ratio of that to the peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deleverage.analysis._common import (
    Time,
    as_frame,
    as_series,
    as_time,
    field_of,
    first_shock_time,
    is_result,
    result_time,
)


@dataclass(frozen=True)
class BeforeAfter:
    """A quantity around a reference time ``at`` (units of the input).

    peak, peak_time: the largest value strictly before ``at`` (first time).
    before: the last value strictly before ``at``.
    after, after_time: the value at the last observation at or before the
    ``after`` time asked for (the end of the series by default).
    low_after, low_after_time: the smallest value at or after ``at``.
    after_over_peak: ``after / peak`` (NaN if the peak is not > 0); 0.57 means
    43% of the peak was gone. change: ``after - before``.
    """

    at: Any
    peak: float
    peak_time: Any
    before: float
    after: float
    after_time: Any
    low_after: float
    low_after_time: Any
    after_over_peak: float
    change: float


def before_after(series: pd.Series, at: Time, *, after: Time | None = None) -> BeforeAfter:
    """Peak and last value before ``at``, value at ``after`` (default: the end), their ratio."""
    s = as_series(series, "series", min_len=2)
    t = as_time(s.index, at, "at")
    pre = s[s.index < t]
    if pre.empty:
        raise ValueError(f"at: must be after the first observation ({s.index[0]}), got {at!r}")
    post = s[s.index >= t]
    if post.empty:
        raise ValueError(f"at: must be at or before the last observation ({s.index[-1]})")
    if after is None:
        j = len(s) - 1
    else:
        ta = as_time(s.index, after, "after")
        if ta < t:
            raise ValueError(f"after: must not be before at ({at!r}), got {after!r}")
        j = int(s.index.searchsorted(ta, side="right")) - 1
    peak = float(pre.max())
    value = float(s.iloc[j])
    return BeforeAfter(
        at=t,
        peak=peak,
        peak_time=pre.idxmax(),
        before=float(pre.iloc[-1]),
        after=value,
        after_time=s.index[j],
        low_after=float(post.min()),
        low_after_time=post.idxmin(),
        after_over_peak=value / peak if peak > 0 else math.nan,
        change=value - float(pre.iloc[-1]),
    )


def open_interest_change(
    result: pd.Series | Any,
    at: Time | None = None,
    *,
    after: Time | None = None,
    instrument: str | None = None,
) -> BeforeAfter:
    """Open interest (lots) around ``at``: a ``Result`` (``at`` defaults to the
    event) or an open-interest Series."""
    if is_result(result):
        at = first_shock_time(result) if at is None else result_time(result, at, "at")
        after = result_time(result, after, "after")
        result = field_of(result, instrument, "open_interest")
    if at is None:
        raise ValueError("at: the reference time is required for a Series")
    return before_after(result, at, after=after)


def leverage_change(
    result: pd.DataFrame | Any, at: Time | None = None, *, after: Time | None = None
) -> pd.DataFrame:
    """Aggregate leverage of each population around ``at``, one row per population.

    result: a ``Result`` (its ``leverage`` table; ``at`` defaults to the first
    shock) or a DataFrame of leverage (time x population). Columns: peak,
    peak_time, before, after, after_time, low_after, after_over_peak, change
    (leverage is notional / equity, dimensionless).
    """
    if is_result(result):
        at = first_shock_time(result) if at is None else result_time(result, at, "at")
        after = result_time(result, after, "after")
        result = result.leverage
    if at is None:
        raise ValueError("at: the reference time is required for a DataFrame")
    frame = as_frame(result, "leverage", min_len=2)
    if np.any(frame.to_numpy() < 0):
        raise ValueError("leverage: must be >= 0")
    rows = {}
    for col in frame.columns:
        b = before_after(frame[col], at, after=after)
        rows[col] = {
            "peak": b.peak,
            "peak_time": b.peak_time,
            "before": b.before,
            "after": b.after,
            "after_time": b.after_time,
            "low_after": b.low_after,
            "after_over_peak": b.after_over_peak,
            "change": b.change,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "population"
    return out
