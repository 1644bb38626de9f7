"""Covering sellers: one-sided dealers (``sides``) with ``covers`` close what
they took on with one quote for all of it, ``cover_offset`` from the price they
quote around toward their own side (a seller of a premium bids for its short
at that premium over value).

Oracles:
- the plain-Python model of one dealer's ladder (``dealer_world.plain_ladder``),
  checked quote by quote against the engine's own rule (``_core.maker_quotes``)
  over random markets, inventories, sides and cover offsets;
- a replay of a run from the recorded series and the trade log: one covering
  seller (asks 1% over fair value, buying back at 0.2% over) faces noise
  traders who send market orders only. Every sale is at one of its ladder's
  levels, every purchase at its cover price, its holding (walked through the
  trade log) is never long, and whenever it is short the book's best bid is
  its cover bid for the whole short;
- a gated replay: each purchase follows ``cover_calm_after`` steps at or under
  ``cover_max_volatility`` in the recorded volatility, and the gate removes
  purchases the ungated seller makes (the seller without ``covers`` is
  tests/test_dealer_one_sided_ladder.py's: it only ever sells).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealer_world import TICK, dealer_world, plain_dealers, plain_ladder
from deleverage import _core
from deleverage.engine_spec import engine_input, simulation
from deleverage.scenario import Distribution, MarketMakerParams, NoiseParams, Scenario
from deleverage.simulate import simulate

FINITE = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=300, deadline=None)
@given(
    levels=st.integers(1, 8),
    base=st.integers(1, 5),
    limit=st.integers(1, 10_000),
    skew=st.one_of(st.just(0.0), st.floats(0.0, 0.05, **FINITE)),
    sides=st.integers(1, 2),
    offset=st.floats(0.0, 0.5, **FINITE),
    cover=st.floats(-0.5, 0.5, **FINITE),
    spacing=st.one_of(st.just(0.0), st.floats(0.0, 0.005, **FINITE)),
    inventory=st.integers(-20_000, 20_000),
    size=st.integers(1, 1000),
    fair=st.floats(1_000.0, 1e6, **FINITE),
    reference=st.floats(1_000.0, 1e6, **FINITE),
    volatility=st.floats(0.0, 5.0, **FINITE),
    gate=st.one_of(st.just(0.0), st.floats(0.0, 5.0, **FINITE)),
    calm_steps=st.integers(0, 50),
    calm=st.integers(0, 60),
)
def test_the_covering_ladder_follows_the_plain_model(
    levels: int,
    base: int,
    limit: int,
    skew: float,
    sides: int,
    offset: float,
    cover: float,
    spacing: float,
    inventory: int,
    size: int,
    fair: float,
    reference: float,
    volatility: float,
    gate: float,
    calm_steps: int,
    calm: int,
) -> None:
    cover = min(cover, offset - 1e-6)
    spec = _core.MarketMakerSpec(
        levels=levels,
        base_spread_ticks=base,
        vol_spread_factor=0.0,
        inventory_limit=limit,
        fair_weight=0.5,
        inventory_skew=skew,
        sides=sides,
        offset=offset,
        level_spacing=spacing,
        covers=True,
        cover_offset=cover,
        cover_max_volatility=gate,
        cover_calm_steps=calm_steps,
    )
    m = {"last": reference, "reference": reference, "mid": reference, "spread": 1.0, "fair": fair}
    m |= {"volatility": volatility, "step_sigma": 0.0}
    got = _core.maker_quotes(spec, _core.MarketView(**m), inventory, size, 0.1, calm)
    assert got == plain_ladder(spec, m, inventory, size, limit, calm)
    # The closing quote never meets the dealer's own quotes.
    bids = [q[1] for q in got if q[0] == 0]
    asks = [q[1] for q in got if q[0] == 1]
    if bids and asks:
        assert max(bids) < min(asks)


def test_a_seller_bids_for_its_whole_short_at_the_cover_price() -> None:
    spec = _core.MarketMakerSpec(
        levels=2,
        base_spread_ticks=1,
        vol_spread_factor=0.0,
        inventory_limit=2**40,  # no lean worth a tick
        fair_weight=1.0,
        sides=2,
        offset=0.03,
        level_spacing=0.005,
        covers=True,
        cover_offset=0.01,
    )
    m = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4)
    ladder = [(1, 10_300, 5), (1, 10_350, 5)]
    assert _core.maker_quotes(spec, m, 0, 5, 0.1) == ladder  # nothing to cover
    # A short leans their centre up by a sliver of a tick: the asks round up one tick.
    short = [(1, 10_301, 5), (1, 10_351, 5)]
    assert _core.maker_quotes(spec, m, -1_234, 5, 0.1) == [*short, (0, 10_100, 1_234)]
    assert _core.maker_quotes(spec, m, 7, 5, 0.1) == ladder  # a long is not theirs to cover
    buyer = _core.MarketMakerSpec(
        levels=1,
        base_spread_ticks=1,
        vol_spread_factor=0.0,
        inventory_limit=2**40,
        fair_weight=1.0,
        sides=1,
        offset=0.02,
        covers=True,
        cover_offset=-0.01,  # a buyer of a discount sells back 1% over value
    )
    assert _core.maker_quotes(buyer, m, 40, 5, 0.1) == [(0, 9_799, 5), (1, 10_100, 40)]
    # Above its volatility limit it holds its short: no bid.
    calm = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4, volatility=0.4)
    storm = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4, volatility=0.6)
    gated = _core.MarketMakerSpec(
        **({f: getattr(spec, f) for f in spec.fields} | {"cover_max_volatility": 0.5})
    )
    assert _core.maker_quotes(gated, calm, -1_234, 5, 0.1) == [*short, (0, 10_100, 1_234)]
    assert _core.maker_quotes(gated, storm, -1_234, 5, 0.1) == short
    # After a storm it waits its calm steps: it covers on the third calm step.
    patient = _core.MarketMakerSpec(
        **({f: getattr(gated, f) for f in gated.fields} | {"cover_calm_steps": 2})
    )
    assert _core.maker_quotes(patient, calm, -1_234, 5, 0.1, 1) == short
    assert _core.maker_quotes(patient, calm, -1_234, 5, 0.1, 2) == [*short, (0, 10_100, 1_234)]
    no_cover = _core.MarketMakerSpec(
        levels=2, base_spread_ticks=1, vol_spread_factor=0.0, inventory_limit=2**40,
        fair_weight=1.0, sides=2, offset=0.03, level_spacing=0.005, cover_offset=0.01,
    )  # fmt: skip
    assert _core.maker_quotes(no_cover, m, -1_234, 5, 0.1) == short


OFFSET = 0.01
COVER = 0.002
SPACING = 0.002
SELLER = 500  # the account after the 500 noise traders


def _world(*, covers: bool, **gate: float) -> Scenario:
    return dealer_world(
        "covering",
        plain_dealers(
            sides="asks",
            offset=OFFSET,
            level_spacing=SPACING,
            levels=4,
            inventory_limit=2**40,  # no lean worth a tick
            depth_lots=Distribution.fixed(20.0),
            covers=covers,
            cover_offset=COVER,
            **gate,
        ),
        NoiseParams(sentiment_persistence=0.999, sentiment_volatility=0.05),
        steps=2000,
    )


def test_a_covering_seller_sells_on_its_ladder_and_buys_back_at_its_cover_price() -> None:
    result = simulate(_world(covers=True), 0, trade_log=True, progress=False)
    s, trades = result.series["X"], result.trades
    assert trades is not None
    fair = s["fair"].to_numpy() / TICK
    stamp = np.round(trades["time"].to_numpy()).astype(int)
    row = np.clip(stamp, 0, len(fair) - 1)
    price = trades["price"].to_numpy() / TICK
    qty = trades["qty"].to_numpy()
    sells = (trades["seller"] == SELLER).to_numpy()
    buys = (trades["buyer"] == SELLER).to_numpy()
    assert (sells | buys).all()  # every trade is the seller's, one way or the other
    assert sells.sum() > 50
    assert buys.sum() > 50
    ladder = np.ceil(fair[:, None] * (1 + OFFSET) + SPACING * fair[:, None] * np.arange(4))
    assert np.abs(price[sells, None] - ladder[row[sells]]).min(axis=1).max() <= 1.0
    cover = np.floor(fair * (1 + COVER))
    assert np.abs(price[buys] - cover[row[buys]]).max() <= 1.0
    # Its holding, walked through the log, is never long: it buys back no more than it sold.
    holding = np.cumsum(np.where(sells, -qty, qty))
    assert holding.max() <= 0
    assert holding.min() < 0
    assert result.accounts.loc["dealers", "short_lots"] == -holding[-1]
    assert result.accounts.loc["dealers", "long_lots"] == 0
    # Whenever it was short at a step's start, the best bid is its cover bid
    # (noise traders rest nothing): short at the start of row t = holding after
    # the trades stamped before t.
    short_before = np.zeros(len(fair), dtype=np.int64)
    last_of = np.searchsorted(stamp, np.arange(len(fair)), side="left")
    short_before[last_of > 0] = -holding[last_of[last_of > 0] - 1]
    bid = s["best_bid"].to_numpy() / TICK
    short = short_before > 0
    standing = short & ~np.isnan(bid)
    assert standing.sum() > 100
    assert np.abs(bid[standing] - cover[standing]).max() <= 1.0
    assert np.isnan(bid[~short]).all()  # nobody else ever bids


def test_a_covering_seller_buys_back_only_after_its_calm_steps() -> None:
    # The gate is the median volatility of the ungated run, so storms come and go.
    ungated = simulate(_world(covers=True), 0, trade_log=True, progress=False)
    gate = float(np.median(ungated.series["X"]["volatility"].to_numpy()))
    calm_steps = 20  # dt = 1 s
    world = _world(covers=True, cover_max_volatility=gate, cover_calm_after=float(calm_steps))
    result = simulate(world, 0, trade_log=True, progress=False)
    trades = result.trades
    assert trades is not None
    vol = result.series["X"]["volatility"].to_numpy()
    stamp = np.round(trades["time"].to_numpy()).astype(int)
    bought = np.unique(stamp[(trades["buyer"] == SELLER).to_numpy()])
    assert len(bought) > 100
    # The quotes of step t meet the volatility recorded at the end of step t - 1:
    # a purchase at t needs that and the calm_steps before it at or under the gate
    # (the run starts calm, so the first steps need only what they have).
    for t in bought[bought > 0]:
        assert vol[max(0, t - 1 - calm_steps) : t].max() <= gate, t
    # The gate bites: steps with a calm window are fewer than those it covered in ungated.
    assert ungated.trades is not None
    ungated_buys = ungated.trades["buyer"] == SELLER
    assert ungated_buys.sum() > (trades["buyer"] == SELLER).sum()
    assert result.conservation_error < 1e-12


def test_covering_keeps_money_whole() -> None:
    for seed in (1, 2):
        result = simulate(_world(covers=True), seed, progress=False)
        assert result.conservation_error < 1e-12


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"covers": True, "sides": "both", "offset": 0.01}, r"^covers: only a one-sided dealer"),
        ({"covers": True, "sides": "asks", "offset": 0.01, "cover_offset": 0.01},
         r"^cover_offset: must be below offset \(0\.01\)"),
        ({"sides": "asks", "cover_offset": 0.6}, r"^cover_offset: must be in \[-0\.5, 0\.5\]"),
        ({"sides": "asks", "cover_offset": float("nan")}, r"^cover_offset: must be"),
        ({"sides": "asks", "cover_max_volatility": -0.1},
         r"^cover_max_volatility: must be in \[0\.0, 100\.0\]"),
        ({"sides": "asks", "cover_calm_after": -1.0}, r"^cover_calm_after: must be in \[0"),
        ({"sides": "asks", "cover_max_volatility": 101.0},
         r"^cover_max_volatility: must be in \[0\.0, 100\.0\]"),
    ],
)  # fmt: skip
def test_bad_cover_names_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MarketMakerParams(**changes)  # type: ignore[arg-type]


def test_covers_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match=r"^covers: must be a bool, got str"):
        MarketMakerParams(covers="yes", sides="asks")  # type: ignore[arg-type]


def test_the_engine_refuses_a_bad_cover_naming_the_field() -> None:
    m = _core.MarketView(last=1e4, reference=1e4, mid=1e4, spread=1.0, fair=1e4)
    with pytest.raises(ValueError, match=r"^cover_offset: must be in \[-0\.5, 0\.5\]"):
        _core.maker_quotes(_core.MarketMakerSpec(sides=2, cover_offset=0.75), m, 0, 1, 0.1)
    with pytest.raises(ValueError, match=r"^covers: only a one-sided dealer"):
        _core.maker_quotes(_core.MarketMakerSpec(covers=True, offset=0.01), m, 0, 1, 0.1)
    bad = _core.MarketMakerSpec(sides=2, covers=True, offset=0.01, cover_offset=0.02)
    with pytest.raises(ValueError, match=r"^cover_offset: must be below offset"):
        _core.maker_quotes(bad, m, 0, 1, 0.1)


def test_the_simulation_refuses_a_bad_cover_naming_the_population() -> None:
    data = engine_input(_world(covers=True), 0)
    fields = {f: getattr(data.spec, f) for f in data.spec.fields}
    pops = list(fields["populations"])
    dealers = pops[1]
    params = {f: getattr(dealers.params, f) for f in dealers.params.fields}
    where = r"populations\[1\]\.params\."
    cases = [
        ({"cover_offset": 0.02}, where + "cover_offset: must be below offset"),
        (
            {"cover_offset": -0.7},
            where + r"cover_offset: must be in \[-0\.5, 0\.5\]",
        ),
        ({"sides": 0}, where + "covers: only a one-sided dealer"),
        ({"cover_max_volatility": -1.0}, where + r"cover_max_volatility: must be in \[0, 100\]"),
        ({"cover_calm_steps": -1}, where + "cover_calm_steps: must be >= 0"),
    ]
    for change, message in cases:
        bad = _core.MarketMakerSpec(**(params | change))
        pops[1] = _core.PopulationSpec(
            **({f: getattr(dealers, f) for f in dealers.fields} | {"params": bad})
        )
        spec = _core.SimulationSpec(**(fields | {"populations": pops}))
        with pytest.raises(ValueError, match=message):
            simulation(dataclasses.replace(data, spec=spec))
