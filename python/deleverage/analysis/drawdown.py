"""Drawdowns: how far a price fell from its running peak, when, and how fast.

A drawdown at time t is ``1 - p[t] / max(p[s] for s <= t)``: the fraction of
the running peak lost, in [0, 1). Prices must be > 0. Every function takes a
price Series (indexed by seconds or by a DatetimeIndex) or a ``Result`` (then
the ``field`` price, trade price ``last`` by default, of ``instrument``, the
first by default).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deleverage.analysis._common import (
    Span,
    Time,
    as_series,
    as_time,
    elapsed_seconds,
    field_of,
    first_shock_time,
    is_result,
    result_time,
    same_index,
    span_steps,
)

HOUR = 3600.0


@dataclass(frozen=True)
class Drawdown:
    """The largest fall from a running peak.

    depth: ``1 - trough_price / peak_price``, a fraction in [0, 1).
    peak_time, trough_time: index labels (seconds or Timestamps); the peak is
    the last time the running peak was set before the trough.
    peak_price, trough_price: price units.
    hours: time from peak to trough, hours.
    speed: ``depth / hours``, fraction of the peak lost per hour (0 when there
    is no drawdown, inf when peak and trough share a timestamp, which cannot
    happen on a strictly increasing index).
    """

    depth: float
    peak_time: Any
    trough_time: Any
    peak_price: float
    trough_price: float
    hours: float
    speed: float


@dataclass(frozen=True)
class WorstMove:
    """The deepest fall completed within a window.

    fall: ``1 - p[end] / max(p[start .. end])`` over windows of the given span,
    a fraction in [0, 1). start, end: index labels of the high and the low.
    window_seconds: the window's length in seconds.
    """

    fall: float
    start: Any
    end: Any
    window_seconds: float


@dataclass(frozen=True)
class CrashDepth:
    """The fall from the price just before a reference time to the low after it.

    at: the reference time (e.g. the shock). before_time, before_price: the
    last observation strictly before ``at``. trough_time, trough_price: the
    minimum at or after ``at`` (first occurrence).
    fall: ``1 - trough_price / before_price`` (a fraction; negative if the
    price never went below its level before ``at``).
    fair_fall: the fair value's fall over the same interval,
    ``1 - fair[trough_time] / fair[before_time]`` (NaN without a fair value).
    excess: ``fall - fair_fall``, the part of the fall beyond the news
    (fraction of the price before; NaN without a fair value).
    """

    at: Any
    before_time: Any
    before_price: float
    trough_time: Any
    trough_price: float
    fall: float
    fair_fall: float
    excess: float


def _prices(
    x: object, name: str, instrument: str | None, field: str, min_len: int = 1
) -> pd.Series:
    if is_result(x):
        x = field_of(x, instrument, field)
    return as_series(x, name, positive=True, min_len=min_len)


def drawdown_series(
    prices: pd.Series | Any, *, instrument: str | None = None, field: str = "last"
) -> pd.Series:
    """The drawdown at every time: ``1 - p[t] / running_max(p)[t]``, fractions in [0, 1)."""
    p = _prices(prices, "prices", instrument, field)
    return (1.0 - p / p.cummax()).rename("drawdown")


def max_drawdown(
    prices: pd.Series | Any, *, instrument: str | None = None, field: str = "last"
) -> Drawdown:
    """The largest fall from a running peak, its peak and trough times, and its speed.

    If several troughs share the maximum depth, the first is reported.
    """
    p = _prices(prices, "prices", instrument, field)
    v = p.to_numpy()
    peak = np.maximum.accumulate(v)
    dd = 1.0 - v / peak
    j = int(np.argmax(dd))
    if dd[j] <= 0.0:
        return Drawdown(0.0, p.index[0], p.index[0], float(v[0]), float(v[0]), 0.0, 0.0)
    # The last time the running peak in force at the trough was set.
    i = int(np.flatnonzero(v[: j + 1] == peak[j])[-1])
    hours = elapsed_seconds(p.index, p.index[i], p.index[j]) / HOUR
    depth = float(dd[j])
    return Drawdown(
        depth=depth,
        peak_time=p.index[i],
        trough_time=p.index[j],
        peak_price=float(v[i]),
        trough_price=float(v[j]),
        hours=hours,
        speed=depth / hours if hours > 0 else math.inf,
    )


def worst_move(
    prices: pd.Series | Any,
    window: Span,
    *,
    instrument: str | None = None,
    field: str = "last",
) -> WorstMove:
    """The deepest peak-to-trough fall completed within any window of the given span.

    window: an int number of steps or a Timedelta ("15min"); it must be shorter
    than the series. On a regular grid, ``window=w`` compares each price with
    the highest of the ``w`` steps before it (and itself).
    """
    p = _prices(prices, "prices", instrument, field, min_len=2)
    w = span_steps(p.index, window, "window")
    v = p.to_numpy()
    n = len(v)
    # Sliding maximum over [j - w, j] with a monotone deque of indices.
    best, best_i, best_j = 0.0, 0, 0
    q: deque[int] = deque()
    for j in range(n):
        while q and v[q[-1]] <= v[j]:
            q.pop()
        q.append(j)
        if q[0] < j - w:
            q.popleft()
        fall = 1.0 - v[j] / v[q[0]]
        if fall > best:
            best, best_i, best_j = fall, q[0], j
    seconds = elapsed_seconds(p.index, p.index[0], p.index[w])
    return WorstMove(float(best), p.index[best_i], p.index[best_j], seconds)


def crash_depth(
    prices: pd.Series | Any,
    at: Time | None = None,
    *,
    fair: pd.Series | None = None,
    instrument: str | None = None,
    field: str = "last",
) -> CrashDepth:
    """The fall from the price just before ``at`` to the minimum at or after it.

    With a ``Result``, ``at`` defaults to the run's event and ``fair``
    to the instrument's fair value. ``fair`` must share the prices' index.
    """
    if is_result(prices):
        at = first_shock_time(prices) if at is None else result_time(prices, at, "at")
        if fair is None:
            fair = field_of(prices, instrument, "fair")
    p = _prices(prices, "prices", instrument, field, min_len=2)
    if at is None:
        raise ValueError("at: the reference time is required for a Series of prices")
    t = as_time(p.index, at, "at")
    before = p.index < t
    if not before.any():
        raise ValueError(f"at: must be after the first observation ({p.index[0]}), got {at!r}")
    after = p[~before]
    if after.empty:
        raise ValueError(f"at: must be at or before the last observation ({p.index[-1]})")
    b = int(np.flatnonzero(before)[-1])
    before_time, before_price = p.index[b], float(p.iloc[b])
    trough_time = after.idxmin()
    trough_price = float(after.min())
    fall = 1.0 - trough_price / before_price
    fair_fall = excess = math.nan
    if fair is not None:
        f = as_series(fair, "fair", positive=True)
        same_index(p, f, "prices, fair")
        fair_fall = 1.0 - float(f.loc[trough_time]) / float(f.iloc[b])
        excess = fall - fair_fall
    return CrashDepth(
        at=t,
        before_time=before_time,
        before_price=before_price,
        trough_time=trough_time,
        trough_price=trough_price,
        fall=fall,
        fair_fall=fair_fall,
        excess=excess,
    )
