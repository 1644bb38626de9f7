"""Dealers with a value-at-risk budget: above ``var_volatility`` the inventory
they may carry shrinks to ``inventory_limit * var_volatility / volatility``.

Oracles:
- a plain-Python model of one dealer's ladder (spread, lean, the sides quoted
  against the room), checked quote by quote against the engine's own rule
  (``_core.maker_quotes``) over random markets, inventories and budgets;
- a replay from the recorded series and the trade log of a run in which the
  fair value's volatility rises tenfold half-way: one dealer faces noise
  traders who send market orders only, so its inventory is the running sum of
  its fills, and each step's best bid and ask must be there exactly when the
  room the replayed volatility leaves allows them. The room binds in the storm
  and not before, so a replay that ignored it would be wrong in many steps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealer_world import TICK, dealer_world, plain_dealers, plain_ladder
from deleverage import _core
from deleverage.engine_spec import alpha
from deleverage.scenario import (
    Fundamental,
    MarketMakerParams,
    NoiseParams,
    Scenario,
    Shock,
)
from deleverage.simulate import simulate

YEAR = 365.0 * 86400.0


def _room(limit: int, var_volatility: float, volatility: float) -> float:
    if var_volatility <= 0.0 or not volatility > var_volatility:
        return float(limit)
    return limit * (var_volatility / volatility)


FINITE = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=300, deadline=None)
@given(
    levels=st.integers(1, 6),
    base=st.integers(1, 5),
    vsf=st.floats(0.0, 50.0, **FINITE),
    limit=st.integers(1, 10_000),
    skew=st.one_of(st.just(0.0), st.floats(0.0, 0.05, **FINITE)),
    fair_weight=st.floats(0.0, 1.0, **FINITE),
    var_volatility=st.one_of(st.just(0.0), st.floats(0.01, 3.0, **FINITE)),
    volatility=st.floats(0.0, 10.0, **FINITE),
    inventory=st.integers(-30_000, 30_000),
    size=st.integers(1, 1000),
    fair=st.floats(1_000.0, 1e6, **FINITE),
    reference=st.floats(1_000.0, 1e6, **FINITE),
    step_sigma=st.floats(0.0, 0.01, **FINITE),
)
def test_the_ladder_follows_the_plain_model(
    levels: int,
    base: int,
    vsf: float,
    limit: int,
    skew: float,
    fair_weight: float,
    var_volatility: float,
    volatility: float,
    inventory: int,
    size: int,
    fair: float,
    reference: float,
    step_sigma: float,
) -> None:
    spec = _core.MarketMakerSpec(
        levels=levels,
        base_spread_ticks=base,
        vol_spread_factor=vsf,
        inventory_limit=limit,
        fair_weight=fair_weight,
        inventory_skew=skew,
        var_volatility=var_volatility,
    )
    m = {"last": reference, "reference": reference, "mid": reference, "spread": 1.0, "fair": fair}
    m |= {"volatility": volatility, "step_sigma": step_sigma}
    got = _core.maker_quotes(spec, _core.MarketView(**m), inventory, size, volatility)
    room = _room(limit, var_volatility, volatility)
    assert got == plain_ladder(spec, m, inventory, size, room)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 10_000),
    inventory=st.integers(-20_000, 20_000),
    volatility=st.floats(0.0, 10.0, **FINITE),
)
def test_without_a_budget_the_room_is_the_limit_at_any_volatility(
    limit: int, inventory: int, volatility: float
) -> None:
    spec = _core.MarketMakerSpec(inventory_limit=limit, levels=1)
    m = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4)
    sides = {q[0] for q in _core.maker_quotes(spec, m, inventory, 1, volatility)}
    assert sides == {s for s, quoted in ((0, inventory < limit), (1, inventory > -limit)) if quoted}


def test_the_room_shrinks_in_proportion_above_the_budgets_volatility() -> None:
    spec = _core.MarketMakerSpec(inventory_limit=1000, levels=1, var_volatility=0.2)
    m = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4)

    def sides(inventory: int, volatility: float) -> set[int]:
        return {q[0] for q in _core.maker_quotes(spec, m, inventory, 1, volatility)}

    assert sides(999, 0.2) == {0, 1}  # up to var_volatility: all of inventory_limit
    assert sides(999, 0.21) == {1}  # room 952: long 999 is over it, no more bids
    assert sides(499, 0.4) == {0, 1}
    assert sides(500, 0.4) == {1}
    assert sides(-500, 0.4) == {0}
    assert sides(-499, 0.4) == {0, 1}
    assert sides(-99, 2.0) == {0, 1}
    assert sides(-100, 2.0) == {0}


LIMIT = 10_000
DEALER = 300  # the account after the noise traders
STEPS = 3_000
CALM, STORM = 0.1, 3.0  # the fair value's volatility before and from step STEPS // 2


def _world(var_volatility: float, var_horizon: float) -> Scenario:
    return dealer_world(
        "var",
        plain_dealers(
            levels=2,
            inventory_limit=LIMIT,
            var_volatility=var_volatility,
            var_horizon=var_horizon,
        ),
        NoiseParams(
            sentiment_persistence=0.9995, sentiment_volatility=0.02, sentiment_position=25.0
        ),
        fundamental=Fundamental(volatility=CALM, shocks=(Shock(STEPS // 2, "volatility", STORM),)),
        traders=DEALER,
        trader_activity=60.0,
        steps=STEPS,
    )


def _replayed_volatility(last: np.ndarray, horizon_seconds: float) -> np.ndarray:
    """The dealers' own average of squared 300-second returns, annualised, after each step."""
    h = 300  # steps in the engine's return horizon at dt = 1
    a = alpha(horizon_seconds, 1.0)
    v = CALM * CALM / YEAR  # started from the fair value's volatility
    before = np.concatenate((np.full(h, 100.0 / TICK), last))
    out = np.empty(len(last))
    for t in range(len(last)):
        r = math.log(last[t] / before[t])
        v += a * (r * r / h - v)
        out[t] = math.sqrt(v * YEAR)
    return out


@pytest.mark.parametrize(("seed", "horizon"), [(0, 0.0), (1, 0.0), (0, 600.0)])
def test_the_dealer_quotes_only_what_its_room_allows(seed: int, horizon: float) -> None:
    var_volatility = 0.3
    result = simulate(_world(var_volatility, horizon), seed, trade_log=True, progress=False)
    s, trades = result.series["X"], result.trades
    assert trades is not None
    bought = np.where(trades["buyer"] == DEALER, trades["qty"], 0)
    sold = np.where(trades["seller"] == DEALER, trades["qty"], 0)
    assert np.all((bought > 0) | (sold > 0))  # every trade is the dealer's
    stamp = np.round(trades["time"].to_numpy()).astype(int)
    held = np.cumsum(np.bincount(stamp, weights=bought - sold, minlength=len(s) + 1))
    # Row t's quotes were set before the trades stamped t, on the volatility after step t - 1.
    before = np.concatenate(([0.0], held[: len(s) - 1]))
    if horizon > 0:
        last = np.round(s["last"].to_numpy() / TICK)
        vol = _replayed_volatility(last, horizon)
    else:
        vol = s["volatility"].to_numpy()
    vol = np.concatenate(([0.0], vol[:-1]))
    room = np.where(vol > var_volatility, LIMIT * (var_volatility / np.maximum(vol, 1e-300)), LIMIT)
    bids = ~np.isnan(s["best_bid"].to_numpy())
    asks = ~np.isnan(s["best_ask"].to_numpy())
    # Away from a float's width of the room (the replayed average is not the engine's bit for bit).
    clear = np.abs(np.abs(before) - room) > 1e-6 * LIMIT
    assert clear.mean() > 0.99
    assert np.array_equal(bids[clear], (before < room)[clear])
    assert np.array_equal(asks[clear], (before > -room)[clear])
    # The budget bound, and only in the storm: the dealer left a side empty in
    # many storm steps, never in the calm half, and carried more than the
    # storm's room before it.
    storm = np.arange(len(s)) >= STEPS // 2 + 300
    one_sided = ~(bids & asks)
    assert one_sided[storm].mean() > 0.1
    assert not one_sided[: STEPS // 2].any()
    assert np.abs(before[: STEPS // 2]).max() > room[storm].min()


def test_without_a_budget_the_same_world_quotes_both_sides_throughout() -> None:
    s = simulate(_world(0.0, 0.0), 0, progress=False).series["X"]
    assert not np.isnan(s["best_bid"].to_numpy()).any()
    assert not np.isnan(s["best_ask"].to_numpy()).any()


@pytest.mark.parametrize("value", [-0.1, 101.0])
def test_bad_var_volatility_names_the_field(value: float) -> None:
    with pytest.raises(ValueError, match=r"^var_volatility: must be in \[0\.0, 100\.0\]"):
        MarketMakerParams(var_volatility=value)
    with pytest.raises(ValueError, match=r"^var_volatility: must be finite"):
        MarketMakerParams(var_volatility=float("nan"))


@pytest.mark.parametrize("value", [-1.0, 2e9])
def test_bad_var_horizon_names_the_field(value: float) -> None:
    with pytest.raises(ValueError, match=r"^var_horizon: must be in \[0\.0, 1000000000\.0\]"):
        MarketMakerParams(var_horizon=value)
    with pytest.raises(ValueError, match=r"^var_horizon: must be finite"):
        MarketMakerParams(var_horizon=float("inf"))


def test_the_engine_refuses_a_bad_budget_naming_the_field() -> None:
    m = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4)
    bad = _core.MarketMakerSpec(var_volatility=-1.0)
    with pytest.raises(ValueError, match=r"var_volatility: must be in \[0, 100\]"):
        _core.maker_quotes(bad, m, 0, 1, 0.1)
    bad = _core.MarketMakerSpec(var_alpha=1.5)
    with pytest.raises(ValueError, match=r"var_alpha: must be in \[0, 1\]"):
        _core.maker_quotes(bad, m, 0, 1, 0.1)
    with pytest.raises(ValueError, match=r"^volatility: must be finite and >= 0"):
        _core.maker_quotes(_core.MarketMakerSpec(), m, 0, 1, float("nan"))
    with pytest.raises(ValueError, match=r"^size: must be >= 1"):
        _core.maker_quotes(_core.MarketMakerSpec(), m, 0, 0, 0.1)
