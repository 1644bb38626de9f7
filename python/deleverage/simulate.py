"""Run a scenario: ``simulate(scenario, seed) -> Result``.

The scenario is turned into the engine's typed specs by
``deleverage.engine_spec`` (accounts drawn from each population's
distributions with a generator seeded from ``seed``, horizons turned into
per-step weights), then the whole run executes in C++ without the GIL.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Literal

import numpy as np

from deleverage import _core
from deleverage.cpus import usable_cpus
from deleverage.data.join import SnapshotPart, snapshot_part
from deleverage.data.paths import attach_paths
from deleverage.engine_spec import (
    MAX_ACCOUNT_CASH,
    STRATEGIES,
    EngineInput,
    accounts,
    engine_input,
    population,
    simulation,
)
from deleverage.result import Result
from deleverage.scenario import Scenario

log = logging.getLogger(__name__)

__all__ = [
    "MAX_ACCOUNT_CASH",
    "accounts_due_per_step",
    "build",
    "build_joined",
    "run_threads",
    "simulate",
    "simulate_metrics",
    "threads_for",
]

#: ``simulate(..., threads="auto")``: as many as ``threads_for(scenario)`` says.
Threads = int | Literal["auto"]


def build(
    scenario: Scenario, seed: int, *, trade_log: bool = False
) -> tuple[_core.Simulation, EngineInput]:
    """The engine's simulation for a scenario and seed (not yet run), and the input it
    was built from (``deleverage.engine_spec``)."""
    sim, data, _ = build_joined(scenario, seed, trade_log=trade_log)
    return sim, data


def build_joined(
    scenario: Scenario, seed: int, *, trade_log: bool = False
) -> tuple[_core.Simulation, EngineInput, SnapshotPart | None]:
    """``build``, and the part its file of accounts joins (None without one): what
    the spec of the same world with other schedules needs (``deleverage.shared_steps``)."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ValueError(f"seed: must be an integer in 0..2**63-1, got {seed!r}")
    seed = int(seed)
    names = [inst.name for inst in scenario.instruments]
    dt = scenario.clock.dt
    first = scenario.total_accounts
    # A snapshot of accounts joins after the generated ones (deleverage.data.join).
    joined = snapshot_part(
        scenario,
        seed,
        first,
        lambda params: STRATEGIES[type(params)].account_param,
        lambda pop, start, count: population(pop, start, names, dt, count),
        lambda start, count: _core.PopulationSpec(
            first=start,
            count=count,
            instrument=0,
            instruments=[0],
            activity=1.0,
            params=_core.HoldSpec(),
        ),
        lambda extra: accounts(scenario, seed, extra),
    )
    data = engine_input(scenario, seed, trade_log=trade_log, snapshot=joined)
    sim = simulation(data)
    # Recorded paths: bound structs, after the spec (deleverage.data).
    attach_paths(sim, scenario)
    if joined is not None:
        joined.open(sim)
    return sim, data, joined


def accounts_due_per_step(scenario: Scenario) -> float:
    """How many accounts a step of ``scenario`` asks to decide, on average as its
    populations start: each population's accounts times its chance to act in a
    step (``activity`` an hour over the step, at most 1). Market makers, who
    requote every step apart from the others, are not counted."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    step_hours = scenario.clock.dt / 3600.0
    return sum(
        pop.accounts * min(1.0, pop.activity * step_hours)
        for pop in scenario.populations
        if pop.strategy != "market_maker"
    )


def threads_for(scenario: Scenario) -> int:
    """The threads a run of ``scenario`` pays off on (``threads="auto"``): two when
    its steps have ``_core.PARALLEL_GATHER`` accounts due or more on average (the
    engine splits a step's gathering from there; below it a helper only waits)
    and this process may use two CPUs, else one. Two is the number measured to
    pay off (docs/simulation.md, "Threads"); the result is the same bit for bit
    on any number."""
    if accounts_due_per_step(scenario) < _core.PARALLEL_GATHER:
        return 1
    return min(2, usable_cpus())


def run_threads(threads: object, scenario: Scenario) -> int:
    """``threads`` checked: an integer in [1, MAX_THREADS], or ``"auto"`` (``threads_for``)."""
    if isinstance(threads, str):
        if threads != "auto":
            allowed = f'"auto" or an integer in [1, {_core.MAX_THREADS}]'
            raise ValueError(f"threads: must be {allowed}, got {threads!r}")
        return threads_for(scenario)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f'threads: must be an integer or "auto", got {type(threads).__name__}')
    if not 1 <= threads <= _core.MAX_THREADS:
        raise ValueError(f"threads: must be in [1, {_core.MAX_THREADS}], got {threads}")
    return int(threads)


def simulate(
    scenario: Scenario,
    seed: int = 0,
    *,
    progress: bool | None = None,
    keep_partial: bool = False,
    trade_log: bool = False,
    account_states: bool = False,
    threads: Threads = 1,
    time_phases: bool = False,
) -> Result:
    """Run `scenario` with `seed`; the same scenario and seed give bit-identical results.

    progress: a progress bar (tqdm) on runs longer than a second; None shows it
    only on a terminal. On Ctrl-C the run stops between steps and raises
    KeyboardInterrupt, unless keep_partial is true: then the steps done so far
    come back as a partial Result. trade_log: keep every trade (``Result.trades``);
    a day at a million accounts makes tens of millions of them. account_states: keep
    every account's final state (``Result.account_states``, see
    ``deleverage.account_states``). threads: 1..64 threads share each step's
    gathering of the accounts due (and the leverage samples), or ``"auto"``
    (``threads_for``: two for a world with a few hundred accounts due a step,
    such as gold-2026 at its default size, on a machine with two CPUs); the
    result is the same bit for bit whatever their number. Runs side by side, as
    in a sweep, are better left at one each. time_phases: time each phase of the
    steps (``Result.phase_seconds``: where the run's time went); the result is the
    same bit for bit, and the clock reads cost about 1% of a run whose steps take
    microseconds.
    """
    start = time.perf_counter()
    if not isinstance(trade_log, bool):
        raise TypeError(f"trade_log: must be a bool, got {type(trade_log).__name__}")
    if not isinstance(account_states, bool):
        raise TypeError(f"account_states: must be a bool, got {type(account_states).__name__}")
    if not isinstance(time_phases, bool):
        raise TypeError(f"time_phases: must be a bool, got {type(time_phases).__name__}")
    threads = run_threads(threads, scenario)
    sim, spec = build(scenario, seed, trade_log=trade_log)
    log.debug(
        "%s: built %d accounts in %.2f s",
        scenario.name,
        scenario.total_accounts,
        time.perf_counter() - start,
    )
    show = sys.stderr.isatty() if progress is None else progress
    bar = None

    def tick(done: int) -> None:
        nonlocal bar
        if bar is None and show and time.perf_counter() - start > 1.0:
            from tqdm.auto import tqdm

            bar = tqdm(total=scenario.clock.steps, unit="step", desc=scenario.name, leave=False)
        if bar is not None:
            bar.update(done - bar.n)

    try:
        sim.run(tick, threads=threads, time_phases=time_phases)
    except KeyboardInterrupt:
        if not keep_partial:
            raise
        log.debug("%s: interrupted; keeping the steps done", scenario.name)
    finally:
        if bar is not None:
            bar.close()
    result = Result.from_simulation(
        scenario,
        seed,
        sim,
        time.perf_counter() - start,
        trade_log=trade_log,
        account_states=account_states,
        blocks=spec.blocks,
    )
    if time_phases:
        result.info["phase_seconds"] = sim.phase_seconds
    return result


def simulate_metrics(scenario: Scenario, seed: int = 0) -> dict[str, float | int]:
    """``simulate(scenario, seed).metrics()`` without building the Result's tables:
    the same numbers, for sweeps of many small runs where the tables would cost
    as much as the run."""
    from deleverage.result import simulation_metrics

    start = time.perf_counter()
    sim, _ = build(scenario, seed)
    sim.run()
    return simulation_metrics(scenario, sim, time.perf_counter() - start)
