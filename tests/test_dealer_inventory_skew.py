"""Dealers who price inventory: with ``inventory_skew`` their quotes centre on
``anchor * (1 - inventory_skew * inventory / inventory_limit)``.

Oracle: a plain-Python replay from the trade log. One dealer faces noise traders
who send market orders only, so every trade is against the dealer and its
inventory at each step is the running sum of its fills; the best quotes of the
step are then ``floor(centre - base)`` and ``ceil(centre + base)`` ticks around
fair value (``fair_weight = 1``, no volatility widening). The noise traders'
mood sets their holdings, so the dealer carries thousands of lots and a replay
that ignored the skew would miss by tens of ticks.
"""

from __future__ import annotations

import numpy as np
import pytest

from dealer_world import BASE, TICK, dealer_world, plain_dealers
from deleverage.scenario import (
    MarketMakerParams,
    NoiseParams,
    Scenario,
)
from deleverage.simulate import simulate

LIMIT = 100_000
DEALER = 500  # the account after the 500 noise traders


def _world(skew: float) -> Scenario:
    return dealer_world(
        "skew",
        plain_dealers(inventory_limit=LIMIT, inventory_skew=skew),
        NoiseParams(
            sentiment_persistence=0.9999, sentiment_volatility=0.01, sentiment_position=50.0
        ),
    )


@pytest.mark.parametrize(("seed", "skew"), [(0, 0.02), (1, 0.05)])
def test_quotes_move_with_the_dealers_inventory(seed: int, skew: float) -> None:
    result = simulate(_world(skew), seed, trade_log=True, progress=False)
    s, trades = result.series["X"], result.trades
    assert trades is not None
    bought = np.where(trades["buyer"] == DEALER, trades["qty"], 0)
    sold = np.where(trades["seller"] == DEALER, trades["qty"], 0)
    assert np.all((bought > 0) | (sold > 0))  # every trade is the dealer's
    stamp = np.round(trades["time"].to_numpy()).astype(int)
    held = np.cumsum(np.bincount(stamp, weights=bought - sold, minlength=len(s) + 1))
    # Row t's quotes were set before the trades stamped t: with the inventory of
    # every trade stamped up to t - 1.
    before = np.concatenate(([0.0], held[: len(s) - 1]))
    fair = s["fair"].to_numpy() / TICK
    centre = fair - before / LIMIT * (skew * fair)
    bid = s["best_bid"].to_numpy() / TICK
    ask = s["best_ask"].to_numpy() / TICK
    # Within a tick of the replay (prices cross the engine and back as floats),
    # and exact in nearly every step.
    assert np.abs(bid - np.floor(centre - BASE)).max() <= 1.0
    assert np.abs(ask - np.ceil(centre + BASE)).max() <= 1.0
    assert np.mean(bid == np.floor(centre - BASE)) > 0.99
    # The skew mattered: quoting around fair value alone misses by many ticks.
    assert np.abs(bid - np.floor(fair - BASE)).max() > 20


def test_without_a_skew_the_lean_is_at_most_half_the_spread() -> None:
    result = simulate(_world(0.0), 0, trade_log=True, progress=False)
    s = result.series["X"]
    fair = s["fair"].to_numpy() / TICK
    bid = s["best_bid"].to_numpy() / TICK
    # floor(fair - lean * BASE - BASE) with |lean| <= 1: within BASE + 1 ticks of fair - BASE.
    assert np.abs(bid - np.floor(fair - BASE)).max() <= BASE + 1


@pytest.mark.parametrize("value", [-0.1, 0.6, float("nan")])
def test_bad_inventory_skew_names_the_field(value: float) -> None:
    with pytest.raises(ValueError, match=r"^inventory_skew: must be "):
        MarketMakerParams(inventory_skew=value)
    with pytest.raises(ValueError, match=r"^inventory_skew: must be in \[0\.0, 0\.5\]"):
        MarketMakerParams(inventory_skew=0.75)
