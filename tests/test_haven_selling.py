"""``haven_selling`` on constructed price paths with known answers, and its
bad input. The paths replace a real result's series (so the function reads a
genuine ``Result``), one value a day held for the whole day."""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pandas as pd
import pytest

from deleverage.analysis import haven_selling
from deleverage.result import Result
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

DAY = 288


@pytest.fixture(scope="module")
def base() -> Result:
    world = load_preset("dash-for-cash-2020").scaled(0.01)
    return simulate(world.replace(episode=None, targets=()).with_steps(10 * DAY), 0, progress=False)


def _with_paths(base: Result, daily: dict[tuple[str, str], list[float]]) -> Result:
    series = base.series.copy()
    for column, values in daily.items():
        series[column] = np.repeat(np.asarray(values, dtype=float), DAY)
    return dc.replace(base, series=series)


def test_known_answers(base: Result) -> None:
    index = [100, 110, 120, 115, 90, 60, 66, 70, 72, 75]
    gold = [50, 51, 52, 53, 54, 50, 48.6, 49, 52, 53]
    fair = [50, 50, 50, 50, 50, 50, 50.5, 50, 50, 50]
    paths = {("INDEX", "last"): index, ("GOLD", "last"): gold, ("GOLD", "fair"): fair}
    r = _with_paths(base, paths)
    m = haven_selling(r, "GOLD", calm=(0, 3), stress=(4, 8))
    assert m["risk_drawdown"] == pytest.approx(60 / 120 - 1)
    assert m["risk_worst_day"] == pytest.approx(60 / 90 - 1)
    assert m["haven_premium_before"] == pytest.approx(53 / 50 - 1)
    assert m["haven_fall"] == pytest.approx(48.6 / 53 - 1)
    assert m["haven_low_day"] == 6
    assert m["haven_fair_change"] == pytest.approx(50.5 / 50 - 1)
    assert m["haven_premium_min"] == pytest.approx(48.6 / 50.5 - 1)
    assert m["haven_premium_min_day"] == 6


def test_the_deepest_discount_and_the_low_part_when_the_value_falls(base: Result) -> None:
    """A value that keeps falling after the selling: the price's lowest close
    (day 7) comes after its deepest discount (day 5), found by a plain scan."""
    index = [100, 110, 120, 115, 90, 60, 66, 70, 72, 75]
    gold = [50, 50, 50, 50, 49, 44, 45, 43, 44, 45]
    fair = [50, 50, 50, 50, 49.5, 48, 47, 44, 44, 45]
    paths = {("INDEX", "last"): index, ("GOLD", "last"): gold, ("GOLD", "fair"): fair}
    r = _with_paths(base, paths)
    m = haven_selling(r, "GOLD", calm=(0, 3), stress=(4, 9))
    gaps = {day: gold[day] / fair[day] - 1 for day in range(4, 9)}
    assert m["haven_low_day"] == min(range(4, 9), key=lambda d: gold[d]) == 7
    assert m["haven_premium_min_day"] == min(gaps, key=gaps.__getitem__) == 5
    assert m["haven_premium_min"] == pytest.approx(min(gaps.values()))
    assert m["haven_fair_change"] == pytest.approx(44 / 50 - 1)


def test_correlation_of_returns_in_each_window(base: Result) -> None:
    rng = np.random.default_rng(3)
    steps = len(base.series)
    common = rng.normal(0, 1e-3, steps)
    own = rng.normal(0, 1e-3, steps)
    # Unrelated in days 0-4, moving together in days 5-9.
    together = np.where(np.arange(steps) < 5 * DAY, own, common)
    series = base.series.copy()
    series[("INDEX", "last")] = 1000 * np.exp(np.cumsum(common))
    series[("GOLD", "last")] = 500 * np.exp(np.cumsum(together))
    r = dc.replace(base, series=series)
    m = haven_selling(r, "GOLD", calm=(0, 5), stress=(5, 10), return_hours=1)
    hourly = 12
    x = np.diff(np.log(series[("INDEX", "last")].to_numpy()[5 * DAY : 10 * DAY : hourly]))
    y = np.diff(np.log(series[("GOLD", "last")].to_numpy()[5 * DAY : 10 * DAY : hourly]))
    assert m["correlation_stress"] == pytest.approx(pd.Series(x).corr(pd.Series(y)))
    assert m["correlation_stress"] > 0.95
    assert abs(m["correlation_calm"]) < 0.3


def test_bad_input_is_rejected(base: Result) -> None:
    with pytest.raises(TypeError, match="result: must be a Result"):
        haven_selling("x", "GOLD", calm=(0, 3), stress=(4, 8))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="haven: must be one of"):
        haven_selling(base, "OIL", calm=(0, 3), stress=(4, 8))
    with pytest.raises(ValueError, match="risk: must differ from haven"):
        haven_selling(base, "GOLD", risk="GOLD", calm=(0, 3), stress=(4, 8))
    with pytest.raises(ValueError, match=r"stress\[0\]: must be \[1, 9\]"):
        haven_selling(base, "GOLD", calm=(0, 3), stress=(0, 8))
    with pytest.raises(ValueError, match=r"stress\[1\]: must be \[5, 10\]"):
        haven_selling(base, "GOLD", calm=(0, 3), stress=(4, 11))
    with pytest.raises(ValueError, match="calm: must be a"):
        haven_selling(base, "GOLD", calm=3, stress=(4, 8))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="return_hours: must be"):
        haven_selling(base, "GOLD", calm=(0, 3), stress=(4, 8), return_hours=0)
