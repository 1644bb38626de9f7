"""Liquidity collapse and recovery around a shock.

Liquidity is read from two series: the quoted spread (price units; NaN while a
side of the book is empty, the worst case) and the depth (lots resting near
the mid; with a ``Result``, ``depth_bid + depth_ask``, the lots within 1% of
the mid). The baseline of each is its median over the observations strictly
before the reference time ``at`` (the shock); ratios are to that baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deleverage.analysis._common import (
    Span,
    Time,
    as_series,
    as_time,
    check_fraction,
    elapsed_seconds,
    field_of,
    first_shock_time,
    is_result,
    median_spacing,
    result_time,
    same_index,
    span_steps,
)


@dataclass(frozen=True)
class LiquidityCollapse:
    """How far liquidity fell after ``at``.

    spread_base, depth_base: medians before ``at`` (price units, lots).
    spread_peak: highest quoted spread at or after ``at`` (price units; steps
    with an empty side are not quoted and are counted in ``one_sided_seconds``).
    spread_ratio: ``spread_peak / spread_base``. spread_peak_time: its time.
    depth_trough: lowest depth at or after ``at`` (lots); depth_ratio:
    ``depth_trough / depth_base`` in [0, ...); depth_trough_time: its first time.
    one_sided_steps, one_sided_seconds: how many steps after ``at`` had an
    empty side (NaN spread), and their total duration (steps x median spacing).
    """

    at: Any
    spread_base: float
    spread_peak: float
    spread_ratio: float
    spread_peak_time: Any
    depth_base: float
    depth_trough: float
    depth_ratio: float
    depth_trough_time: Any
    one_sided_steps: int
    one_sided_seconds: float


@dataclass(frozen=True)
class Recovery:
    """When liquidity came back.

    time: the first time, after the worst point of the collapse (the later of
    the spread peak and the depth trough), from which the spread stayed at most
    ``(1 + tolerance) x`` its baseline and the depth at least
    ``(1 - tolerance) x`` its baseline for the whole hold period; None if never
    within the series. seconds_after_shock, seconds_after_trough: durations to
    that time (NaN if never).
    """

    time: Any
    seconds_after_shock: float
    seconds_after_trough: float
    tolerance: float
    hold_steps: int


def _inputs(
    spread: pd.Series | Any, depth: pd.Series | None, at: Time | None, instrument: str | None
) -> tuple[pd.Series, pd.Series, Any]:
    if is_result(spread):
        result = spread
        at = first_shock_time(result) if at is None else result_time(result, at, "at")
        spread = field_of(result, instrument, "spread")
        if depth is None:
            depth = field_of(result, instrument, "depth_bid") + field_of(
                result, instrument, "depth_ask"
            )
    if depth is None:
        raise ValueError("depth: required with a Series of spreads")
    if at is None:
        raise ValueError("at: the reference time is required with Series")
    s = as_series(spread, "spread", min_len=2, allow_nan=True)
    d = as_series(depth, "depth", min_len=2)
    same_index(s, d, "spread, depth")
    if np.nanmin(s.to_numpy()) < 0:
        raise ValueError("spread: must be >= 0")
    if d.min() < 0:
        raise ValueError("depth: must be >= 0")
    t = as_time(s.index, at, "at")
    before = s.index < t
    if not before.any():
        raise ValueError(f"at: must be after the first observation ({s.index[0]}), got {at!r}")
    if before.all():
        raise ValueError(f"at: must be at or before the last observation ({s.index[-1]})")
    return s, d, t


def _baselines(s: pd.Series, d: pd.Series, t: Any) -> tuple[float, float]:
    before = s.index < t
    sb = s[before].dropna()
    spread_base = float(sb.median()) if len(sb) else math.nan
    depth_base = float(d[before].median())
    return spread_base, depth_base


def liquidity_collapse(
    spread: pd.Series | Any,
    depth: pd.Series | None = None,
    at: Time | None = None,
    *,
    instrument: str | None = None,
) -> LiquidityCollapse:
    """Spread peak and depth trough after ``at``, against their medians before it.

    Pass a ``Result`` as ``spread`` to read its spread and depth (``at``
    defaults to the run's event), or two Series on the same index.
    """
    s, d, t = _inputs(spread, depth, at, instrument)
    spread_base, depth_base = _baselines(s, d, t)
    after = s.index >= t
    sa, da = s[after], d[after]
    quoted = sa.dropna()
    spread_peak = float(quoted.max()) if len(quoted) else math.nan
    peak_time = quoted.idxmax() if len(quoted) else None
    one_sided = int(sa.isna().sum())
    spacing = median_spacing(s.index)
    return LiquidityCollapse(
        at=t,
        spread_base=spread_base,
        spread_peak=spread_peak,
        spread_ratio=spread_peak / spread_base if spread_base > 0 else math.nan,
        spread_peak_time=peak_time,
        depth_base=depth_base,
        depth_trough=float(da.min()),
        depth_ratio=float(da.min()) / depth_base if depth_base > 0 else math.nan,
        depth_trough_time=da.idxmin(),
        one_sided_steps=one_sided,
        one_sided_seconds=one_sided * spacing,
    )


def liquidity_recovery(
    spread: pd.Series | Any,
    depth: pd.Series | None = None,
    at: Time | None = None,
    *,
    tolerance: float = 0.1,
    hold: Span = 60,
    instrument: str | None = None,
) -> Recovery:
    """The first time after the collapse that spread and depth are back near their baselines.

    Recovered at t when, at every observation in ``[t, t + hold]``, the spread
    is quoted and at most ``(1 + tolerance) * spread_base`` and the depth is at
    least ``(1 - tolerance) * depth_base`` (one-sided: a tighter spread or more
    depth than before also counts). The search starts at the worst point of the
    collapse (the later of the spread peak and the depth trough); a hold period
    cut short by the end of the series does not count.

    tolerance: in [0, 1). hold: an int number of steps or a Timedelta, shorter
    than the series.
    """
    s, d, t = _inputs(spread, depth, at, instrument)
    tolerance = check_fraction(tolerance, "tolerance", 0.0, 1.0, lo_open=False, hi_open=True)
    h = span_steps(s.index, hold, "hold", minimum=0)
    c = liquidity_collapse(s, d, t)
    worst = c.depth_trough_time
    if c.spread_peak_time is not None and c.spread_peak_time > worst:
        worst = c.spread_peak_time
    sv, dv = s.to_numpy(), d.to_numpy()
    with np.errstate(invalid="ignore"):
        ok = (sv <= (1.0 + tolerance) * c.spread_base) & (dv >= (1.0 - tolerance) * c.depth_base)
    ok &= ~np.isnan(sv)
    start = int(s.index.get_indexer(pd.Index([worst]))[0])
    # full[i]: observations i .. i + h are all recovered.
    cs = np.concatenate([[0], np.cumsum(ok)])
    full = cs[h + 1 :] - cs[: len(cs) - h - 1] == h + 1
    hits = np.flatnonzero(full[start:])
    if hits.size == 0:
        return Recovery(None, math.nan, math.nan, tolerance, h)
    i = start + int(hits[0])
    when = s.index[i]
    return Recovery(
        time=when,
        seconds_after_shock=elapsed_seconds(s.index, t, when),
        seconds_after_trough=elapsed_seconds(s.index, worst, when),
        tolerance=tolerance,
        hold_steps=h,
    )
