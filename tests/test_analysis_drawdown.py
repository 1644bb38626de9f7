"""Drawdown and amplification against constructed paths with known answers and brute force."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.analysis import (
    amplification,
    bootstrap_mean,
    crash_depth,
    drawdown_series,
    max_drawdown,
    paired_amplification,
    shock_amplification,
    worst_move,
)


def _piecewise(nodes: list[tuple[float, float]], step: float = 60.0) -> pd.Series:
    """A price path linear between (time in seconds, price) nodes, sampled every ``step``."""
    t = np.arange(nodes[0][0], nodes[-1][0] + step / 2, step)
    x, y = zip(*nodes, strict=True)
    return pd.Series(np.interp(t, x, y), index=pd.Index(t, name="time"))


# Up 100 -> 120 over 2 h, down to 90 by 5 h, back to 110 by 8 h, flat to 10 h.
PATH = _piecewise([(0, 100), (7200, 120), (18000, 90), (28800, 110), (36000, 110)])


def _brute_drawdown(p: np.ndarray) -> float:
    return max(1.0 - p[j] / p[i] for j in range(len(p)) for i in range(j + 1))


def _brute_worst(p: np.ndarray, w: int) -> float:
    return max(1.0 - p[j] / p[i] for j in range(len(p)) for i in range(max(0, j - w), j + 1))


prices_strategy = st.lists(
    st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


def test_max_drawdown_of_a_piecewise_linear_path() -> None:
    d = max_drawdown(PATH)
    assert d.depth == pytest.approx(0.25)
    assert (d.peak_time, d.trough_time) == (7200.0, 18000.0)
    assert (d.peak_price, d.trough_price) == (120.0, 90.0)
    assert d.hours == pytest.approx(3.0)
    assert d.speed == pytest.approx(0.25 / 3.0)


def test_max_drawdown_on_calendar_time_and_a_rising_path() -> None:
    days = pd.date_range("2026-01-01", periods=len(PATH), freq="min")
    d = max_drawdown(PATH.set_axis(days))
    assert d.peak_time == days[120]
    assert d.trough_time == days[300]
    assert d.hours == pytest.approx(3.0)
    rising = pd.Series([1.0, 2.0, 3.0])
    assert max_drawdown(rising).depth == 0.0
    assert max_drawdown(rising).speed == 0.0


def test_peak_is_the_last_time_the_running_peak_was_set() -> None:
    p = pd.Series([1.0, 2.0, 1.5, 2.0, 2.0, 1.0, 1.2], index=np.arange(7) * 3600.0)
    d = max_drawdown(p)
    assert d.depth == pytest.approx(0.5)
    assert d.peak_time == 4 * 3600.0
    assert d.trough_time == 5 * 3600.0
    assert d.speed == pytest.approx(0.5)


@settings(max_examples=150, deadline=None)
@given(prices_strategy)
def test_drawdown_is_in_unit_interval_and_matches_brute_force(values: list[float]) -> None:
    p = pd.Series(values)
    d = max_drawdown(p)
    assert 0.0 <= d.depth < 1.0
    assert d.depth == pytest.approx(_brute_drawdown(np.array(values)), rel=1e-12, abs=1e-15)
    assert d.peak_time <= d.trough_time
    assert d.depth == pytest.approx(1.0 - d.trough_price / d.peak_price, abs=1e-15)
    series = drawdown_series(p)
    assert series.max() == pytest.approx(d.depth, abs=1e-15)
    assert ((series >= 0) & (series < 1)).all()


@settings(max_examples=100, deadline=None)
@given(prices_strategy.filter(lambda v: len(v) >= 2), st.integers(1, 40))
def test_worst_move_matches_brute_force(values: list[float], w: int) -> None:
    w = min(w, len(values) - 1)
    m = worst_move(pd.Series(values), w)
    assert m.fall == pytest.approx(_brute_worst(np.array(values), w), rel=1e-12, abs=1e-15)
    assert m.fall <= max_drawdown(pd.Series(values)).depth + 1e-15


def test_worst_move_over_an_hour_of_the_piecewise_path() -> None:
    # The fall is 10 price units an hour; as a fraction it is largest at its end.
    m = worst_move(PATH, pd.Timedelta("1h"))
    assert m.fall == pytest.approx(1.0 - 90.0 / 100.0)
    assert (m.start, m.end) == (14400.0, 18000.0)
    assert m.window_seconds == 3600.0
    assert worst_move(PATH, 60).fall == m.fall
    assert worst_move(PATH, "1h").fall == m.fall


def _shock_path() -> tuple[pd.Series, pd.Series]:
    t = pd.Index(np.arange(100.0), name="time")
    price = np.full(100, 100.0)
    price[50:] = np.interp(np.arange(50, 100), [50, 60, 99], [95, 90, 97])
    fair = np.where(np.arange(100) < 50, 100.0, 95.0)
    return pd.Series(price, index=t), pd.Series(fair, index=t)


def test_crash_depth_and_its_excess_over_the_fair_value() -> None:
    price, fair = _shock_path()
    c = crash_depth(price, 50.0, fair=fair)
    assert (c.before_time, c.before_price) == (49.0, 100.0)
    assert (c.trough_time, c.trough_price) == (60.0, 90.0)
    assert c.fall == pytest.approx(0.10)
    assert c.fair_fall == pytest.approx(0.05)
    assert c.excess == pytest.approx(0.05)
    assert shock_amplification(price, 50.0, fair=fair) == pytest.approx(2.0)
    assert math.isnan(crash_depth(price, 50.0).excess)


def test_crash_depth_on_calendar_time() -> None:
    price, fair = _shock_path()
    days = pd.date_range("2026-01-01", periods=100, freq="D")
    c = crash_depth(price.set_axis(days), "2026-02-20", fair=fair.set_axis(days))
    assert c.trough_time == days[60]
    assert c.fall == pytest.approx(0.10)


def test_amplification_of_a_paired_run() -> None:
    capped = _piecewise([(0, 100), (3600, 90), (7200, 100)])
    levered = _piecewise([(0, 100), (3600, 80), (7200, 100)])
    assert amplification(levered, capped) == pytest.approx(2.0)
    assert amplification(levered, capped, at=60.0) == pytest.approx(2.0)
    flat = capped * 0 + 100.0
    assert math.isnan(amplification(levered, flat))
    with pytest.raises(ValueError, match="same index"):
        amplification(levered, capped.iloc[1:])


def test_paired_amplification_mean_interval_and_determinism() -> None:
    base = _piecewise([(0, 100), (3600, 90), (7200, 100)])
    pairs = []
    for k in (1.0, 1.5, 2.0, 2.5):
        deeper = 100.0 - k * (100.0 - base)
        pairs.append((deeper, base))
    s = paired_amplification(pairs, seed=7)
    assert s.mean == pytest.approx(1.75)
    assert s.n == 4
    assert s.deeper == 3
    assert s.low <= s.mean <= s.high
    assert s.low >= 1.0
    assert s.high <= 2.5
    again = paired_amplification(pairs, seed=7)
    assert (again.low, again.high) == (s.low, s.high)
    np.testing.assert_allclose(s.ratios, [1.0, 1.5, 2.0, 2.5])


def test_bootstrap_interval_narrows_with_more_data() -> None:
    rng = np.random.default_rng(0)
    small = bootstrap_mean(rng.normal(1.0, 1.0, 20), seed=1)
    large = bootstrap_mean(rng.normal(1.0, 1.0, 2000), seed=1)
    assert large[2] - large[1] < (small[2] - small[1]) / 5
    assert large[1] < 1.0 < large[2]
    same = bootstrap_mean([1.0, 2.0, 3.0], seed=np.random.default_rng(3))
    assert same == bootstrap_mean([1.0, 2.0, 3.0], seed=np.random.default_rng(3))


@pytest.mark.parametrize(
    ("prices", "error", "match"),
    [
        (pd.Series([], dtype=float), ValueError, "at least 1"),
        (pd.Series([1.0, 0.0, 2.0]), ValueError, "> 0"),
        (pd.Series([1.0, -3.0]), ValueError, "> 0"),
        (pd.Series([1.0, np.nan]), ValueError, "NaN"),
        (pd.Series([1.0, np.inf]), ValueError, "finite"),
        (pd.Series(["a", "b"]), TypeError, "numbers"),
        ([1.0, 2.0], TypeError, "pandas Series"),
        (pd.Series([1.0, 2.0], index=[1.0, 0.0]), ValueError, "increasing"),
    ],
)
def test_bad_prices_are_rejected(prices: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        max_drawdown(prices)


def test_bad_windows_and_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="shorter than the series"):
        worst_move(PATH, len(PATH))
    with pytest.raises(ValueError, match="at least 1"):
        worst_move(PATH, 0)
    with pytest.raises(TypeError, match="int number of steps or a Timedelta"):
        worst_move(PATH, 60.0)
    with pytest.raises(ValueError, match="not a time span"):
        worst_move(PATH, "soon")
    with pytest.raises(ValueError, match="within the series"):
        crash_depth(PATH, 1e9)
    with pytest.raises(ValueError, match="after the first"):
        crash_depth(PATH, 0.0)
    with pytest.raises(ValueError, match="required"):
        crash_depth(PATH)
    with pytest.raises(ValueError, match="fair"):
        shock_amplification(PATH, 60.0)
    with pytest.raises(ValueError, match="at least one pair"):
        paired_amplification([])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_mean([1.0, 2.0], confidence=1.0)
