"""Dealers who quote around fair value times the basis their book trades at.

Oracle: a plain-Python replay of the dealers' rule from the recorded series.
With ``basis_horizon`` the basis is the exponential average (weight
``2 / (horizon / dt + 1)`` a step) of log(last / fair), and the dealers' best
quotes at step t are ``floor(fair_t exp(b_{t-1}) - base)`` and
``ceil(fair_t exp(b_{t-1}) + base)`` ticks (no inventory lean, no volatility
widening in this world). Noise traders of a persistent mood push the basis far
from zero, so a replay that forgot it would miss by many ticks. While both
dealers are out (the recorded ``active_makers`` is 0) the average takes the
book's own basis at once, or with ``basis_out_horizon`` its weight over that
horizon.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from dealer_world import BASE, TICK, dealer_world, plain_dealers
from deleverage import _core
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


def _replay_quotes(
    series: Any, horizon: float, out_horizon: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best bid and ask the rule gives at each step after the first, and
    whether the dealers are in there (``series``: a run's series of X)."""
    last = series["last"].to_numpy() / TICK
    fair = series["fair"].to_numpy() / TICK
    out = series["active_makers"].to_numpy() == 0
    alpha = 2.0 / (horizon + 1.0)
    out_alpha = 2.0 / (out_horizon + 1.0) if out_horizon > 0 else 1.0
    basis = np.zeros(len(last))
    b = 0.0
    for t in range(len(last)):
        b += (out_alpha if out[t] else alpha) * (math.log(last[t] / fair[t]) - b)
        basis[t] = b
    centre = fair[1:] * np.exp(basis[:-1])
    return np.floor(centre - BASE), np.ceil(centre + BASE), ~out[1:]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("out_horizon", [0.0, 60.0])
def test_out_of_the_market_the_basis_is_the_books_own_or_its_average(
    seed: int, out_horizon: float
) -> None:
    # Dealers who pull above 30% volatility and come back after 30 calm steps:
    # out several times in 5,000 steps, while nothing trades (only they quote).
    world = dealer_world(
        "basis_out",
        plain_dealers(
            basis_horizon=120.0,
            basis_out_horizon=out_horizon,
            inventory_limit=2**40,
            vol_withdraw=0.3,
            calm_steps=30,
        ),
        NoiseParams(sentiment_persistence=0.999, sentiment_volatility=0.1),
        dealer_accounts=2,
        steps=5000,
    )
    s = simulate(world, seed, progress=False).series["X"]
    active = s["active_makers"].to_numpy()
    assert np.sum(active == 0) >= 30
    assert set(np.unique(active)) <= {0.0, 2.0}  # out together
    bid = s["best_bid"].to_numpy()[1:] / TICK
    ask = s["best_ask"].to_numpy()[1:] / TICK
    want_bid, want_ask, dealers_in = _replay_quotes(s, 120.0, out_horizon)
    assert np.abs(bid - want_bid)[dealers_in].max() <= 1.0 + 1e-6
    assert np.abs(ask - want_ask)[dealers_in].max() <= 1.0 + 1e-6
    # The rule while out mattered: the other one misses where they came back.
    other_bid, _, _ = _replay_quotes(s, 120.0, 60.0 if out_horizon == 0 else 0.0)
    assert np.abs(bid - other_bid)[dealers_in].max() >= 2.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1.0, r"must be in \[0.0, 1000000000.0\]"),
        (2e9, r"must be in \["),
        (math.nan, "must be finite"),
    ],
)
def test_bad_basis_out_horizon_names_the_field(value: float, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^basis_out_horizon: {message}"):
        MarketMakerParams(basis_out_horizon=value)


def test_the_engine_refuses_a_bad_basis_out_alpha_naming_the_field() -> None:
    m = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4)
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match=r"^basis_out_alpha: must be in \[0, 1\]"):
            _core.maker_quotes(_core.MarketMakerSpec(basis_out_alpha=bad), m, 0, 1, 0.1)


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
