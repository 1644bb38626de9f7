"""Dealers whose depth follows the flow they face (``flow_horizon``,
``flow_depth``): each level quotes at least ``flow_depth`` times their
exponential average of the lots traded on their book a step, and never less
than its own size.

Oracle: a replay from the recorded series and the trade log. One dealer faces
noise traders who send market orders only, so the book holds nothing but its
ladder: what it quoted on a side at a step is what stood there at the step's
end (the recorded depth within 1% of the mid, which spans the whole ladder)
plus what traded against that side during the step. A plain-Python average of
the recorded volume gives the size it should have quoted, step by step.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dealer_world import dealer_world, plain_dealers
from deleverage.engine_spec import alpha
from deleverage.scenario import Distribution, MarketMakerParams, NoiseParams, Scenario
from deleverage.simulate import simulate

TRADERS = 300
DEALER = TRADERS  # the account after the noise traders
LEVELS = 2
BASE_LOTS = 10


def _world(flow_horizon: float, flow_depth: float) -> Scenario:
    return dealer_world(
        "flow",
        plain_dealers(
            levels=LEVELS,
            depth_lots=Distribution.fixed(BASE_LOTS),
            inventory_limit=10**9,  # the room never binds: both sides are always quoted
            flow_horizon=flow_horizon,
            flow_depth=flow_depth,
        ),
        NoiseParams(
            sentiment_persistence=0.999, sentiment_volatility=0.05, sentiment_position=20.0
        ),
        traders=TRADERS,
        trader_activity=60.0,
        steps=2_000,
    )


def _quoted(result: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lots the dealer quoted on the bid and the ask side at each step, and each step's volume."""
    s, trades = result.series["X"], result.trades  # type: ignore[attr-defined]
    assert trades is not None
    bought = np.where(trades["buyer"] == DEALER, trades["qty"], 0)
    sold = np.where(trades["seller"] == DEALER, trades["qty"], 0)
    assert np.all((bought > 0) | (sold > 0))  # every trade is the dealer's
    stamp = np.round(trades["time"].to_numpy()).astype(int)
    n = len(s)
    bid_hit = np.bincount(stamp, weights=bought, minlength=n)[:n]
    ask_hit = np.bincount(stamp, weights=sold, minlength=n)[:n]
    bids = s["depth_bid"].to_numpy() + bid_hit
    asks = s["depth_ask"].to_numpy() + ask_hit
    return bids, asks, s["volume"].to_numpy()


def _plain_sizes(volume: np.ndarray, flow_horizon: float, flow_depth: float) -> np.ndarray:
    """The size of each step's levels: set before the step trades, on the
    average after the step before (the average starts at zero)."""
    a = alpha(flow_horizon, 1.0)
    flow = 0.0
    out = np.empty(len(volume))
    for t, v in enumerate(volume):
        out[t] = max(BASE_LOTS, math.floor(flow_depth * flow + 0.5)) if flow > 0 else BASE_LOTS
        flow += a * (v - flow)
    return out


@pytest.mark.parametrize(("seed", "horizon", "depth"), [(0, 120.0, 3.0), (1, 600.0, 1.5)])
def test_each_level_quotes_flow_depth_times_the_average_volume(
    seed: int, horizon: float, depth: float
) -> None:
    result = simulate(_world(horizon, depth), seed, trade_log=True, progress=False)
    bids, asks, volume = _quoted(result)
    size = _plain_sizes(volume, horizon, depth)
    assert np.array_equal(bids, LEVELS * size)
    assert np.array_equal(asks, LEVELS * size)
    # The flow sets the depth, not the floor: well above it and moving with the flow.
    later = slice(len(size) // 4, None)
    assert np.median(size[later]) > 3 * BASE_LOTS
    assert len(np.unique(size[later])) > 5


def test_without_a_horizon_the_depth_is_the_size_alone() -> None:
    result = simulate(_world(0.0, 3.0), 0, trade_log=True, progress=False)
    bids, asks, _ = _quoted(result)
    assert np.all(bids == LEVELS * BASE_LOTS)
    assert np.all(asks == LEVELS * BASE_LOTS)


def test_the_depth_is_never_under_the_levels_own_size() -> None:
    # A flow_depth so small the average never reaches the size: the size stands.
    result = simulate(_world(120.0, 1e-6), 0, trade_log=True, progress=False)
    bids, asks, _ = _quoted(result)
    assert np.all(bids == LEVELS * BASE_LOTS)
    assert np.all(asks == LEVELS * BASE_LOTS)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("flow_depth", -1.0, "[0.0, 1000000.0]"),
        ("flow_depth", 2e6, "1000000.0]"),
        ("flow_depth", math.nan, "flow_depth"),
        ("flow_horizon", -5.0, "[0"),
        ("flow_horizon", math.inf, "flow_horizon"),
    ],
)
def test_bad_flow_settings_name_the_field_and_its_range(
    field: str, value: float, allowed: str
) -> None:
    with pytest.raises(ValueError, match=field) as err:
        MarketMakerParams(**{field: value})  # type: ignore[arg-type]
    assert allowed in str(err.value)
