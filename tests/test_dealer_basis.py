"""Dealers who quote around fair value times the basis their book trades at.

Oracle: a plain-Python replay of the dealers' rule from the recorded series.
With ``basis_horizon`` the basis is the exponential average (weight
``2 / (horizon / dt + 1)`` a step) of log(last / fair), and the dealers' best
quotes at step t are ``floor(fair_t exp(b_{t-1}) - base)`` and
``ceil(fair_t exp(b_{t-1}) + base)`` ticks (no inventory lean, no volatility
widening in this world). Noise traders of a persistent mood push the basis far
from zero, so a replay that forgot it would miss by many ticks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dealer_world import BASE, TICK, dealer_world, plain_dealers
from deleverage.scenario import (
    MarketMakerParams,
    NoiseParams,
    Scenario,
)
from deleverage.simulate import simulate


def _world(basis_horizon: float, max_basis: float = math.inf) -> Scenario:
    return dealer_world(
        "basis",
        plain_dealers(basis_horizon=basis_horizon, max_basis=max_basis, inventory_limit=2**40),
        NoiseParams(sentiment_persistence=0.999, sentiment_volatility=0.1),
        dealer_accounts=2,
        steps=5000,
    )


@pytest.mark.parametrize(("seed", "bound"), [(0, math.inf), (1, math.inf), (0, 0.004)])
def test_quotes_follow_fair_value_times_the_basis(seed: int, bound: float) -> None:
    horizon = 120.0
    s = simulate(_world(horizon, bound), seed, progress=False).series["X"]
    last = s["last"].to_numpy() / TICK
    fair = s["fair"].to_numpy() / TICK
    alpha = 2.0 / (horizon / 1.0 + 1.0)
    basis = np.zeros(len(last))
    b = 0.0
    for t in range(len(last)):
        b += alpha * (np.log(last[t] / fair[t]) - b)
        basis[t] = b
    centre = fair[1:] * np.exp(np.clip(basis[:-1], -bound, bound))
    bid = s["best_bid"].to_numpy()[1:] / TICK
    ask = s["best_ask"].to_numpy()[1:] / TICK
    # Within a tick of the replay (prices cross the engine and back as floats).
    assert np.abs(bid - np.floor(centre - BASE)).max() <= 1.0 + 1e-6
    assert np.abs(ask - np.ceil(centre + BASE)).max() <= 1.0 + 1e-6
    # The basis mattered: quoting around fair value alone misses by many ticks
    # (and, bounded, the bound held: 0.4% of 100 is 40 ticks).
    miss = np.abs(bid - np.floor(fair[1:] - BASE)).max()
    assert miss > 20
    if bound < 1:
        assert miss <= bound * fair.max() + 2


def test_without_a_basis_the_book_stays_at_fair_value_and_with_one_flow_holds_a_premium() -> None:
    def mispricing(horizon: float) -> float:
        s = simulate(_world(horizon), 0, progress=False).series["X"]
        return float(np.abs(s["last"] / s["fair"] - 1.0).max())

    at_fair = mispricing(0.0)
    assert at_fair < (BASE + 2) * TICK / 90.0  # a few ticks at most
    assert mispricing(120.0) > 5 * at_fair


@pytest.mark.parametrize("value", [-1.0, 2e9])
def test_bad_basis_horizon_names_the_field(value: float) -> None:
    with pytest.raises(ValueError, match=r"basis_horizon: must be in \[0.0, 1000000000.0\]"):
        MarketMakerParams(basis_horizon=value)


def test_bad_max_basis_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"max_basis: must be in \(0.0, inf\]"):
        MarketMakerParams(max_basis=0.0)
