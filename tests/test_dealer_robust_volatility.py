"""``MarketMakerParams.robust_volatility``: dealers who judge a storm by a
jump-robust volatility, the bipower variation of five-minute returns.

Oracle: both volatilities rebuilt in plain Python from the recorded last
prices (the engine's exponential average of squared five-minute log returns,
whose rebuild must match the recorded ``volatility`` column, and the same
average of ``pi / 2 * |r_t| * |r_{t - 10 min}|``). A dealer that is in the
market and leaves at a step (its loss limit out of reach) left because the
volatility its decision saw, the one after the step before, was over its
limit, which is never under ``vol_withdraw``. So with the option, every fall
in the number of active dealers comes after a step whose rebuilt robust
volatility is over ``vol_withdraw``; the same world without it has falls that
the robust measure would not have made, so the check can fail. A lone stray
print moves the squared measure far more than the robust one (checked on a
made-up path), and a world without the field runs as before it existed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deleverage.result import Result
from deleverage.scenario import Scenario
from deleverage.scenario.populations import MarketMakerParams
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths

YEAR = 365.0 * 86400.0
RETURN_SECONDS = 300.0
WITHDRAW = 0.4
SEEDS = range(4)


def volatilities(last: np.ndarray, start: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The realized volatility after each step, squared and robust (annualised)."""
    h = max(1, round(RETURN_SECONDS / dt))
    w = 2.0 / (max(10.0, RETURN_SECONDS / dt) + 1.0)
    prices = [start] * h
    returns = [0.0] * (2 * h)
    variance = robust = 0.0
    squared, bipower = np.empty(len(last)), np.empty(len(last))
    for t, price in enumerate(last):
        r = math.log(price / prices[t % h])
        prices[t % h] = price
        variance += w * (r * r / h - variance)
        robust += w * (math.pi / 2.0 * abs(r) * abs(returns[t % (2 * h)]) / h - robust)
        returns[t % (2 * h)] = r
        squared[t] = math.sqrt(variance * YEAR / dt)
        bipower[t] = math.sqrt(robust * YEAR / dt)
    return squared, bipower


def _world(robust: bool) -> Scenario:
    """default-hour with dealers out above WITHDRAW and never for their losses."""
    s = load_preset("default-hour").replace(targets=(), quiet_window=())
    base = "populations.market_makers.params."
    return apply_paths(
        s,
        {
            base + "robust_volatility": robust,
            base + "vol_withdraw": WITHDRAW,
            base + "loss_withdraw": 1.0,
        },
    )


def _departures(r: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The steps at which the number of active dealers fell, and the two rebuilt
    volatilities after each step."""
    instrument = r.scenario.instruments[0]
    gold = r.series[instrument.name]
    last = gold["last"].to_numpy()
    squared, bipower = volatilities(last, instrument.start_price, r.scenario.clock.dt)
    np.testing.assert_allclose(squared, gold["volatility"].to_numpy(), rtol=1e-9, atol=1e-12)
    active = gold["active_makers"].to_numpy()
    falls = np.flatnonzero(active[1:] < active[:-1]) + 1
    return falls, squared, bipower


def test_dealers_leave_only_when_the_robust_volatility_is_over_their_limit() -> None:
    departures = 0
    for seed in SEEDS:
        falls, _, bipower = _departures(simulate(_world(True), seed, progress=False))
        departures += len(falls)
        assert (bipower[falls - 1] > WITHDRAW).all(), seed
    assert departures > 0


def test_dealers_on_squared_returns_leave_where_the_robust_measure_stays_under() -> None:
    """The same world without the option: some departures follow a step the
    robust measure puts under the limit (the check above can fail)."""
    early = 0
    for seed in SEEDS:
        falls, squared, bipower = _departures(simulate(_world(False), seed, progress=False))
        assert (squared[falls - 1] > WITHDRAW).all(), seed
        early += int(np.sum(bipower[falls - 1] <= WITHDRAW))
    assert early > 0


def test_a_lone_print_counts_little() -> None:
    """A made-up path, flat but for one print 2% away: the squared measure jumps
    well past the robust one, which a run of such moves still lifts in full."""
    dt, n = 60.0, 200
    flat = np.full(n, 2_000.0)
    spike = flat.copy()
    spike[100] = 2_040.0
    squared, bipower = volatilities(spike, 2_000.0, dt)
    assert squared[100:110].max() > 1.0
    assert bipower[100:110].max() < 0.3 * squared[100:110].max()
    storm = 2_000.0 * np.exp(np.cumsum(np.where(np.arange(n) >= 100, 0.01, 0.0)))
    squared, bipower = volatilities(storm, 2_000.0, dt)
    assert bipower[130] > 0.8 * squared[130]


def test_off_by_default_and_the_world_runs_as_before() -> None:
    assert MarketMakerParams().robust_volatility is False
    plain = simulate(_world(False), 1, progress=False)
    base = "populations.market_makers.params."
    unset = load_preset("default-hour").replace(targets=(), quiet_window=())
    unset = apply_paths(unset, {base + "vol_withdraw": WITHDRAW, base + "loss_withdraw": 1.0})
    assert plain.series.equals(simulate(unset, 1, progress=False).series)


@pytest.mark.parametrize("value", [1, "yes", None])
def test_a_bad_flag_is_refused_by_name(value: object) -> None:
    with pytest.raises(TypeError, match="robust_volatility"):
        MarketMakerParams(robust_volatility=value)  # type: ignore[arg-type]
