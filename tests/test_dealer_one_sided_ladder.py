"""Sellers of a premium: dealers who quote one side only (``sides``), their
innermost quote ``offset`` away from the price they quote around and their
levels ``level_spacing`` apart (both relative to that price).

Oracles:
- a plain-Python model of one dealer's ladder, checked quote by quote against
  the engine's own rule (``_core.maker_quotes``) over random markets,
  inventories and ladders (with every new field at 0 and ``sides = both`` the
  ladder is the one the dealers quoted before these fields existed);
- a replay of a run from the recorded series and the trade log: one seller of
  a premium (asks only, 1% over fair value, a level every 0.2%) faces noise
  traders who send market orders only, 20 lots a level. The book never holds a bid, its best
  ask is the seller's innermost level, every trade is the seller's sale at one
  of the levels the replay puts in that step's ladder, and its inventory only
  ever grows short.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealer_world import TICK, dealer_world, plain_dealers, plain_ladder
from deleverage import _core
from deleverage.scenario import (
    QUOTE_SIDES,
    Distribution,
    MarketMakerParams,
    NoiseParams,
    Scenario,
)
from deleverage.simulate import simulate

FINITE = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=300, deadline=None)
@given(
    levels=st.integers(1, 8),
    base=st.integers(1, 5),
    vsf=st.floats(0.0, 50.0, **FINITE),
    limit=st.integers(1, 10_000),
    skew=st.one_of(st.just(0.0), st.floats(0.0, 0.05, **FINITE)),
    sides=st.integers(0, 2),
    offset=st.one_of(st.just(0.0), st.floats(0.0, 0.5, **FINITE)),
    spacing=st.one_of(st.just(0.0), st.floats(0.0, 0.005, **FINITE)),
    inventory=st.integers(-20_000, 20_000),
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
    sides: int,
    offset: float,
    spacing: float,
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
        fair_weight=1.0,
        inventory_skew=skew,
        sides=sides,
        offset=offset,
        level_spacing=spacing,
    )
    m = {"last": reference, "reference": reference, "mid": reference, "spread": 1.0, "fair": fair}
    m |= {"volatility": 0.1, "step_sigma": step_sigma}
    got = _core.maker_quotes(spec, _core.MarketView(**m), inventory, size, 0.1)
    assert got == plain_ladder(spec, m, inventory, size, limit)


def test_an_offset_and_a_spacing_set_the_ladder_in_relative_terms() -> None:
    spec = _core.MarketMakerSpec(
        levels=3, base_spread_ticks=1, vol_spread_factor=0.0, fair_weight=1.0, sides=2
    )
    m = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4)
    assert _core.maker_quotes(spec, m, 0, 5, 0.1) == [(1, 10_000 + k, 5) for k in (1, 2, 3)]
    spec = _core.MarketMakerSpec(
        levels=3,
        base_spread_ticks=1,
        vol_spread_factor=0.0,
        fair_weight=1.0,
        sides=2,
        offset=0.03,
        level_spacing=0.005,
    )
    # 3% over 10,000 ticks, then a level every 0.5% (50 ticks); no bids at all.
    assert _core.maker_quotes(spec, m, 0, 5, 0.1) == [(1, p, 5) for p in (10_300, 10_350, 10_400)]
    bids = _core.MarketMakerSpec(levels=2, vol_spread_factor=0.0, fair_weight=1.0, sides=1)
    assert {q[0] for q in _core.maker_quotes(bids, m, 0, 5, 0.1)} == {0}


OFFSET = 0.01
SPACING = 0.002
LIMIT = 2**40  # no lean worth a tick: the ladder stands where the offset puts it
SELLER = 500  # the account after the 500 noise traders


def _world() -> Scenario:
    return dealer_world(
        "premium",
        plain_dealers(
            sides="asks",
            offset=OFFSET,
            level_spacing=SPACING,
            levels=4,
            inventory_limit=LIMIT,
            depth_lots=Distribution.fixed(20.0),  # a step's buying reaches the deeper levels
        ),
        NoiseParams(sentiment_persistence=0.999, sentiment_volatility=0.05),
        steps=2000,
    )


def test_a_seller_of_a_premium_only_sells_on_its_ladder() -> None:
    result = simulate(_world(), 0, trade_log=True, progress=False)
    s, trades = result.series["X"], result.trades
    assert trades is not None
    assert len(trades) > 100
    assert s["best_bid"].isna().all()  # nobody ever bids
    fair = s["fair"].to_numpy() / TICK
    ask = s["best_ask"].to_numpy() / TICK
    quoted = ~np.isnan(ask)
    assert quoted.mean() > 0.5  # what a step's buying leaves of the ladder
    # A standing best ask is one of the seller's levels.
    ladder = np.ceil(fair[:, None] * (1 + OFFSET) + SPACING * fair[:, None] * np.arange(4))
    off = np.abs(ask[quoted, None] - ladder[quoted]).min(axis=1)
    assert off.max() <= 1.0
    # Every trade is the seller's sale, at one of that step's levels (the
    # quotes of row t were set before the trades stamped t: fair value of t).
    assert (trades["seller"] == SELLER).all()
    assert (trades["buyer"] != SELLER).all()
    stamp = np.round(trades["time"].to_numpy()).astype(int)
    levels = ladder[np.clip(stamp, 0, len(fair) - 1)]
    price = trades["price"].to_numpy() / TICK
    assert np.abs(price[:, None] - levels).min(axis=1).max() <= 1.0
    # Each step's ladder is fresh: its first sale is at the innermost level
    # (within a tick), and deeper levels trade too, so the ladder is there.
    first = np.full(len(fair) + 1, np.inf)
    np.minimum.at(first, stamp, price)
    traded = np.isfinite(first[: len(fair)])
    assert np.abs(first[: len(fair)][traded] - ladder[traded, 0]).max() <= 1.0
    assert (np.abs(price[:, None] - levels).argmin(axis=1) > 0).any()
    assert result.accounts.loc["dealers", "short_lots"] == trades["qty"].sum()
    assert result.accounts.loc["dealers", "long_lots"] == 0


@pytest.mark.parametrize("value", ["up", "ask", ""])
def test_bad_sides_names_the_field(value: str) -> None:
    with pytest.raises(ValueError, match=r"^sides: "):
        MarketMakerParams(sides=value)  # type: ignore[arg-type]
    assert QUOTE_SIDES == ("both", "bids", "asks")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("offset", -0.01, r"^offset: must be in \[0\.0, 0\.5\]"),
        ("offset", 0.6, r"^offset: must be in \[0\.0, 0\.5\]"),
        ("offset", float("nan"), r"^offset: must be"),
        ("level_spacing", 0.01, r"^level_spacing: must be in \[0\.0, 0\.005\]"),
        ("level_spacing", -1e-4, r"^level_spacing: must be in \[0\.0, 0\.005\]"),
    ],
)
def test_bad_offset_or_spacing_names_the_field(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MarketMakerParams(**{field: value})  # type: ignore[arg-type]


def test_the_engine_refuses_a_bad_ladder_naming_the_field() -> None:
    m = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4)
    with pytest.raises(ValueError, match=r"sides: must be in \[0, 2\]"):
        _core.maker_quotes(_core.MarketMakerSpec(sides=3), m, 0, 1, 0.1)
    with pytest.raises(ValueError, match=r"offset: must be in \[0, 0\.5\]"):
        _core.maker_quotes(_core.MarketMakerSpec(offset=0.75), m, 0, 1, 0.1)
    with pytest.raises(ValueError, match=r"level_spacing: must be in \[0, 0\.005\]"):
        _core.maker_quotes(_core.MarketMakerSpec(level_spacing=0.1), m, 0, 1, 0.1)
