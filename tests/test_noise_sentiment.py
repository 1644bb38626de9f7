"""Noise traders' mood: a persistent sentiment makes their order flow
autocorrelated (the noise demand of leverage-cycle models); without it, buys
and sells are independent. With ``sentiment_position`` the mood sets their
holdings instead: positions stay around the mood's, as a plain model of one
trader's orders says they should."""

from __future__ import annotations

import numpy as np
import pytest

from deleverage import MarginRule
from deleverage.scenario import (
    Clock,
    Distribution,
    Fundamental,
    InstrumentSpec,
    MarketMakerParams,
    NoiseParams,
    Population,
    Scenario,
)
from deleverage.simulate import simulate

ORDER_SIZE = Distribution.uniform(1, 10)


def _world(
    persistence: float,
    volatility: float,
    position: float = 0.0,
    order_size: Distribution = ORDER_SIZE,
    limit_share: float = 0.3,
) -> Scenario:
    instrument = InstrumentSpec(
        "X",
        100.0,
        tick_size=0.01,
        mark="mid",
        margin=MarginRule(initial_rate=0.01, maintenance_rate=0.004),
        fundamental=Fundamental(volatility=0.0),
    )
    noise = NoiseParams(
        order_size=order_size,
        limit_share=limit_share,
        limit_offset_ticks=20,
        sentiment_persistence=persistence,
        sentiment_volatility=volatility,
        sentiment_position=position,
    )
    dealers = MarketMakerParams(
        levels=5,
        depth_lots=Distribution.fixed(50.0),
        vol_withdraw=100.0,
        loss_withdraw=1.0,
        fair_weight=0.0,
        inventory_limit=1_000_000,
    )
    populations = (
        Population("noise", "noise", 500, "X", Distribution.fixed(1e6), 120.0, params=noise),
        Population(
            "dealers", "market_maker", 2, "X", Distribution.fixed(1e8), 3600.0, "cross", dealers
        ),
    )
    return Scenario("mood", (instrument,), populations, clock=Clock(dt=1.0, steps=7200))


def _flow_autocorrelation(world: Scenario, seed: int) -> float:
    """Lag-one autocorrelation of the per-minute net aggressive volume."""
    trades = simulate(world, seed, trade_log=True).trades
    assert trades is not None
    signed = np.where(trades["aggressor"] == "buy", 1.0, -1.0) * trades["qty"].to_numpy()
    minute = (trades["time"].to_numpy() // 60).astype(int)
    flow = np.bincount(minute, weights=signed, minlength=120)
    return float(np.corrcoef(flow[:-1], flow[1:])[0, 1])


def test_a_persistent_mood_makes_order_flow_autocorrelated() -> None:
    # Measured: 0.74, 0.68, 0.36 with the mood; -0.01, 0.07, 0.04 without.
    moody = [_flow_autocorrelation(_world(0.995, 0.01), seed) for seed in range(3)]
    calm = [_flow_autocorrelation(_world(0.0, 0.0), seed) for seed in range(3)]
    assert min(moody) > 0.25
    assert max(abs(x) for x in calm) < 0.15


def test_a_held_mood_moves_holdings_not_the_flow() -> None:
    # A slow mood (half-life about 2 h). Tilting the flow, it keeps the flow going
    # one way for hours; setting holdings, the flow only moves as the mood does.
    # Measured: 0.91, 0.86, 0.35, 0.53 tilting; 0.10, 0.09, -0.10, -0.17 holding.
    tilting = [_flow_autocorrelation(_world(0.9999, 0.003), seed) for seed in range(4)]
    held = [_flow_autocorrelation(_world(0.9999, 0.003, position=20.0), seed) for seed in range(4)]
    assert min(tilting) > 0.25
    assert max(abs(x) for x in held) < 0.2


def _plain_positions(mean: float, decisions: int, traders: int, seed: int) -> np.ndarray:
    """One trader's orders as the kernel's rule states it, with no mood (wanted 0):
    each order is a buy with probability 1/2 + clamp(-held / (2 mean), +-1/2),
    of max(1, round(2 mean u)) lots."""
    rng = np.random.default_rng(seed)
    held = np.zeros(traders)
    for _ in range(decisions):
        buy = 0.5 + np.clip(-held / (2.0 * mean), -0.5, 0.5)
        side = np.where(rng.uniform(size=traders) < buy, 1.0, -1.0)
        held += side * np.maximum(1.0, np.floor(2.0 * mean * rng.uniform(size=traders) + 0.5))
    return held


def test_held_positions_stay_around_the_moods() -> None:
    # No mood at all: with sentiment_position the wanted holding is 0, so each
    # trader's position is a walk pulled back to 0, with the spread the plain
    # model of its orders gives; without it, positions wander as a random walk.
    world = _world(0.0, 0.0, position=10.0, order_size=Distribution.fixed(5.0), limit_share=0.0)
    states = simulate(world, 3, account_states=True).account_states
    assert states is not None
    noise = states[states["population"] == "noise"]["position_X"].to_numpy()
    plain = _plain_positions(5.0, 240, 20_000, seed=1)  # 240 decisions: 2 h at 120 / h
    assert abs(noise.mean()) < 4.0 * plain.std() / np.sqrt(len(noise))
    assert noise.std() == pytest.approx(plain.std(), rel=0.15)
    free = simulate(_world(0.0, 0.0, order_size=Distribution.fixed(5.0), limit_share=0.0), 3,
                    account_states=True).account_states  # fmt: skip
    assert free is not None
    assert free[free["population"] == "noise"]["position_X"].std() > 4.0 * plain.std()


def test_mood_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match=r"^sentiment_persistence: must be in \[0\.0, 1\.0\)"):
        NoiseParams(sentiment_persistence=1.0)
    with pytest.raises(ValueError, match=r"^sentiment_volatility: must be in \[0\.0, 10\.0\]"):
        NoiseParams(sentiment_volatility=-0.1)
    with pytest.raises(ValueError, match=r"^sentiment_volatility: "):
        NoiseParams(sentiment_volatility=float("nan"))
    with pytest.raises(ValueError, match=r"^sentiment_position: must be in \[0\.0, 10+\.0\]"):
        NoiseParams(sentiment_position=-1.0)
