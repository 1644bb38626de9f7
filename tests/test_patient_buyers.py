"""Holders who buy under fair value only in calm markets, and one-sided value traders, in a run.

Oracle: a replay of the run's own records. A holder decides on the step's
opening state: the last price and realized volatility recorded at the end of
the step before, the fair value of its own step. So every buy of a holder
with ``anchor = "fair"`` and ``max_volatility`` at step t has
``last[t-1] <= fair[t] * (1 - dip)`` and ``volatility[t-1] <= max_volatility``.
A value trader with ``side = "short"`` never holds a long position: its
position, replayed trade by trade from the trade log, stays at or below zero.
The same worlds without the options break each rule, so the checks can fail.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from deleverage.result import Result
from deleverage.scenario import Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

DIP = 0.0005


def _world(**changes: dict[str, object]) -> Scenario:
    """The default-hour world with each named population's params replaced; its
    holders decide every half minute, so that some of them meet a dip."""
    s = load_preset("default-hour").replace(targets=())
    pops = []
    for p in s.populations:
        assert p.params is not None
        params = dataclasses.replace(p.params, **changes.get(p.name, {}))  # type: ignore[arg-type]
        activity = 120.0 if p.name == "holders" else p.activity
        pops.append(dataclasses.replace(p, params=params, activity=activity))
    return s.replace(populations=tuple(pops))


def _accounts(world: Scenario, name: str) -> tuple[int, int]:
    """The population's account ids, [first, end)."""
    first = 0
    for p in world.populations:
        if p.name == name:
            return first, first + p.accounts
        first += p.accounts
    raise KeyError(name)


def _holder_buys(r: Result) -> np.ndarray:
    """The steps at which a holder bought."""
    assert r.trades is not None
    lo, hi = _accounts(r.scenario, "holders")
    buyer = r.trades["buyer"].to_numpy()
    bought = r.trades[(buyer >= lo) & (buyer < hi)]
    return np.rint(bought["time"].to_numpy() / r.scenario.clock.dt).astype(int)


@pytest.mark.parametrize("seed", [0, 5])
def test_holders_buy_under_fair_value_only_when_calm(seed: int) -> None:
    # Without the gate: where they buy, and a limit that half of those buys break.
    free = simulate(
        _world(holders={"anchor": "fair", "dip": DIP}), seed, trade_log=True, progress=False
    )
    steps = _holder_buys(free)
    assert len(steps) > 0
    assert (steps > 0).all()
    volatility = free.series[("GOLD", "volatility")].to_numpy()
    limit = float(np.median(volatility[steps - 1]))
    assert (volatility[steps - 1] > limit).any()

    gated = {"holders": {"anchor": "fair", "dip": DIP, "max_volatility": limit}}
    r = simulate(_world(**gated), seed, trade_log=True, progress=False)
    steps = _holder_buys(r)
    assert len(steps) > 0
    assert (steps > 0).all()  # the first step has no opening state of its own to decide on
    last = r.series[("GOLD", "last")].to_numpy()
    fair = r.series[("GOLD", "fair")].to_numpy()
    volatility = r.series[("GOLD", "volatility")].to_numpy()
    assert (last[steps - 1] <= fair[steps] * (1.0 - DIP) * (1 + 1e-12)).all()
    assert (volatility[steps - 1] <= limit).all()

    # Measured from their slow average instead (all else the same), they buy
    # above the fair value's dip too.
    average = simulate(
        _world(holders={"dip": DIP, "max_volatility": limit}), seed, trade_log=True, progress=False
    )
    steps = _holder_buys(average)
    fair = average.series[("GOLD", "fair")].to_numpy()
    last = average.series[("GOLD", "last")].to_numpy()
    assert (last[steps - 1] > fair[steps] * (1.0 - DIP)).any()


def _positions(r: Result, name: str) -> np.ndarray:
    """Each account's position after every trade of the population, trade by trade."""
    assert r.trades is not None
    lo, hi = _accounts(r.scenario, name)
    buyer = r.trades["buyer"].to_numpy().astype(np.int64)
    seller = r.trades["seller"].to_numpy().astype(np.int64)
    qty = r.trades["qty"].to_numpy()
    held = np.zeros(hi - lo, dtype=np.int64)
    after = []
    for b, s, q in zip(buyer, seller, qty, strict=True):
        for account, signed in ((b, q), (s, -q)):
            if lo <= account < hi:
                held[account - lo] += signed
                after.append(held[account - lo])
    return np.asarray(after, dtype=np.int64)


@pytest.mark.parametrize("seed", [0, 5])
def test_short_only_value_traders_never_hold_a_long(seed: int) -> None:
    r = simulate(_world(value={"side": "short"}), seed, trade_log=True, progress=False)
    after = _positions(r, "value")
    assert len(after) > 0
    assert (after <= 0).all()
    assert (after < 0).any()
    both = simulate(_world(), seed, trade_log=True, progress=False)
    assert (_positions(both, "value") > 0).any()
    assert r.conservation_error < 1e-12


def test_long_only_value_traders_never_hold_a_short() -> None:
    # Seed 0: without the option they go short; seed 6: the one of 0-9 whose
    # price falls under value while long-only traders are in the market.
    for seed in (0, 6):
        after = _positions(
            simulate(_world(value={"side": "long"}), seed, trade_log=True, progress=False), "value"
        )
        assert (after >= 0).all(), seed
    assert (after > 0).any()
    both = simulate(_world(), 0, trade_log=True, progress=False)
    assert (_positions(both, "value") < 0).any()
