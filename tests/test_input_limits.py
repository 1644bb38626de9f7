"""Inputs at the engine's limits end in a clear error or a bounded answer, never a crash,
a hang or undefined arithmetic: the clock's step, the book's ladder size, prices at the
int64 limits, and fortunes that would make more lots than an int64 holds."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deleverage as dl
from deleverage import _core
from deleverage.scenario import Clock, Distribution, Scenario
from deleverage.scenario.scenario import MAX_DT, MIN_DT
from deleverage.scenarios import load_preset
from deleverage.simulate import MAX_ACCOUNT_CASH, build, simulate

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def test_clock_limits_are_the_engines() -> None:
    assert (MIN_DT, MAX_DT) == (_core.MIN_DT, _core.MAX_DT)


@pytest.mark.parametrize("dt", [1e-300, 1e-9, 1e-6, 0.000999, 0.0, -1.0, 86400.5])
def test_a_step_outside_the_clock_range_is_refused(dt: float) -> None:
    with pytest.raises(ValueError, match=r"dt: must be in \[0.001, 86400.0\]"):
        Clock(dt=dt, steps=10)


def test_the_engine_refuses_a_step_python_did_not_check() -> None:
    """The engine checks dt itself (a scenario built around the Python check): a
    ValueError, not a division by zero or a buffer of 10^302 entries."""
    rigged = load_preset("default-hour").replace(targets=(), quiet_window=()).with_steps(10)
    object.__setattr__(rigged.clock, "dt", 1e-300)
    with pytest.raises(ValueError, match=r"dt: must be in \[0.001, 86400\] seconds"):
        build(rigged, 0)


def test_the_smallest_step_runs_in_bounded_memory() -> None:
    world = load_preset("default-hour").replace(targets=(), quiet_window=(), episode=None)
    world = world.replace(
        clock=Clock(dt=MIN_DT, steps=10),
        instruments=tuple(
            dataclasses.replace(i, fundamental=dataclasses.replace(i.fundamental, shocks=()))
            for i in world.instruments
        ),
        policy=dataclasses.replace(world.policy, margin_changes=()),
    )
    result = simulate(world, 0, progress=False)
    assert result.complete
    assert np.isfinite(result.series[("GOLD", "fair")]).all()


def test_a_huge_ladder_is_refused_at_once() -> None:
    start = time.perf_counter()
    for levels in (2**62 + 1, 2**63 - 1, _core.MAX_LADDER_LEVELS_LIMIT + 1):
        with pytest.raises(ValueError, match=r"max_ladder_levels: must be in 1\.\.16777216"):
            dl.OrderBook(max_ladder_levels=levels)
    assert time.perf_counter() - start < 1.0
    assert dl.OrderBook(max_ladder_levels=_core.MAX_LADDER_LEVELS_LIMIT).max_ladder_levels


@settings(max_examples=200, deadline=None)
@given(
    price=st.one_of(
        st.integers(INT64_MIN, INT64_MIN + 10**6),
        st.integers(INT64_MAX - 10**6, INT64_MAX),
        st.integers(-(10**6), 10**6),
        st.sampled_from([INT64_MIN, -1, 0, 1, dl.MAX_PRICE, dl.MAX_PRICE + 1, INT64_MAX]),
    ),
    kind=st.sampled_from([dl.MsgType.LIMIT, dl.MsgType.IOC, dl.MsgType.FOK]),
)
def test_prices_at_the_int64_limits_are_rejected_cleanly(price: int, kind: int) -> None:
    """A batch with such prices (next to a live book, so the ladder has a base) is
    answered message by message: valid prices rest or trade, the others are rejected."""
    book = dl.OrderBook()
    book.limit(dl.Side.SELL, price=1_000, qty=5, owner=1)
    book.limit(dl.Side.BUY, price=990, qty=5, owner=2)
    batch = dl.make_messages(
        type=[kind] * 40, side=[0, 1] * 20, price=[price] * 40, qty=[1] * 40, owner=[3] * 40
    )
    results, _ = book.execute(batch)
    codes = results["code"]
    if 1 <= price <= dl.MAX_PRICE:
        assert (codes != int(dl.Reject.BAD_PRICE)).all()
    else:
        assert (codes == int(dl.Reject.BAD_PRICE)).all()
        assert (results["filled"] == 0).all()


def test_a_fortune_in_cash_is_refused_with_its_population(bare_hour: Scenario) -> None:
    world = bare_hour
    pops = list(world.populations)
    pops[1] = dataclasses.replace(pops[1], cash=Distribution.fixed(1e300))
    with pytest.raises(
        ValueError, match=r"populations\[1\]\.cash: each account's cash must be <= 1e\+15"
    ):
        simulate(world.replace(populations=tuple(pops)), 0, progress=False)
    pops[1] = dataclasses.replace(pops[1], cash=Distribution("lognormal", median=1e14, sigma=3.0))
    with pytest.raises(ValueError, match=r"populations\[1\]\.cash: .* got a sample of"):
        simulate(world.replace(populations=tuple(pops)), 0, progress=False)


def test_largest_cash_against_a_tiny_tick_keeps_positions_bounded(bare_hour: Scenario) -> None:
    """The largest allowed cash against a tick worth 1e-9 would be 10^24 lots: each
    decision stops at the largest order, and the run stays finite and conserved."""
    world = bare_hour.with_steps(600)
    gold = dataclasses.replace(
        world.instruments[0], tick_size=1e-6, lot_size=1e-3, start_price=2000.0
    )
    pops = [
        dataclasses.replace(p, cash=Distribution.fixed(MAX_ACCOUNT_CASH))
        if p.strategy in ("speculator", "noise", "holder")
        else p
        for p in world.populations
    ]
    result = simulate(
        world.replace(instruments=(gold,), populations=tuple(pops)), 0, progress=False
    )
    assert result.complete
    assert math.isfinite(result.conservation_error)
    last = result.series[("GOLD", "last")]
    assert np.isfinite(last).all()
    assert (last > 0).all()
