"""Scheduled changes of a population's parameters (``Population.changes``).

Oracles:
- a change that sets what is already in force leaves the run bit for bit as
  it was, and a change at step 0 is the world built with those parameters;
- a real change leaves every step before it bit for bit as without it, and
  after it the book shows the new rule: dealers (every best quote is theirs)
  quote exactly as wide as the rule in force says, step by step;
- a change of activity: after it each account acts at most once more (the gap
  drawn before) and then at the new rate, counted from the trade log;
- TOML and dotted paths carry changes; counterfactual worlds override the
  fields they neutralise for the whole run; bad changes are errors that name
  the field, in Python and at the engine's boundary.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealer_world import BASE, dealer_world, plain_dealers
from deleverage import _core
from deleverage.counterfactuals.factors import no_dealer_budgets, steady_dealers
from deleverage.engine_spec import engine_input, population_changes, simulation, simulation_spec
from deleverage.scenario import (
    NoiseParams,
    Population,
    PopulationChange,
    Scenario,
    from_toml_str,
    to_toml_str,
)
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths

STEPS = 1200
MOOD = NoiseParams(sentiment_persistence=0.999, sentiment_volatility=0.02)


def _world(*changes: PopulationChange, population: str = "dealers", **dealer: object) -> Scenario:
    world = dealer_world("changes", plain_dealers(**dealer), MOOD, steps=STEPS)
    pops = tuple(
        dataclasses.replace(p, changes=changes) if p.name == population else p
        for p in world.populations
    )
    return world.replace(populations=pops)


def _series(world: Scenario, seed: int = 0) -> dict[str, np.ndarray]:
    s = simulate(world, seed, progress=False).series["X"]
    return {c: s[c].to_numpy() for c in ("last", "best_bid", "best_ask", "spread", "fair")}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray], rows: slice = slice(None)) -> bool:
    return all(np.array_equal(a[c][rows], b[c][rows], equal_nan=True) for c in a)


def test_a_change_to_what_is_in_force_changes_nothing() -> None:
    base = _series(_world())
    same = _world(PopulationChange(400, {"base_spread_ticks": BASE, "levels": 3}, activity=3600.0))
    assert _same(_series(same), base)


def test_a_change_at_step_zero_is_the_world_built_with_it() -> None:
    changed = _series(_world(PopulationChange(0, {"base_spread_ticks": 5})))
    assert _same(changed, _series(_world(base_spread_ticks=5)))


@pytest.mark.parametrize("seed", [0, 1])
def test_dealers_quote_the_rule_in_force(seed: int) -> None:
    at, wide = 600, 7
    deep = {"inventory_limit": 10**9}  # they never reach it: both sides always quoted
    base = _series(_world(**deep), seed)
    s = _series(_world(PopulationChange(at, {"base_spread_ticks": wide}), **deep), seed)
    # Row t is recorded at the end of step t: the rule in force from row `at` on.
    assert _same(s, base, slice(0, at))
    assert not _same(s, base, slice(at, None))
    ticks = np.round(s["spread"] / 0.01)
    assert np.isfinite(ticks).all()
    # A dealer's bid and ask sit `half` ticks either side of its centre, floor
    # and ceil of an off-tick centre: 2 half or 2 half + 1 ticks apart (every
    # best quote is theirs, and their depth outlasts any step's orders).
    assert set(ticks[:at]) <= {2 * BASE, 2 * BASE + 1}
    assert set(ticks[at:]) <= {2 * wide, 2 * wide + 1}


def _noise_trades_after(world: Scenario, at: int) -> tuple[int, int]:
    """(noise traders' orders from step `at` on, noise traders) from the trade log."""
    result = simulate(world, 0, trade_log=True, progress=False)
    trades = result.trades
    assert trades is not None
    traders = world.populations[0].accounts
    # Market orders only: each taker order prints at least one trade at its step.
    taker = np.where(trades["aggressor"] == 0, trades["buyer"], trades["seller"])
    step = np.round(trades["time"].to_numpy()).astype(np.int64)
    orders = {(int(a), int(t)) for a, t in zip(taker, step, strict=True) if a < traders and t >= at}
    return len(orders), traders


def test_a_change_of_activity_takes_effect_from_each_accounts_next_gap() -> None:
    at = 300
    # From 120 an hour (an order every 30 s) to one a year: each trader acts at
    # most once more, on the gap it drew before the change.
    # Dealers deep enough to fill every market order.
    calm = _world(
        PopulationChange(at, activity=1.0 / 8760.0), population="noise", inventory_limit=10**9
    )
    orders, traders = _noise_trades_after(calm, at)
    assert 0 < orders <= traders
    busy, _ = _noise_trades_after(_world(inventory_limit=10**9), at)
    # Unchanged: 500 traders acting every 30 s or so for 900 s send thousands.
    assert busy > 4 * traders


def test_changes_reach_the_engine_sorted_with_the_parameters_in_force() -> None:
    world = _world(
        PopulationChange(100, {"base_spread_ticks": 4}),
        PopulationChange(900, {"levels": 2}, activity=1800.0, note="later"),
    )
    noise = dataclasses.replace(
        world.populations[0], changes=(PopulationChange(500, {"limit_share": 0.5}),)
    )
    world = world.replace(populations=(noise, world.populations[1]))
    specs = simulation_spec(world, 0).population_changes
    assert [(c.step, c.population) for c in specs] == [(100, 1), (500, 0), (900, 1)]
    last = specs[2]
    # Earlier changes stay in force: the spread set at 100 is still there at 900.
    assert last.params.base_spread_ticks == 4
    assert last.params.levels == 2
    assert last.activity == pytest.approx(0.5)
    assert specs[1].params.limit_share == 0.5
    assert population_changes(world)[0].params.levels == 3


def test_toml_and_dotted_paths_carry_changes() -> None:
    world = _world(PopulationChange(100, {"base_spread_ticks": 4}, note="relief"))
    text = to_toml_str(world)
    assert from_toml_str(text) == world
    swept = apply_paths(world, {"populations.dealers.changes.0.params.base_spread_ticks": 9})
    assert swept.populations[1].changes[0].params == {"base_spread_ticks": 9}
    # A field the change does not set yet is added to it, its value checked as the change's own.
    added = apply_paths(world, {"populations.dealers.changes.0.params.levels": 3})
    assert added.populations[1].changes[0].params == {"base_spread_ticks": 4, "levels": 3}
    assert population_changes(added)[0].params.levels == 3
    with pytest.raises(ValueError, match=r"changes\[0\]\.params\.levels: must be"):
        apply_paths(world, {"populations.dealers.changes.0.params.levels": 0})
    # Anything else is refused by name, with the keys it sets and the fields it could add.
    with pytest.raises(
        ValueError,
        match=r"changes\.0\.params\.level: unknown key 'level' .*valid: base_spread_ticks; "
        r"or, to end the path, one it does not set yet: .*levels",
    ):
        apply_paths(world, {"populations.dealers.changes.0.params.level": 3})
    with pytest.raises(ValueError, match=r"params\.levels\.x: unknown key 'levels'"):
        apply_paths(world, {"populations.dealers.changes.0.params.levels.x": 3})
    with pytest.raises(ValueError, match=r"changes\[0\]\.params\.base_spread_ticks: must be"):
        apply_paths(world, {"populations.dealers.changes.0.params.base_spread_ticks": 0})


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(st.integers(0, STEPS - 1), min_size=1, max_size=4),
    spreads=st.lists(st.integers(1, 50), min_size=4, max_size=4),
)
def test_toml_round_trip_of_any_schedule(steps: list[int], spreads: list[int]) -> None:
    changes = tuple(
        PopulationChange(s, {"base_spread_ticks": w})
        for s, w in zip(sorted(steps), spreads, strict=False)
    )
    world = _world(*changes)
    assert from_toml_str(to_toml_str(world)) == world
    in_force = [p.base_spread_ticks for _, _, p in world.populations[1].schedule()]
    assert in_force == [c.params["base_spread_ticks"] for c in changes]


def test_counterfactuals_hold_their_fields_for_the_whole_run() -> None:
    world = _world(
        PopulationChange(100, {"var_volatility": 0.5, "levels": 2}),
        PopulationChange(200, {"vol_withdraw": 0.5}),
        var_volatility=0.2,
    )
    no_budgets = no_dealer_budgets(world).populations[1]
    assert no_budgets.params.var_volatility == 0.0
    assert [c.params for c in no_budgets.changes] == [{"levels": 2}, {"vol_withdraw": 0.5}]
    steady = steady_dealers(world).populations[1]
    # The steady dealers' change of vol_withdraw is gone, and with it the change.
    assert [c.params for c in steady.changes] == [{"var_volatility": 0.5, "levels": 2}]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"depth_lots": 5.0}, r"changes\[0\]\.params\.depth_lots: drawn once per account"),
        ({"spread": 5}, r"changes\[0\]\.params\.spread: unknown field of MarketMakerParams"),
        ({"levels": 0}, r"changes\[0\]\.params\.levels: must be in \[1, 100\]"),
        ({"var_horizon": 600.0}, r"changes\[0\]\.params\.var_horizon: cannot be switched"),
        ({"stress_instruments": ("X",)}, r"changes\[0\]\.params\.stress_instruments: cannot be"),
    ],
)
def test_a_bad_change_names_its_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _world(PopulationChange(10, change))


def test_bad_schedules_are_errors_that_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"params: a change sets at least one parameter"):
        PopulationChange(10)
    with pytest.raises(ValueError, match=r"step: must be in \[0, "):
        PopulationChange(-1, {"levels": 2})
    with pytest.raises(ValueError, match=r"activity: must be in \(0.0, 3600.0\]"):
        PopulationChange(1, activity=0.0)
    with pytest.raises(ValueError, match=r"changes: must be sorted by step"):
        _world(PopulationChange(20, {"levels": 2}), PopulationChange(10, {"levels": 1}))
    with pytest.raises(ValueError, match=r"populations\[1\]\.changes\[0\]\.step: must be < clock"):
        _world(PopulationChange(STEPS, {"levels": 2}))
    with pytest.raises(TypeError, match=r"changes\[0\]: must be a PopulationChange"):
        dataclasses.replace(_world().populations[1], changes=({"step": 1},))
    toml = to_toml_str(_world(PopulationChange(10, {"levels": 2})))
    nested = toml.replace("params = { levels = 2 }", "params = { levels = { value = 2 } }")
    with pytest.raises(TypeError, match=r"changes\[0\]\.params\.levels: expected a number"):
        from_toml_str(nested)
    # A shorter run drops the changes past its end.
    assert _world(PopulationChange(900, {"levels": 2})).with_steps(900).populations[1].changes == ()


def test_the_engine_checks_changes_it_is_given() -> None:
    data = engine_input(_world(), 0)
    noise = data.spec.populations[0].params
    maker = data.spec.populations[1].params

    def build(changes: list[_core.PopulationChangeSpec]) -> None:
        fields = {f: getattr(data.spec, f) for f in data.spec.fields}
        fields["population_changes"] = changes
        simulation(dataclasses.replace(data, spec=_core.SimulationSpec(**fields)))

    cases = [
        ([_core.PopulationChangeSpec(step=5, population=1, activity=1.0, params=noise)],
         r"population_changes\[0\]\.params: must be of the population's own strategy"),
        ([_core.PopulationChangeSpec(step=5, population=7, activity=1.0, params=maker)],
         r"population_changes\[0\]\.population: unknown population 7"),
        ([_core.PopulationChangeSpec(step=5, population=1, activity=2.0, params=maker)],
         r"population_changes\[0\]\.activity"),
        ([_core.PopulationChangeSpec(step=9, population=1, activity=1.0, params=maker),
          _core.PopulationChangeSpec(step=5, population=1, activity=1.0, params=maker)],
         r"population_changes\[1\]\.step: must be sorted by step"),
    ]  # fmt: skip
    for changes, message in cases:
        with pytest.raises(ValueError, match=message):
            build(changes)


def test_population_keeps_its_changes_through_scaling() -> None:
    world = _world(PopulationChange(100, {"levels": 2}))
    assert world.with_accounts(200).populations[1].changes == world.populations[1].changes
    assert isinstance(world.populations[1], Population)


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.5, 1.0, 3.0])
def test_scaling_scales_a_scheduled_inventory_limit_as_the_limit_itself(fraction: float) -> None:
    """A dealer's inventory limit is a size: ``scaled`` scales it in the changes as in
    the parameters, so the limit in force at every step is the scaled one (the
    oracle: the schedule of the full world, each limit scaled alone)."""
    world = _world(
        PopulationChange(100, {"inventory_limit": 2_000, "levels": 2}),
        PopulationChange(600, {"inventory_limit": 30}),
        PopulationChange(900, {"levels": 4}),
    )
    full = world.populations[1].schedule()
    small = world.scaled(fraction).populations[1]
    assert [(step, params.inventory_limit) for step, _, params in small.schedule()] == [
        (step, max(1, round(params.inventory_limit * fraction))) for step, _, params in full
    ]
    assert small.params.inventory_limit == max(
        1, round(world.populations[1].params.inventory_limit * fraction)
    )
    assert [c.params.get("levels") for c in small.changes] == [2, None, 4]
