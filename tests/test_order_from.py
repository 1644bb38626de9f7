"""``Scenario.order_from``: the position a due trader's order is sized from.

Fills settle in the ledger at the end of a step, so a trader whose resting
orders trade earlier in the step it acts again in decides on a position it no
longer holds. Sized from that opening position (``"opening"``, the default) its
new order can take it past its target; sized from the opening position plus
what its resting orders traded (``"current"``) it ends where it aimed.

Oracle: each account's position replayed trade by trade from the trade log. A
value trader with ``side = "short"`` decides on targets at or below zero
(tests/test_decision_kernels.py), so with ``"current"`` it never holds a long;
the same world with ``"opening"`` crosses in some seeds, so the check can fail.
The world: the default one with value traders deep enough ($100M each) that
their limit orders rest and trade between their decisions a second apart.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from deleverage.result import Result
from deleverage.scenario import Distribution, Scenario, from_toml_str, to_toml_str
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

SEEDS = range(8)


def _world(side: str, order_from: str) -> Scenario:
    s = load_preset("default-hour").replace(targets=(), order_from=order_from)
    pops = []
    for p in s.populations:
        if p.name == "value":
            assert p.params is not None
            params = dataclasses.replace(
                p.params, side=side, aggressiveness=30.0, vol_exit=3.0, vol_reference=1.0
            )
            cash = Distribution("lognormal", median=1e8, sigma=0.3)
            p = dataclasses.replace(p, cash=cash, params=params)
        pops.append(p)
    return s.replace(populations=tuple(pops))


def _positions(r: Result, name: str) -> np.ndarray:
    """Every account's position of the population after each of its trades."""
    assert r.trades is not None
    first = 0
    for p in r.scenario.populations:
        if p.name == name:
            break
        first += p.accounts
    end = first + p.accounts
    held = np.zeros(end - first, dtype=np.int64)
    after = []
    buyer = r.trades["buyer"].to_numpy().astype(np.int64)
    seller = r.trades["seller"].to_numpy().astype(np.int64)
    for b, s, q in zip(buyer, seller, r.trades["qty"].to_numpy(), strict=True):
        for account, signed in ((b, q), (s, -q)):
            if first <= account < end:
                held[account - first] += signed
                after.append(held[account - first])
    return np.asarray(after, dtype=np.int64)


@pytest.mark.parametrize(("side", "sign"), [("short", 1), ("long", -1)])
def test_one_sided_traders_stay_on_their_side_when_orders_count_resting_fills(
    side: str, sign: int
) -> None:
    crossed = {}
    for order_from in ("opening", "current"):
        crossed[order_from] = []
        for seed in SEEDS:
            r = simulate(_world(side, order_from), seed, trade_log=True, progress=False)
            after = _positions(r, "value")
            assert (sign * after < 0).any(), (order_from, seed)  # they trade their side
            crossed[order_from].append(int((sign * after > 0).sum()))
            assert r.conservation_error < 1e-12
    assert crossed["current"] == [0] * len(SEEDS)
    assert sum(crossed["opening"]) > 0  # the race the default leaves in


def test_the_default_sizes_orders_from_the_opening_position() -> None:
    s = load_preset("default-hour")
    assert s.order_from == "opening"
    assert simulate(s, 3).series.equals(simulate(s.replace(order_from="opening"), 3).series)
    counted = simulate(s.replace(order_from="current"), 3)
    assert counted.conservation_error < 1e-12


def test_counting_resting_fills_is_deterministic_on_any_threads() -> None:
    world = _world("both", "current")
    one = simulate(world, 5, trade_log=True, progress=False)
    two = simulate(world, 5, trade_log=True, progress=False, threads=2)
    assert one.series.equals(two.series)
    assert one.trades is not None
    assert two.trades is not None
    assert one.trades.equals(two.trades)


def test_order_from_round_trips_and_bad_values_name_the_field() -> None:
    s = load_preset("default-hour").replace(order_from="current")
    assert from_toml_str(to_toml_str(s)).order_from == "current"
    with pytest.raises(ValueError, match=r"^order_from: must be one of opening, current"):
        s.replace(order_from="latest")
    with pytest.raises((TypeError, ValueError), match=r"^order_from:"):
        s.replace(order_from=1)
