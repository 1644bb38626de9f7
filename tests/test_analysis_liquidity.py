"""Liquidity collapse and recovery, positions before and after, on constructed series."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from deleverage.analysis import (
    before_after,
    leverage_change,
    liquidity_collapse,
    liquidity_recovery,
    open_interest_change,
)

T = pd.Index(np.arange(400.0), name="time")


def _book(blip: bool = False) -> tuple[pd.Series, pd.Series]:
    """Shock at 100 s: the spread peaks at 8 (110 s), a side is empty at 111-112 s,
    the spread is back below 1.1 from 150 s; the depth bottoms at 20 (105 s) and is
    back above 90 from 140 s. With ``blip``, one wide quote at 200 s."""
    spread = np.ones(400)
    spread[100:150] = 1.5
    spread[108:111] = [5.0, 6.0, 8.0]
    spread[111:113] = np.nan
    spread[150:] = 1.05
    if blip:
        spread[200] = 3.0
    depth = np.full(400, 100.0)
    depth[100:140] = 50.0
    depth[105] = 20.0
    depth[140:] = 95.0
    return pd.Series(spread, index=T), pd.Series(depth, index=T)


def test_collapse_of_spread_and_depth() -> None:
    spread, depth = _book()
    c = liquidity_collapse(spread, depth, 100.0)
    assert (c.spread_base, c.depth_base) == (1.0, 100.0)
    assert (c.spread_peak, c.spread_peak_time, c.spread_ratio) == (8.0, 110.0, 8.0)
    assert (c.depth_trough, c.depth_trough_time, c.depth_ratio) == (20.0, 105.0, 0.2)
    assert c.one_sided_steps == 2
    assert c.one_sided_seconds == 2.0


def test_recovery_time_and_hold_period() -> None:
    spread, depth = _book()
    r = liquidity_recovery(spread, depth, 100.0, tolerance=0.1, hold=30)
    assert r.time == 150.0
    assert r.seconds_after_shock == 50.0
    assert r.seconds_after_trough == 40.0  # from the spread peak at 110 s
    # A wide quote at 200 s breaks a 60 s hold that starts at 150 s.
    spread, depth = _book(blip=True)
    assert liquidity_recovery(spread, depth, 100.0, tolerance=0.1, hold=30).time == 150.0
    assert liquidity_recovery(spread, depth, 100.0, tolerance=0.1, hold=60).time == 201.0
    assert liquidity_recovery(spread, depth, 100.0, tolerance=0.1, hold="1min").time == 201.0
    # A tighter tolerance: the depth at 95 never counts as back.
    never = liquidity_recovery(spread, depth, 100.0, tolerance=0.01, hold=10)
    assert never.time is None
    assert math.isnan(never.seconds_after_shock)
    # A hold longer than what is left of the series never completes.
    assert liquidity_recovery(spread, depth, 100.0, tolerance=0.1, hold=390).time is None


def test_recovery_on_calendar_time() -> None:
    spread, depth = _book()
    times = pd.date_range("2026-01-30 09:00", periods=400, freq="s")
    r = liquidity_recovery(
        spread.set_axis(times), depth.set_axis(times), times[100], tolerance=0.1, hold="30s"
    )
    assert r.time == times[150]
    assert r.seconds_after_shock == 50.0


def test_liquidity_inputs_are_checked() -> None:
    spread, depth = _book()
    with pytest.raises(ValueError, match="same index"):
        liquidity_collapse(spread, depth.iloc[:-1], 100.0)
    with pytest.raises(ValueError, match="depth: required"):
        liquidity_collapse(spread, None, 100.0)
    with pytest.raises(ValueError, match="depth: must be >= 0"):
        liquidity_collapse(spread, -depth, 100.0)
    with pytest.raises(ValueError, match="after the first"):
        liquidity_collapse(spread, depth, 0.0)
    with pytest.raises(ValueError, match="tolerance"):
        liquidity_recovery(spread, depth, 100.0, tolerance=1.5)
    with pytest.raises(ValueError, match="hold: must be shorter"):
        liquidity_recovery(spread, depth, 100.0, hold=400)
    with pytest.raises(ValueError, match="depth: must not contain NaN"):
        liquidity_collapse(spread, depth.where(depth > 30), 100.0)


def test_before_after_peak_and_ratio() -> None:
    oi = pd.Series([0.0, 50.0, 100.0, 80.0, 40.0, 30.0, 45.0], index=np.arange(7) * 10.0)
    b = before_after(oi, 40.0)
    assert (b.peak, b.peak_time, b.before) == (100.0, 20.0, 80.0)
    assert (b.after, b.after_time) == (45.0, 60.0)
    assert (b.low_after, b.low_after_time) == (30.0, 50.0)
    assert b.after_over_peak == pytest.approx(0.45)
    assert b.change == pytest.approx(-35.0)
    mid = before_after(oi, 40.0, after=55.0)  # the last value at or before 55 s
    assert (mid.after, mid.after_time) == (30.0, 50.0)
    assert open_interest_change(oi, 40.0).after_over_peak == pytest.approx(0.45)
    with pytest.raises(ValueError, match="after: must not be before"):
        before_after(oi, 40.0, after=10.0)
    with pytest.raises(ValueError, match="at: the reference time"):
        open_interest_change(oi)


def test_leverage_change_per_population() -> None:
    t = pd.Index(np.arange(0.0, 100.0, 10.0), name="time")
    lev = pd.DataFrame(
        {
            "speculators": [0, 2, 4, 8, 6, 2, 1, 1, 1.5, 2],
            "holders": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        },
        index=t,
        dtype=float,
    )
    out = leverage_change(lev, 45.0)
    assert list(out.index) == ["speculators", "holders"]
    assert out.loc["speculators", "peak"] == 8.0
    assert out.loc["speculators", "peak_time"] == 30.0
    assert out.loc["speculators", "after_over_peak"] == pytest.approx(0.25)
    assert out.loc["speculators", "low_after"] == 1.0
    assert out.loc["holders", "after_over_peak"] == 1.0
    with pytest.raises(ValueError, match=">= 0"):
        leverage_change(-lev, 45.0)
    with pytest.raises(TypeError, match="DataFrame"):
        leverage_change(lev["speculators"], 45.0)
