"""``Population.opening = "target"``: accounts that start holding what their first
decision wants, opened at the start prices against the outside.

The oracle for the allocators is their sizing rule in plain Python (equity split
between the instruments, times the capped leverage, over a lot's value); the
behaviour is checked against the same world starting flat on the same seed.
"""

from __future__ import annotations

import dataclasses as dc
import math

import numpy as np
import pytest

from deleverage import _core, engine_spec
from deleverage.scenario import (
    AllocatorParams,
    Distribution,
    Population,
    Scenario,
    ValueParams,
    from_toml_str,
    to_toml_str,
)
from deleverage.scenarios import load_preset
from deleverage.simulate import build, simulate

FRACTION = 0.02
DAY = 288  # five-minute steps
CASH = Distribution.fixed(1000.0)


def _opening(world: Scenario, name: str, opening: str, **params: object) -> Scenario:
    pops = tuple(
        dc.replace(
            p, opening=opening, params=dc.replace(p.params, **params) if params else p.params
        )
        if p.name == name
        else p
        for p in world.populations
    )
    return world.replace(populations=pops)


@pytest.fixture(scope="module")
def world() -> Scenario:
    """The dash for cash with every population starting flat (the preset's
    allocators hold their book from the start), so that each test sets what it
    checks."""
    return _opening(load_preset("dash-for-cash-2020").scaled(FRACTION), "macro_funds", "flat")


@pytest.mark.parametrize("shares", [(), (0.8, 0.2), (0.25, 0.75)])
def test_allocators_open_what_their_sizing_rule_wants(
    world: Scenario, shares: tuple[float, ...]
) -> None:
    # vol_target 0: no volatility scaling, so the rule is cash x leverage over a lot's value,
    # on each instrument's share of the budget (equal when none are given).
    scenario = _opening(world, "macro_funds", "target", vol_target=0.0)
    pops = tuple(
        dc.replace(p, budget_shares=shares) if p.name == "macro_funds" else p
        for p in scenario.populations
    )
    scenario = scenario.replace(populations=pops)
    sim, data = build(scenario, seed=3)
    pop = next(p for p in scenario.populations if p.name == "macro_funds")
    assert isinstance(pop.params, AllocatorParams)
    names = [i.name for i in scenario.instruments]
    n, ni = pop.accounts, len(names)
    position = np.asarray(sim.position).reshape(-1, ni)
    expected = np.zeros((n, ni), dtype=np.int64)
    for k, name in enumerate(pop.traded):
        i = names.index(name)
        inst = scenario.instruments[i]
        cap = min(pop.params.max_leverage, 1.0 / inst.margin.initial_rate)
        unit = float(data.spec.start_ticks[i]) * data.tick_values[i]  # money per lot
        share = shares[k] if shares else 1.0 / len(pop.traded)
        for a in range(n):
            equity = data.accounts.cash[a] * share
            lots = math.floor(equity * min(data.accounts.param[a], cap) / unit)
            expected[a, i] = lots if lots > 0 else 0
    assert expected.sum() > 0
    assert np.array_equal(position[:n], expected)
    assert not position[n:].any()  # every other population starts flat
    # The entry is the start price: nothing gained or lost before the first step.
    cost = np.asarray(sim.cost).reshape(-1, ni)[:n]
    assert np.allclose(cost, expected * np.asarray(data.spec.start_ticks) * data.tick_values)


def test_a_market_already_in_place_does_not_buy_its_book_at_the_open(world: Scenario) -> None:
    flat = simulate(world.with_steps(DAY), seed=1, trade_log=True)
    held = simulate(
        _opening(world, "macro_funds", "target").with_steps(DAY), seed=1, trade_log=True
    )
    funds = world.populations[0].accounts  # macro_funds are the first accounts

    def bought(result: object) -> int:
        t = result.trades  # type: ignore[attr-defined]
        gold = t[t.instrument == "GOLD"]
        return int(gold.qty[gold.buyer < funds].sum() - gold.qty[gold.seller < funds].sum())

    sim, _ = build(_opening(world, "macro_funds", "target"), seed=1)
    opened = int(np.asarray(sim.position).reshape(-1, 2)[:funds, 1].sum())  # GOLD's lots
    # Flat, the funds buy most of their book on the first day (each acts every
    # five hours or so); holding it, at most a small part (their rebalancing band).
    assert bought(flat) > 0.6 * opened
    assert abs(bought(held)) < 0.2 * opened
    assert held.conservation_error < 1e-12
    again = simulate(
        _opening(world, "macro_funds", "target").with_steps(DAY), seed=1, trade_log=True
    )
    assert again.series["GOLD"].equals(held.series["GOLD"])
    assert again.trades.equals(held.trades)


def test_value_traders_at_fair_value_open_nothing(world: Scenario) -> None:
    scenario = _opening(world, "gold_value", "target")
    sim, _ = build(scenario, seed=0)
    assert not np.asarray(sim.position).any()  # no mispricing at the start: no position


def test_opening_round_trips_through_toml(world: Scenario) -> None:
    scenario = _opening(world, "macro_funds", "target")
    again = from_toml_str(to_toml_str(scenario))
    assert again == scenario
    assert again.populations[0].opening == "target"


@pytest.mark.parametrize("strategy", ["market_maker", "noise"])
def test_strategies_without_a_target_are_refused(strategy: str) -> None:
    with pytest.raises(ValueError, match=r"^opening: 'target' is for speculator, value, holder"):
        Population(
            name="p",
            strategy=strategy,  # type: ignore[arg-type]
            accounts=1,
            instrument="GOLD",
            cash=CASH,
            opening="target",
        )


@pytest.mark.parametrize("bad", ["open", "", "TARGET", 1])
def test_bad_openings_name_the_field(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match=r"^opening"):
        Population(
            name="p",
            strategy="value",
            accounts=1,
            instrument="GOLD",
            cash=CASH,
            params=ValueParams(),
            opening=bad,  # type: ignore[arg-type]
        )


def test_the_engine_refuses_a_target_for_a_strategy_that_draws(
    world: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = engine_spec.population

    def forced(pop: Population, *args: object, **kwargs: object) -> _core.PopulationSpec:
        spec = original(pop, *args, **kwargs)  # type: ignore[arg-type]
        if pop.strategy != "noise":
            return spec
        return _core.PopulationSpec(
            first=spec.first,
            count=spec.count,
            instrument=spec.instrument,
            instruments=spec.instruments,
            activity=spec.activity,
            params=spec.params,
            open_at_target=True,
        )

    monkeypatch.setattr(engine_spec, "population", forced)
    with pytest.raises(ValueError, match=r"populations\[\d+\]\.open_at_target: only strategies"):
        build(world, seed=0)


def test_snapshot_accounts_following_the_population_hold_what_the_file_says(
    world: Scenario, tmp_path: object
) -> None:
    from pathlib import Path

    book = Path(str(tmp_path)) / "book.csv"
    book.write_text(
        "id,cash,position.GOLD,entry_price.GOLD,position.INDEX,entry_price.INDEX,mode,population\n"
        "7,5000000.0,120,1590.0,,,cross,macro_funds\n"
        "8,3000000.0,,,-4,3400.0,cross,macro_funds\n"
    )
    scenario = _opening(world, "macro_funds", "target").replace(accounts_file=str(book))
    sim, _ = build(scenario, seed=0)
    position = np.asarray(sim.position).reshape(-1, 2)
    generated = scenario.total_accounts
    assert position[: world.populations[0].accounts, 1].sum() > 0  # the generated ones opened
    assert position[generated:].tolist() == [[0, 120], [-4, 0]]  # INDEX, GOLD
