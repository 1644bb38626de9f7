"""Leveraged allocators and dealers that share one risk limit across instruments:
parameters validated, and the behaviour each adds to a run, checked against
the same world without it on the same seed."""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pytest

from deleverage.counterfactuals import isolate_cross_margin
from deleverage.dates import run_start, seconds_of
from deleverage.scenario import (
    AllocatorParams,
    Distribution,
    MarketMakerParams,
    Population,
    Scenario,
    from_toml_str,
    to_toml_str,
)
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

DAY = 288  # five-minute steps
FRACTION = 0.05


@pytest.fixture(scope="module")
def world() -> Scenario:
    return load_preset("dash-for-cash-2020").scaled(FRACTION)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_leverage", 0.5, r"max_leverage: must be in \[1"),
        ("vol_target", -0.1, r"vol_target: must be in \[0"),
        ("vol_target", 101.0, r"vol_target: must be in \[0"),
        ("vol_horizon", 0.0, r"vol_horizon: must be in \(0"),
        ("rebalance_band", 1.5, r"rebalance_band: must be in \[0.0, 1.0\]"),
        ("target_leverage", Distribution.uniform(-1.0, 2.0), "target_leverage"),
    ],
)
def test_bad_allocator_parameters_are_rejected(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AllocatorParams(**{field: value})


def _with_maker_params(world: Scenario, name: str, **changes: object) -> Scenario:
    pops = tuple(
        dc.replace(p, params=dc.replace(p.params, **changes)) if p.name == name else p
        for p in world.populations
    )
    return world.replace(populations=pops)


def test_bad_stress_instruments_are_rejected(world: Scenario) -> None:
    with pytest.raises(ValueError, match=r"stress_instruments\[1\]: instrument 'INDEX' is listed"):
        MarketMakerParams(stress_instruments=("INDEX", "INDEX"))
    with pytest.raises(TypeError, match=r"stress_instruments\[0\]"):
        MarketMakerParams(stress_instruments=(3,))  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"populations\[\d+\]\.params\.stress_instruments\[0\]: unknown"
    ):
        _with_maker_params(world, "gold_dealers", stress_instruments=("OIL",))
    with pytest.raises(ValueError, match=r"stress_instruments\[0\]: the dealers' own instrument"):
        _with_maker_params(world, "gold_dealers", stress_instruments=("GOLD",))


def test_allocators_round_trip_through_toml(world: Scenario) -> None:
    again = from_toml_str(to_toml_str(world))
    assert again == world
    pop = next(p for p in again.populations if p.name == "macro_funds")
    assert isinstance(pop.params, AllocatorParams)


def test_an_allocator_needs_its_params_class() -> None:
    with pytest.raises(TypeError, match="params: must be a AllocatorParams"):
        Population(
            "a", "allocator", 10, "GOLD", Distribution.fixed(1e5), params=MarketMakerParams()
        )


def _net_gold_bought(world: Scenario, seed: int, names: list[str], days: tuple[int, int]) -> float:
    """Net gold lots the populations ``names`` bought over ``days`` (from the trade log)."""
    result = simulate(world, seed, progress=False, trade_log=True)
    first, owned = 0, []
    for p in world.populations:
        if p.name in names:
            owned.append((first, first + p.accounts))
        first += p.accounts
    trades = result.trades
    assert trades is not None
    seconds = seconds_of(trades["time"], run_start(world))  # the preset is dated
    window = trades[
        (trades["instrument"] == "GOLD")
        & (seconds >= days[0] * DAY * world.clock.dt)
        & (seconds < days[1] * DAY * world.clock.dt)
    ]

    def mine(ids: np.ndarray) -> np.ndarray:
        return np.any([(ids >= a) & (ids < b) for a, b in owned], axis=0)

    bought = window.loc[mine(window["buyer"].to_numpy()), "qty"].sum()
    sold = window.loc[mine(window["seller"].to_numpy()), "qty"].sum()
    return float(bought - sold)


def _gold_value_holds(world: Scenario) -> Scenario:
    """The preset without gold's drifts with the dollar (from 10 March on):
    its value in dollars holds, so that a fall of gold's own value does not
    make the isolated gold accounts sell."""
    gold = next(i for i in world.instruments if i.name == "GOLD")
    shocks = tuple(s for s in gold.fundamental.shocks if s.step <= 21 * DAY)
    assert len(shocks) < len(gold.fundamental.shocks)
    held = dc.replace(gold, fundamental=dc.replace(gold.fundamental, shocks=shocks))
    return world.replace(
        instruments=tuple(held if i.name == "GOLD" else i for i in world.instruments)
    )


def test_cross_margined_allocators_sell_gold_when_the_index_crashes(world: Scenario) -> None:
    """On one margin account, the index's losses and storm make the allocators
    sell gold; split into isolated accounts, the gold account is not touched
    by the index and sells far less (or buys). Gold's value holds in dollars
    here, so the only reason to sell it is the index."""
    world = _gold_value_holds(world)
    stress = (21, 35)
    cross = _net_gold_bought(world, 0, ["macro_funds"], stress)
    isolated = _net_gold_bought(isolate_cross_margin(world), 0, ["macro_funds_GOLD"], stress)
    assert cross < 0
    assert cross < isolated - 0.25 * abs(cross)


def test_dealers_sharing_a_risk_limit_withdraw_on_the_other_instruments_storm(
    world: Scenario,
) -> None:
    """The gold dealers hold the highest volatility among gold and their stress
    instruments against ``vol_withdraw``. Up to the first step where that
    maximum passes the limit the run is the same as with gold alone; the step
    after, every dealer is out, while dealers watching gold alone stay in
    exactly when gold's own volatility was under the limit."""
    # Gold's own five-minute book is noisy (realized volatility up to 2-2.5 in
    # calm weeks): with the limit above that, the index's storms are what pass it.
    limit = 3.5
    # Their value-at-risk budget also reads the index's volatility: off here,
    # so that the withdrawal is the one thing stress_instruments changes.
    world = _with_maker_params(world, "gold_dealers", vol_withdraw=limit, var_volatility=0.0)
    alone = _with_maker_params(world, "gold_dealers", stress_instruments=())
    only_index = 0
    for seed in range(4):
        shared, own = simulate(world, seed, progress=False), simulate(alone, seed, progress=False)
        index_vol = shared.series[("INDEX", "volatility")].to_numpy()
        gold_vol = shared.series[("GOLD", "volatility")].to_numpy()
        t0 = int(np.argmax(np.maximum(index_vol, gold_vol) > limit))
        assert max(index_vol[t0], gold_vol[t0]) > limit
        assert shared.series.iloc[: t0 + 1].equals(own.series.iloc[: t0 + 1])
        after_shared = shared.series[("GOLD", "active_makers")].to_numpy()[t0 + 1]
        after_own = own.series[("GOLD", "active_makers")].to_numpy()[t0 + 1]
        assert after_shared == 0
        if gold_vol[t0] <= limit:
            only_index += 1
            assert after_own == own.series[("GOLD", "active_makers")].to_numpy()[t0] > 0
        else:
            assert after_own == 0
    assert only_index >= 1
