"""Worlds that share steps (``deleverage.shared_steps``, ``Simulation.fork``).

The oracle is the plain way: every world simulated on its own from the first
step. A world run from a copy of another at the step where the two part must
give the same Result bit for bit: every table, every figure.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage import _core
from deleverage.counterfactuals import FACTORS
from deleverage.engine_spec import simulation_spec
from deleverage.result import Result
from deleverage.scenario import (
    MarginChange,
    MarginRule,
    MarketMakerParams,
    PopulationChange,
    Scenario,
    Shock,
)
from deleverage.scenarios import load_preset
from deleverage.shared_steps import first_difference, share_groups, simulate_worlds
from deleverage.simulate import build, simulate
from deleverage.sweeps.paths import apply_paths
from test_persist import assert_same_result

HOUR = load_preset("default-hour")  # 3,600 one-second steps: the news and hike at 1800 and 2400
STEPS = HOUR.clock.steps


def with_margin_change(world: Scenario, step: int, rate: float) -> Scenario:
    notice = MarginChange(
        step,
        "GOLD",
        MarginRule(initial_rate=0.1, maintenance="percent", maintenance_rate=rate),
    )
    changes = sorted((*world.policy.margin_changes, notice), key=lambda c: c.step)
    return world.replace(policy=dataclasses.replace(world.policy, margin_changes=tuple(changes)))


def with_dealer_change(world: Scenario, step: int, vol_withdraw: float) -> Scenario:
    pops = tuple(
        dataclasses.replace(
            p, changes=(*p.changes, PopulationChange(step, {"vol_withdraw": vol_withdraw}))
        )
        if p.strategy == "market_maker"
        else p
        for p in world.populations
    )
    return world.replace(populations=pops)


def test_counterfactual_worlds_are_the_same_as_run_alone() -> None:
    worlds = [HOUR, *(FACTORS[f](HOUR) for f in ("news", "dealers_in_crash", "margin_hikes"))]
    worlds += [FACTORS["leverage"](HOUR), HOUR]  # one that parts at the start, and the same world
    assert [first_difference(HOUR, w, 5) for w in worlds] == [STEPS, 1800, 1800, 2400, 0, STEPS]
    shared = simulate_worlds(worlds, 5, trade_log=True, account_states=True)
    for world, result in zip(worlds, shared, strict=True):
        alone = simulate(world, 5, progress=False, trade_log=True, account_states=True)
        assert_same_result(_without_wall(alone), _without_wall(result))


def _without_wall(result: Result) -> Result:
    """The same Result with its wall time zeroed (a branch's counts the steps it shares)."""
    return dataclasses.replace(result, wall_seconds=0.0)


@settings(max_examples=12, deadline=None)
@given(
    step=st.integers(1, STEPS - 1),
    rate=st.floats(0.03, 0.2),
    dealers=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_a_branch_at_any_step_is_the_world_run_alone(
    step: int, rate: float, dealers: bool, seed: int
) -> None:
    if dealers:
        variant = with_dealer_change(HOUR, step, 20.0 * rate)
    else:
        variant = with_margin_change(HOUR, step, rate)
    assert first_difference(HOUR, variant, seed) == step
    base, branch = simulate_worlds([HOUR, variant], seed)
    assert_same_result(_without_wall(simulate(HOUR, seed, progress=False)), _without_wall(base))
    assert_same_result(
        _without_wall(simulate(variant, seed, progress=False)), _without_wall(branch)
    )


def test_first_difference_reads_each_schedule() -> None:
    gold = HOUR.instruments[0]
    # A shock: read at its own step.
    shocked = HOUR.replace(
        instruments=(
            dataclasses.replace(
                gold,
                fundamental=dataclasses.replace(
                    gold.fundamental,
                    shocks=(*gold.fundamental.shocks, Shock(3000, "jump", -0.01)),
                ),
            ),
        )
    )
    assert first_difference(HOUR, shocked) == 3000
    # Anything but a schedule: from the start.
    dealers = next(p for p in HOUR.populations if isinstance(p.params, MarketMakerParams))
    assert isinstance(dealers.params, MarketMakerParams)
    wider_quotes = dataclasses.replace(dealers.params, base_spread_ticks=3)
    wider = HOUR.replace(
        populations=tuple(
            dataclasses.replace(p, params=wider_quotes) if p is dealers else p
            for p in HOUR.populations
        )
    )
    assert first_difference(HOUR, wider) == 0
    assert first_difference(HOUR, HOUR.replace(clock=dataclasses.replace(HOUR.clock))) == STEPS
    # What no run reads does not part them.
    assert first_difference(HOUR, HOUR.replace(name="renamed", description="x")) == STEPS
    assert share_groups([HOUR, wider, FACTORS["news"](HOUR), wider]) == [[0, 2], [1, 3]]


def test_waypoints_are_read_from_the_step_after_the_one_before() -> None:
    world = load_preset("gold-2026")
    gold = world.instruments[0]
    points = gold.fundamental.waypoints
    assert len(points) >= 2
    moved = dataclasses.replace(points[1], price=points[1].price * 1.01)
    other = world.replace(
        instruments=(
            dataclasses.replace(
                gold,
                fundamental=dataclasses.replace(
                    gold.fundamental, waypoints=(points[0], moved, *points[2:])
                ),
            ),
            *world.instruments[1:],
        )
    )
    a = simulation_spec(world, 0)
    b = simulation_spec(other, 0)
    assert _core.first_difference(a, b) == points[0].step + 1


def test_run_in_pieces_is_one_run() -> None:
    alone, _ = build(HOUR, 2)
    alone.run()
    pieces, _ = build(HOUR, 2)
    for until in (0, 1, 700, 700, 1799, 1800, 2401):
        assert pieces.run(until=until)
        assert pieces.steps_done == until
    pieces.run(threads=2)
    assert pieces.steps_done == STEPS
    assert alone.records.tobytes() == pieces.records.tobytes()
    assert np.array_equal(alone.cash, pieces.cash)
    assert pieces.conservation_error() == alone.conservation_error()


def test_a_fork_leaves_its_trunk_alone_and_conserves_money() -> None:
    news = FACTORS["news"](HOUR)
    trunk, _ = build(HOUR, 4)
    trunk.run(until=1800)
    branch = trunk.fork(simulation_spec(news, 4))
    assert branch.steps_done == 1800
    branch.run()
    trunk.run()
    alone, _ = build(HOUR, 4)
    alone.run()
    assert alone.records.tobytes() == trunk.records.tobytes()
    assert abs(branch.conservation_error()) < 1e-12
    assert branch.records.tobytes() != trunk.records.tobytes()


def test_bad_input_is_refused_with_the_field_named() -> None:
    sim, data = build(HOUR, 0)
    with pytest.raises(ValueError, match=r"until: must be in \[0, 3600\]"):
        sim.run(until=3601)
    with pytest.raises(ValueError, match=r"until: must be in .*, got 2361183241434822606848"):
        sim.run(until=2**71)
    for wrong in (True, 1.5, math.nan, "5"):
        with pytest.raises(TypeError, match=r"until: must be an integer step in .* or None"):
            sim.run(until=wrong)  # type: ignore[arg-type]
    sim.run(until=np.int64(2000))
    with pytest.raises(ValueError, match=r"until: must be in \[2000, 3600\]"):
        sim.run(until=1999)
    # The news comes at 1800: a world without it parts before this run's step.
    with pytest.raises(ValueError, match=r"future: its world differs from this run's at step 1800"):
        sim.fork(simulation_spec(FACTORS["news"](HOUR), 0))
    unlevered = simulation_spec(FACTORS["leverage"](HOUR), 0)
    with pytest.raises(ValueError, match=r"future: .* in more than what is scheduled"):
        sim.fork(unlevered)
    fresh, _ = build(HOUR, 0)  # not even before its first step
    with pytest.raises(ValueError, match=r"future: .* in more than what is scheduled"):
        fresh.fork(unlevered)
    with pytest.raises(ValueError, match="scenarios: at least one world"):
        simulate_worlds([], 0)
    with pytest.raises(TypeError, match=r"scenarios\[1\]: must be a Scenario"):
        simulate_worlds([HOUR, "default-hour"], 0)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="scenarios: must be a sequence"):
        simulate_worlds("default-hour", 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed: must be an integer"):
        simulate_worlds([HOUR], -1)
    with pytest.raises(ValueError, match=r"threads: must be in \[1, 64\], got 0"):
        simulate_worlds([HOUR], 0, threads=0)
    with pytest.raises(ValueError, match='threads: must be "auto" or'):
        simulate_worlds([HOUR], 0, threads="many")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="b: must be a Scenario"):
        first_difference(HOUR, None)  # type: ignore[arg-type]
    assert data.spec.steps == STEPS


def test_a_running_simulation_is_not_forked() -> None:
    sim, data = build(HOUR, 0)
    errors: list[str] = []

    def progress(done: int) -> None:
        # Called between steps of a run that holds the simulation: a fork must wait for it to stop.
        if done == 1024:
            try:
                sim.fork(data.spec)
            except RuntimeError as e:
                errors.append(str(e))

    sim.run(progress)
    assert len(errors) == 1
    assert "fork: this simulation is running" in errors[0]
    # From another thread, between runs: a plain copy of the finished run.
    out: list[_core.Simulation] = []
    t = threading.Thread(target=lambda: out.append(sim.fork(data.spec)))
    t.start()
    t.join()
    assert out[0].records.tobytes() == sim.records.tobytes()


def test_a_venue_with_funds_adl_and_capacity_forks_exactly() -> None:
    # Two books, an insurance fund each, auto-deleveraging, a liquidation
    # engine's throughput and a trade log: every part of the engine's state
    # that a copy must carry, forked at the headline (21:00) and at the
    # dealers' scheduled change.
    venue = load_preset("crypto-cascade-2025").scaled(0.1)
    worlds = [venue, FACTORS["news"](venue), FACTORS["population_changes"](venue)]
    assert [first_difference(venue, w, 1) for w in worlds[1:]] == [75_600, 75_600]
    shared = simulate_worlds(worlds, 1, trade_log=True, threads=2)
    for world, result in zip(worlds, shared, strict=True):
        alone = simulate(world, 1, progress=False, trade_log=True)
        assert_same_result(_without_wall(alone), _without_wall(result))
    assert shared[0].metrics()["liquidations"] > 0


def test_a_sweep_of_a_scheduled_notice_gives_the_same_rows(tmp_path: Path) -> None:
    from deleverage.sweeps import sweep

    space = {"policy.margin_changes.0.margin.maintenance_rate": [0.05, 0.07, 0.09, 0.11]}
    alone = sweep(HOUR, space, seeds=[1, 2], workers=2, progress=False, share_steps=False)
    shared = sweep(
        HOUR, space, seeds=[1, 2], workers=2, progress=False, out=str(tmp_path / "s"), series=True
    )
    columns = [c for c in alone.columns if c != "wall_seconds"]
    pd.testing.assert_frame_equal(alone[columns], shared[columns])
    # The stored series are the runs' own (the last point's, seed 2, from a copy of the first's).
    last = pd.read_parquet(tmp_path / "s" / "series" / "run-000007.parquet")
    world = apply_paths(HOUR, {"policy.margin_changes.0.margin.maintenance_rate": 0.11})
    assert np.array_equal(
        last["GOLD.last"].to_numpy(), simulate(world, 2, progress=False).series["GOLD"]["last"]
    )
    with pytest.raises(TypeError, match="share_steps: must be a bool"):
        sweep(HOUR, space, seeds=[1], share_steps=1)  # type: ignore[arg-type]


def test_a_recorded_path_goes_with_the_copy(
    diffusion_world: Callable[..., Scenario], tmp_path: Path
) -> None:
    steps = 300
    prices = 2000.0 * np.exp(np.cumsum(np.random.default_rng(7).normal(0, 0.002, steps)))
    file = tmp_path / "path.csv"
    pd.DataFrame({"time": np.arange(steps) * 1.0, "price": prices}).to_csv(file, index=False)
    world = diffusion_world(steps, path=str(file))
    shocked = world.replace(
        instruments=(
            dataclasses.replace(
                world.instruments[0],
                fundamental=dataclasses.replace(
                    world.instruments[0].fundamental, shocks=(Shock(200, "jump", -0.05),)
                ),
            ),
        )
    )
    assert first_difference(world, shocked) == 200
    for w, result in zip([world, shocked], simulate_worlds([world, shocked], 3), strict=True):
        assert_same_result(_without_wall(simulate(w, 3, progress=False)), _without_wall(result))


def test_a_book_of_accounts_goes_with_the_copy(tmp_path: Path) -> None:
    # A risk team's own accounts joined to the world: some follow the
    # speculators (and so their scheduled change), some only hold.
    from test_accounts_file import _snapshot

    path = tmp_path / "book.parquet"
    _snapshot(150, 4).to_parquet(path, index=False)
    world = HOUR.replace(targets=(), quiet_window=(), accounts_file=str(path)).with_accounts(300)
    pops = tuple(
        dataclasses.replace(p, changes=(*p.changes, PopulationChange(2000, {"threshold": 0.01})))
        if p.name == "speculators"
        else p
        for p in world.populations
    )
    speculators_change = world.replace(populations=pops)
    worlds = [world, FACTORS["news"](world), FACTORS["margin_hikes"](world), speculators_change]
    assert [first_difference(world, w, 2) for w in worlds[1:]] == [1800, 2400, 2000]
    for w, result in zip(
        worlds, simulate_worlds(worlds, 2, account_states=True, trade_log=True), strict=True
    ):
        alone = simulate(w, 2, progress=False, account_states=True, trade_log=True)
        assert_same_result(_without_wall(alone), _without_wall(result))


def test_cross_margined_portfolios_fork_exactly() -> None:
    # gold-2026's allocators hold gold, the index and bitcoin on one equity: the
    # cross-margin scan (its epoch and buckets) goes with the copy.
    world = load_preset("gold-2026").scaled(0.01)
    steady = FACTORS["dealers_in_crash"](world)
    assert first_difference(world, steady, 0) == 47_520
    for w, result in zip([world, steady], simulate_worlds([world, steady], 0), strict=True):
        assert_same_result(_without_wall(simulate(w, 0, progress=False)), _without_wall(result))
