"""The simulation: determinism, conservation, and behaviour the populations must show."""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pytest

from deleverage.scenario import (
    Distribution,
    Fundamental,
    MarketMakerParams,
    Policy,
    Scenario,
    Shock,
    SpeculatorParams,
    ValueParams,
)
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate


@pytest.fixture(scope="module")
def base() -> Scenario:
    return load_preset("default-hour")


def _pops(s: Scenario, *names: str):
    by_name = {p.name: p for p in s.populations}
    return tuple(by_name[n] for n in names)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_same_seed_is_bit_identical_other_seed_differs(base: Scenario) -> None:
    a = simulate(base, 3)
    b = simulate(base, 3)
    c = simulate(base, 4)
    assert _same(a.series.to_numpy(), b.series.to_numpy())
    assert a.liquidations.equals(b.liquidations)
    assert _same(a.leverage.to_numpy(), b.leverage.to_numpy())
    assert not _same(a.series.to_numpy(), c.series.to_numpy())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_money_is_conserved_over_a_whole_run(base: Scenario, seed: int) -> None:
    result = simulate(base, seed)
    assert result.complete
    assert result.conservation_error < 1e-9
    assert result.messages > 10_000


@pytest.mark.parametrize("seed", [0, 1])
def test_leverage_one_and_no_shock_liquidates_nobody(base: Scenario, seed: int) -> None:
    inst = base.instruments[0]
    calm = dc.replace(inst, fundamental=dc.replace(inst.fundamental, shocks=()))
    spec = base.populations[0]
    unlevered = dc.replace(
        spec,
        params=dc.replace(spec.params, target_leverage=Distribution.fixed(1.0), max_leverage=1.0),
    )
    s = dc.replace(
        base, instruments=(calm,), populations=(unlevered, *base.populations[1:]), policy=Policy()
    )
    result = simulate(s, seed)
    assert result.metrics()["liquidations"] == 0
    assert len(result.liquidations) == 0


def test_value_traders_pull_the_price_to_fair_value(base: Scenario) -> None:
    inst = dc.replace(base.instruments[0], fundamental=Fundamental(volatility=2.0), mark="last")
    (value,) = _pops(base, "value")
    strong = dc.replace(
        value, params=ValueParams(aggressiveness=50.0, vol_reference=3.0, vol_exit=5.0)
    )
    world = dc.replace(base, instruments=(inst,), policy=Policy())
    with_value = dc.replace(world, populations=(*_pops(base, "noise", "market_makers"), strong))
    without = dc.replace(world, populations=_pops(base, "noise", "market_makers"))

    def deviation(s: Scenario, seed: int) -> float:
        g = simulate(s, seed).series["GOLD"]
        return float((np.abs(g["last"] - g["fair"]) / g["fair"]).iloc[600:].mean())

    for seed in range(3):
        assert deviation(with_value, seed) < deviation(without, seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_market_makers_withdraw_when_volatility_passes_their_limit(
    base: Scenario, seed: int
) -> None:
    inst = dc.replace(
        base.instruments[0],
        fundamental=Fundamental(volatility=0.16, shocks=(Shock(1800, "volatility", 4.0),)),
        mark="last",
    )
    noise, value, makers = _pops(base, "noise", "value", "market_makers")
    strong = dc.replace(
        value, params=ValueParams(aggressiveness=50.0, vol_reference=3.0, vol_exit=5.0)
    )
    nervous = dc.replace(makers, params=MarketMakerParams(vol_withdraw=0.8))
    s = dc.replace(base, instruments=(inst,), populations=(noise, strong, nervous), policy=Policy())
    g = simulate(s, seed).series["GOLD"]
    calm, storm = g.iloc[600:1800], g.iloc[1800:]
    assert calm["active_makers"].min() == nervous.accounts
    assert storm["active_makers"].min() < nervous.accounts
    assert storm["volatility"].max() > 0.8
    assert storm["spread"].max() > 3 * calm["spread"].median()


def test_liquidations_happen_with_leveraged_longs_and_a_crash(base: Scenario) -> None:
    from deleverage import MarginRule

    inst = dc.replace(
        base.instruments[0],
        margin=MarginRule(initial_rate=0.04, maintenance_rate=0.02),
        mark="last",
        fundamental=Fundamental(
            volatility=0.16, shocks=(Shock(300, "jump", 0.04), Shock(1800, "jump", -0.10))
        ),
    )
    spec, noise, value, makers = _pops(base, "speculators", "noise", "value", "market_makers")
    levered = dc.replace(
        spec,
        params=SpeculatorParams(
            target_leverage=Distribution.uniform(10.0, 25.0), max_leverage=25.0
        ),
    )
    strong = dc.replace(
        value, params=ValueParams(aggressiveness=50.0, vol_reference=3.0, vol_exit=5.0)
    )
    sturdy = dc.replace(
        makers,
        params=MarketMakerParams(
            vol_withdraw=5.0,
            loss_withdraw=0.9,
            inventory_limit=100_000,
            depth_lots=Distribution.uniform(20, 60),
        ),
    )
    s = dc.replace(
        base, instruments=(inst,), populations=(levered, noise, strong, sturdy), policy=Policy()
    )
    result = simulate(s, 0)
    liq = result.liquidations
    assert result.metrics()["liquidations"] > 10
    assert set(liq["kind"]) <= {"partial", "book", "takeover", "adl", "adl_victim"}
    assert result.conservation_error < 1e-9
    # Speculators are the ones liquidated.
    assert result.accounts.loc["speculators", "liquidated"] > 0


def test_scenario_and_seed_are_checked(base: Scenario) -> None:
    with pytest.raises(TypeError, match=r"^scenario: must be a Scenario"):
        simulate("default", 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^seed: must be an integer"):
        simulate(base, -1)


def test_volatility_triggers_average_over_their_own_window(base: Scenario) -> None:
    from deleverage import MarginRule
    from deleverage.scenario import VolatilityTrigger

    inst = dc.replace(
        base.instruments[0],
        fundamental=Fundamental(volatility=0.16, shocks=(Shock(1800, "volatility", 4.0),)),
        mark="last",
    )
    noise, value, makers = _pops(base, "noise", "value", "market_makers")
    strong = dc.replace(
        value, params=ValueParams(aggressiveness=50.0, vol_reference=3.0, vol_exit=5.0)
    )
    hike = MarginRule(initial_rate=0.2, maintenance_rate=0.1)
    fast = VolatilityTrigger("GOLD", window_steps=30, threshold=0.6, margin=hike)
    slow = VolatilityTrigger("GOLD", window_steps=1200, threshold=0.6, margin=hike)
    s = dc.replace(
        base,
        instruments=(inst,),
        populations=(noise, strong, makers),
        policy=Policy(volatility_triggers=(fast, slow)),
    )
    fired = simulate(s, 0).info["trigger_times"]
    assert fired[0] is not None
    assert fired[0] >= 1800
    # The long average reacts later, or not within the run.
    assert fired[1] is None or fired[1] > fired[0]


def _leverage_world(base: Scenario, leveraged: bool) -> Scenario:
    """Good news (+4%) then bad (-6%), into a crowd of momentum speculators that
    is either leveraged 10-25x or capped at 1x; everything else identical."""
    from deleverage import MarginRule

    inst = dc.replace(
        base.instruments[0],
        margin=MarginRule(initial_rate=0.04, maintenance_rate=0.02),
        mark="last",
        fundamental=Fundamental(
            volatility=0.16, shocks=(Shock(300, "jump", 0.04), Shock(1800, "jump", -0.06))
        ),
    )
    spec, noise, value, makers, holders = _pops(
        base, "speculators", "noise", "value", "market_makers", "holders"
    )
    leverage = (
        SpeculatorParams(target_leverage=Distribution.uniform(10.0, 25.0), max_leverage=25.0)
        if leveraged
        else SpeculatorParams(target_leverage=Distribution.fixed(1.0), max_leverage=1.0)
    )
    spec = dc.replace(spec, cash=Distribution.lognormal(2e5, 0.5), params=leverage)
    value = dc.replace(
        value,
        cash=Distribution.lognormal(5e6, 0.3),
        params=ValueParams(vol_exit=1.5, vol_reference=1.0),
    )
    makers = dc.replace(
        makers,
        params=MarketMakerParams(
            vol_withdraw=1.5, inventory_limit=20_000, depth_lots=Distribution.uniform(20, 60)
        ),
    )
    return dc.replace(
        base,
        instruments=(inst,),
        populations=(spec, noise, value, makers, holders),
        policy=Policy(),
    )


def test_leverage_deepens_the_drawdown_of_the_same_shock(base: Scenario) -> None:
    # Paired runs: the same seed draws the same accounts, news and order flow;
    # only the speculators' leverage differs.
    levered_world = _leverage_world(base, leveraged=True)
    capped_world = _leverage_world(base, leveraged=False)
    deeper = 0
    ratios = []
    for seed in range(12):
        levered = simulate(levered_world, seed)
        capped = simulate(capped_world, seed)
        assert levered.metrics()["liquidations"] > 0
        assert capped.metrics()["liquidations"] == 0
        a = levered.metrics()["max_drawdown"]
        b = capped.metrics()["max_drawdown"]
        deeper += a > b
        ratios.append(a / b)
    # Measured: deeper in 12 of 12 seeds, by 1.04x to 1.41x (mean 1.21x).
    assert deeper >= 11
    assert np.mean(ratios) > 1.1


@pytest.mark.parametrize(("preset", "seed"), [("default", 0), ("default", 3), ("default-day", 1)])
def test_metrics_straight_from_the_records_match_the_results(preset: str, seed: int) -> None:
    from deleverage.simulate import simulate_metrics

    scenario = load_preset(preset)
    if preset == "default-day":
        scenario = scenario.with_accounts(2_000)
    full = simulate(scenario, seed).metrics()
    fast = simulate_metrics(scenario, seed)
    full.pop("wall_seconds")
    fast.pop("wall_seconds")
    assert full == pytest.approx(fast, rel=0, abs=0, nan_ok=True)
