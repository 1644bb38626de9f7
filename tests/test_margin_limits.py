"""The margin engine at its limits: rules without a liquidation price are refused, money
that would leave double precision is refused with the field named, and conservation is
measured against the money that moved."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deleverage as dl
from deleverage.margin import MarginEngine
from deleverage.margin_rules import Instrument, MarginRule
from deleverage.scenario import InstrumentSpec, Scenario
from deleverage.simulate import simulate

# ---------------------------------------------------------------- closeout at the whole notional


@pytest.mark.parametrize(("initial", "share"), [(1.0, 1.0), (0.8, 1.0), (0.5, 0.9)])
def test_closeout_at_the_whole_notional_is_refused(initial: float, share: float) -> None:
    if initial * share < 1.0:
        MarginRule(maintenance="closeout", initial_rate=initial, closeout_share=share)
        return
    with pytest.raises(ValueError, match=r"closeout_share: closeout_share \* initial_rate must"):
        MarginRule(maintenance="closeout", initial_rate=initial, closeout_share=share)


def test_the_engine_refuses_it_too() -> None:
    """A rule that slipped past the Python check (built then changed in place) is refused
    by the engine itself."""
    rule = MarginRule(maintenance="closeout", initial_rate=1.0, closeout_share=0.5)
    object.__setattr__(rule, "closeout_share", 1.0)
    with pytest.raises(ValueError, match="closeout_share"):
        MarginEngine([Instrument("X", 1.0, rule)])


@settings(max_examples=60, deadline=None)
@given(
    product=st.floats(0.9, 0.999999),
    leverage=st.sampled_from([1.0, 1.25, 2.0]),
    seed=st.integers(0, 2**32 - 1),
    basis=st.sampled_from(["mark", "entry"]),
)
def test_closeout_near_the_whole_notional_index_agrees_with_a_scan(
    product: float, leverage: float, seed: int, basis: str
) -> None:
    """Every account the full scan finds liquidatable at a mark is liquidated in the
    first round of the check at that mark, and none other (the index and the scan agree)."""
    initial = 1.0 / leverage
    share = min(1.0, product / initial)
    if share * initial >= 1.0:
        return
    rule = MarginRule(
        maintenance="closeout", initial_rate=initial, closeout_share=share, basis=basis
    )
    engine = MarginEngine([Instrument("X", 1.0, rule)], insurance_fund=1e12)
    rng = np.random.default_rng(seed)
    n = 200
    entry = rng.uniform(900, 1100, n).round()
    lots = rng.integers(1, 20, n) * rng.choice([-1, 1], n)
    cash = np.abs(lots) * entry * initial * rng.uniform(0.9, 1.5, n)
    engine.add_accounts(cash, position=lots, entry_price=entry)
    for mark in rng.integers(700, 1300, 5):
        expected = engine.count_liquidatable([int(mark)])
        log = engine.check([int(mark)])
        first = log[log["round"] == log["round"].min()] if len(log) else log
        assert len(np.unique(first["account"])) == expected


# ---------------------------------------------------------------- money out of range


def _engine() -> MarginEngine:
    engine = MarginEngine([Instrument("X", 1.0, MarginRule())])
    engine.add_accounts([1_000.0])
    return engine


def test_cash_beyond_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match=r"cash\[0\]: must be in \[0, 1e15\]"):
        _engine().add_accounts([1e300])
    with pytest.raises(ValueError, match=r"cash\[1\]: must be in \[0, 1e15\]"):
        _engine().add_accounts([1.0, 2e15])
    with pytest.raises(ValueError, match="cash: must be finite"):
        _engine().add_accounts([1.0, math.inf])


def test_entry_price_beyond_the_ladder_is_refused() -> None:
    with pytest.raises(ValueError, match=r"entry_price\[0\]: must be in \(0, 2\^62\] ticks"):
        _engine().add_accounts([1.0], position=[1], entry_price=[2.0**63])


@pytest.mark.parametrize(
    ("price", "fee", "match"),
    [
        (float(dl.MAX_PRICE) * 2, 0.0, r"price: must be in \(0, 2\^62\] ticks"),
        (math.inf, 0.0, "price"),
        (100.0, 1e300, r"fee: must be in \[-1e15, 1e15\]"),
        (100.0, -math.inf, "fee"),
        (100.0, math.nan, "fee"),
    ],
)
def test_a_trade_out_of_range_is_refused_and_changes_nothing(
    price: float, fee: float, match: str
) -> None:
    engine = _engine()
    before = engine.conserved()
    with pytest.raises(ValueError, match=match):
        engine.apply_trade(0, 0, 1, price, fee)
    assert engine.conserved() == before
    assert engine.position[0, 0] == 0 if engine.position.ndim == 2 else engine.position[0] == 0


@pytest.mark.parametrize("tick_value", [5e-324, 1e-13, 2e12])
def test_a_tick_value_out_of_range_is_refused(tick_value: float) -> None:
    with pytest.raises(ValueError, match=r"tick_value: must be in \[1e-12, 1000000000000.0\]"):
        Instrument("X", tick_value, MarginRule())


def test_a_scenario_tick_too_small_to_price_names_the_lot_size() -> None:
    with pytest.raises(ValueError, match=r"lot_size: tick_size \* lot_size must be >= 1e-12"):
        InstrumentSpec("X", start_price=1.0, tick_size=1e-6, lot_size=1e-9)


# ---------------------------------------------------------------- conservation


def test_conservation_holds_with_a_huge_lot(bare_hour: Scenario) -> None:
    """A contract of a billion units (each lot worth 2e12): the error was 1.6e-9 of the
    starting cash; against the money that moved it is at rounding level."""
    world = bare_hour
    gold = dataclasses.replace(world.instruments[0], lot_size=1e9)
    result = simulate(world.replace(instruments=(gold,)), 0, progress=False)
    assert result.conservation_error < 1e-12


@settings(max_examples=12, deadline=None)
@given(lot=st.sampled_from([1e-3, 1.0, 1e3, 1e6, 1e9]), seed=st.integers(0, 1000))
def test_conservation_within_the_documented_bound(
    lot: float, seed: int, bare_hour: Scenario
) -> None:
    world = bare_hour.with_steps(2400)
    gold = dataclasses.replace(world.instruments[0], lot_size=lot)
    result = simulate(world.replace(instruments=(gold,)), seed, progress=False)
    assert result.conservation_error < 1e-9


def test_money_moved_counts_every_trade_side() -> None:
    """Against a plain sum of abs(lots) x price x tick value over the trades applied."""
    engine = MarginEngine([Instrument("X", 2.5, MarginRule())])
    engine.add_accounts([1e6, 1e6])
    trades = [(0, 3, 100.0), (1, -2, 101.0), (0, -3, 99.0), (1, 5, 98.5)]
    for account, lots, price in trades:
        engine.apply_trade(account, 0, lots, price)
    assert engine.money_moved == pytest.approx(sum(abs(q) * p * 2.5 for _, q, p in trades))
