"""Correlation of returns between instruments, rolling and around an event.

Returns are non-overlapping log returns over ``horizon`` steps (prices sampled
every ``horizon`` steps): at one step, trade prices bounce between bid and ask
and correlations are biased toward zero; over a few steps the bounce cancels.
Correlations are Pearson coefficients in [-1, 1]; NaN where a window holds a
constant price. Inputs: a DataFrame of prices (time x instrument, > 0) or a
``Result`` with at least two instruments (its ``field`` prices, ``last`` by
default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deleverage.analysis._common import (
    Span,
    Time,
    as_frame,
    as_time,
    check_int,
    first_shock_time,
    instrument_names,
    is_result,
    log_returns,
    result_time,
    span_steps,
)


@dataclass(frozen=True)
class EventCorrelation:
    """Correlation matrices of returns before and after an event.

    calm: returns ending in ``[at - calm, at)``; stress: returns ending in
    ``[at, at + stress)`` (so the return into the event counts as stress);
    change: ``stress - calm``. calm_returns, stress_returns: how many returns
    each matrix rests on.
    """

    at: Any
    calm: pd.DataFrame
    stress: pd.DataFrame
    change: pd.DataFrame
    calm_returns: int
    stress_returns: int


def price_frame(x: pd.DataFrame | Any, field: str = "last") -> pd.DataFrame:
    """Prices of every instrument (time x instrument) from a ``Result`` or a DataFrame."""
    if is_result(x):
        names = instrument_names(x)
        frame = pd.DataFrame({n: x.series[(n, field)] for n in names})
    else:
        frame = x
    frame = as_frame(frame, "prices", positive=True, min_len=3)
    if frame.shape[1] < 2:
        raise ValueError(
            f"prices: correlation needs at least 2 instruments, got {frame.shape[1]} "
            f"({list(frame.columns)})"
        )
    return frame


def _pairs(columns: pd.Index) -> list[tuple[Any, Any]]:
    cols = list(columns)
    return [(a, b) for i, a in enumerate(cols) for b in cols[i + 1 :]]


def rolling_correlation(
    prices: pd.DataFrame | Any,
    window: Span,
    *,
    horizon: int = 1,
    field: str = "last",
) -> pd.DataFrame:
    """Rolling correlation of ``horizon``-step returns, one column per instrument pair.

    window: the span each correlation covers, an int number of price steps or
    a Timedelta ("10min"); it must hold at least 3 returns (window >= 3 x
    horizon) and be shorter than the series. Columns are named "A~B"; each row
    is labelled with the end of its window (NaN until a full window).
    """
    p = price_frame(prices, field)
    h = check_int(horizon, "horizon", 1, len(p) - 1)
    w = span_steps(p.index, window, "window")
    n_ret = w // h
    if n_ret < 3:
        raise ValueError(
            f"window: must hold at least 3 returns of {h} step(s), got {window!r} ({w} steps)"
        )
    r = log_returns(p, h)
    out = {}
    for a, b in _pairs(p.columns):
        out[f"{a}~{b}"] = r[a].rolling(n_ret, min_periods=n_ret).corr(r[b])
    return pd.DataFrame(out, index=r.index)


def event_correlation(
    prices: pd.DataFrame | Any,
    at: Time | None = None,
    *,
    calm: Span,
    stress: Span,
    horizon: int = 1,
    field: str = "last",
) -> EventCorrelation:
    """Correlation matrices of returns in a calm window before ``at`` and a stress window after.

    calm, stress: spans (int steps or Timedelta) before and from ``at``; each
    must hold at least 3 returns. With a ``Result``, ``at`` defaults to the
    run's event (``Result.event()``).
    """
    if is_result(prices):
        at = first_shock_time(prices) if at is None else result_time(prices, at, "at")
    p = price_frame(prices, field)
    if at is None:
        raise ValueError("at: the event time is required for a DataFrame")
    t = as_time(p.index, at, "at")
    h = check_int(horizon, "horizon", 1, len(p) - 1)
    wc = span_steps(p.index, calm, "calm")
    ws = span_steps(p.index, stress, "stress")
    k = int(p.index.searchsorted(t, side="left"))
    if k - wc - 1 < 0:
        raise ValueError(f"calm: reaches before the start of the series ({wc} steps before {at!r})")
    if k + ws > len(p) or k < 1:
        raise ValueError(f"stress: runs past the end of the series ({ws} steps from {at!r})")
    # Calm: the returns ending in [at - calm, at); stress: those ending in
    # [at, at + stress), so the return into the event belongs to the stress window.
    rc = log_returns(p.iloc[k - wc - 1 : k], h)
    rs = log_returns(p.iloc[k - 1 : k + ws], h)
    for name, r in (("calm", rc), ("stress", rs)):
        if len(r) < 3:
            raise ValueError(f"{name}: must hold at least 3 returns of {h} step(s), got {len(r)}")
    cc, cs = rc.corr(), rs.corr()
    return EventCorrelation(
        at=t,
        calm=cc,
        stress=cs,
        change=cs - cc,
        calm_returns=len(rc),
        stress_returns=len(rs),
    )


def correlation_matrix(returns: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation matrix of a DataFrame of returns (NaN rows dropped)."""
    if not isinstance(returns, pd.DataFrame):
        raise TypeError(f"returns: must be a pandas DataFrame, got {type(returns).__name__}")
    r = returns.dropna()
    if len(r) < 3:
        raise ValueError(f"returns: needs at least 3 complete rows, got {len(r)}")
    return r.astype(np.float64).corr()
