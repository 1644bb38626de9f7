"""A liquidation engine of finite throughput in a simulation.

``InstrumentSpec.liquidation_capacity`` caps the notional an instrument's
liquidations close in one step; the margin engine's oracle comparison
(tests/test_margin_oracle.py) checks the rule account by account. Here the
run's own liquidation log is the oracle: in every step, the notional at the
mark closed before the step's last liquidated account is below the capacity;
the liquidations the cap holds back come in later steps; money is conserved;
and a capacity nobody reaches changes nothing.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from deleverage.result import Result
from deleverage.scenario import Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

CAPACITY = 20_000.0


def _world(capacity: float = math.inf, priority: str = "account") -> Scenario:
    s = load_preset("default-hour").replace(targets=(), liquidation_priority=priority)
    inst = dataclasses.replace(s.instruments[0], liquidation_capacity=capacity)
    return s.replace(instruments=(inst, *s.instruments[1:]))


def _closes(r: Result) -> pd.DataFrame:
    """The liquidated accounts' own closes (not the ADL victims'), with their mark notional."""
    liq = r.liquidations
    own = liq[liq["kind"] != "adl_victim"].copy()
    tick_value = r.scenario.instruments[0].tick_value
    own["mark_notional"] = own["qty"] * own["mark"] * tick_value
    return own


@pytest.fixture(scope="module")
def runs() -> dict[str, Result]:
    return {
        "none": simulate(_world(), 0, progress=False),
        "capped": simulate(_world(CAPACITY), 0, progress=False),
        "ratio": simulate(_world(CAPACITY, "margin_ratio"), 0, progress=False),
    }


@pytest.mark.parametrize("name", ["capped", "ratio"])
def test_no_step_liquidates_past_the_capacity_before_its_last_account(
    runs: dict[str, Result], name: str
) -> None:
    own = _closes(runs[name])
    assert len(own) > 0
    reached = 0
    for _, step in own.groupby("check", sort=False):
        last = step["account"].iloc[-1]
        first_of_last = int(np.flatnonzero(step["account"].to_numpy() == last)[0])
        before = float(step["mark_notional"].iloc[:first_of_last].sum())
        assert before < CAPACITY, (step["check"].iloc[0], before)
        reached += float(step["mark_notional"].sum()) >= CAPACITY
    assert reached > 0  # the cap binds in some steps


def test_the_capacity_spreads_the_liquidations_over_more_steps(runs: dict[str, Result]) -> None:
    free, capped = _closes(runs["none"]), _closes(runs["capped"])
    assert capped["check"].nunique() > free["check"].nunique()
    # The busiest step of the uncapped run closes more than the capacity allows.
    assert free.groupby("check")["mark_notional"].sum().max() > 2 * CAPACITY


@pytest.mark.parametrize("name", ["none", "capped", "ratio"])
def test_money_is_conserved(runs: dict[str, Result], name: str) -> None:
    assert runs[name].conservation_error < 1e-9


def test_a_capacity_never_reached_changes_nothing(runs: dict[str, Result]) -> None:
    big = simulate(_world(1e18), 0, progress=False)
    pd.testing.assert_frame_equal(big.liquidations, runs["none"].liquidations)
    pd.testing.assert_frame_equal(big.series, runs["none"].series)


def test_bad_settings_name_the_field() -> None:
    inst = load_preset("default-hour").instruments[0]
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match=r"^liquidation_capacity: "):
            dataclasses.replace(inst, liquidation_capacity=bad)
    with pytest.raises(ValueError, match=r"^liquidation_priority: must be one of"):
        load_preset("default-hour").replace(liquidation_priority="fifo")


def test_scaled_scales_the_capacity_with_the_fund() -> None:
    world = _world(CAPACITY)
    half = world.scaled(0.5)
    assert half.instruments[0].liquidation_capacity == CAPACITY / 2
    assert half.insurance_fund == world.insurance_fund / 2
    assert math.isinf(_world().scaled(0.5).instruments[0].liquidation_capacity)
