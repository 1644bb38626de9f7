"""Value traders who wait out a storm (``ValueParams.calm_after``).

Oracle: the recorded realized volatility. A value trader deciding at step t is
out when volatility was at or above ``vol_exit`` at any of the ``calm_steps``
steps before (the volatility it sees at t is the one recorded at t - 1). Out
and holding, it sends no order, so it is never the aggressor of a trade in
those steps; without the wait it trades in some of them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from deleverage.scenario import Scenario, ValueParams
from deleverage.simulate import simulate

CALM_AFTER = 120.0  # seconds: 120 one-second steps


def _world(base: Scenario, calm_after: float) -> Scenario:
    pops = tuple(
        dataclasses.replace(
            p,
            params=dataclasses.replace(p.params, hold_when_out=True, calm_after=calm_after),
        )
        if isinstance(p.params, ValueParams)
        else p
        for p in base.populations
    )
    return base.replace(populations=pops)


def _value_accounts(scenario: Scenario) -> tuple[int, int]:
    first = 0
    for p in scenario.populations:
        if isinstance(p.params, ValueParams):
            return first, first + p.accounts
        first += p.accounts
    raise AssertionError("no value population")


def _aggressor_steps(result, lo: int, hi: int) -> np.ndarray:
    """Steps in which a value trader's own order traded on arrival."""
    t = result.trades
    buyer = (t["aggressor"] == "buy") & t["buyer"].between(lo, hi - 1)
    seller = (t["aggressor"] == "sell") & t["seller"].between(lo, hi - 1)
    steps = (t["time"][buyer | seller] / result.scenario.clock.dt).round()
    return np.unique(steps.astype(np.int64))


def _out_steps(result, vol_exit: float, calm_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(out by the wait, out by the volatility of the moment) for each step."""
    vol = result.series[("GOLD", "volatility")].to_numpy()
    stormy = vol >= vol_exit
    seen = np.concatenate([[False], stormy[:-1]])  # what a decision at t sees
    window = np.zeros_like(stormy)
    for lag in range(1, calm_steps + 1):
        window[lag:] |= stormy[:-lag]
    return window, seen


@pytest.mark.parametrize("seed", [0, 2])
def test_no_orders_while_the_market_settles(stormy_hour: Scenario, seed: int) -> None:
    waiting = _world(stormy_hour, CALM_AFTER)
    lo, hi = _value_accounts(waiting)
    params = next(p.params for p in waiting.populations if isinstance(p.params, ValueParams))
    calm_steps = round(CALM_AFTER / waiting.clock.dt)

    r = simulate(waiting, seed, trade_log=True)
    window, _ = _out_steps(r, params.vol_exit, calm_steps)
    traded = _aggressor_steps(r, lo, hi)
    assert len(traded) > 10  # they trade outside storms
    assert window.sum() > calm_steps  # the run has a storm
    assert not window[traded].any()

    # Without the wait they are back at the first calm step: some of their trades
    # fall in steps the wait would have kept them out of (the test can fail).
    eager = simulate(_world(stormy_hour, 0.0), seed, trade_log=True)
    window0, seen0 = _out_steps(eager, params.vol_exit, calm_steps)
    traded0 = _aggressor_steps(eager, lo, hi)
    assert not seen0[traded0].any()  # the volatility of the moment still holds
    assert (window0[traded0] & ~seen0[traded0]).any()


def test_calm_after_is_validated() -> None:
    with pytest.raises(ValueError, match="calm_after"):
        ValueParams(calm_after=-1.0)
    with pytest.raises(ValueError, match="calm_after"):
        ValueParams(calm_after=float("nan"))
    with pytest.raises(TypeError, match="hold_to_fair"):
        ValueParams(hold_to_fair="yes")  # type: ignore[arg-type]
