"""Worlds that run the same steps share them: ``simulate_worlds``.

Two worlds that differ only in what is scheduled (a population's ``changes``,
the policy's ``margin_changes``, the fair values' ``shocks`` and
``waypoints``) run the same steps, bit for bit with one seed, up to the first
step at which a scheduled difference is read. A counterfactual without the
crash day's news shares the month before it with the world as it is; a sweep
of the margin notice on the crash day shares everything before that day.
``simulate_worlds`` runs such worlds once up to where they part and forks the
engine there (``_core.Simulation.fork``, a copy of the whole run at that
step): the results are the same, bit for bit, as separate runs, and the
shared steps are run once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from deleverage import _core
from deleverage.engine_spec import simulation_spec
from deleverage.scenario import Scenario

if TYPE_CHECKING:
    from deleverage.data.join import AccountBlocks
    from deleverage.result import Result

__all__ = ["first_difference", "run_worlds", "share_groups", "simulate_worlds", "unscheduled"]


def unscheduled(scenario: Scenario) -> Scenario:
    """The world without its schedules and without what no run reads (its name,
    description, episode, quiet window and targets): two worlds equal here run
    the same steps up to their first scheduled difference."""
    instruments = tuple(
        dataclasses.replace(
            inst, fundamental=dataclasses.replace(inst.fundamental, shocks=(), waypoints=())
        )
        for inst in scenario.instruments
    )
    populations = tuple(dataclasses.replace(p, changes=()) for p in scenario.populations)
    policy = dataclasses.replace(scenario.policy, margin_changes=())
    return scenario.replace(
        name="world",
        description="",
        episode=None,
        quiet_window=(),
        targets=(),
        instruments=instruments,
        populations=populations,
        policy=policy,
    )


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ValueError(f"seed: must be an integer in 0..2**63-1, got {seed!r}")
    return int(seed)


def _check_scenario(name: str, scenario: object) -> Scenario:
    if not isinstance(scenario, Scenario):
        raise TypeError(f"{name}: must be a Scenario, got {type(scenario).__name__}")
    return scenario


def first_difference(a: Scenario, b: Scenario, seed: int = 0) -> int:
    """The first step at which runs of ``a`` and ``b`` with ``seed`` may differ:
    0 when they differ in anything but what is scheduled, ``a``'s steps when they
    are the same world. A file of accounts is the same file (by name) in both,
    so its accounts join both runs alike and follow the same schedules."""
    _check_scenario("a", a)
    _check_scenario("b", b)
    seed = _check_seed(seed)
    if unscheduled(a) != unscheduled(b):
        return 0
    return int(_core.first_difference(simulation_spec(a, seed), simulation_spec(b, seed)))


def share_groups(scenarios: Sequence[Scenario], seed: int = 0) -> list[list[int]]:
    """The worlds of ``scenarios`` (by index) in groups that share steps: each
    group's first world runs whole and every other world of the group parts
    from it at a step after the first (``first_difference``). Groups are in
    the order of their first worlds, and a world alone is a group of one."""
    worlds = _check_worlds(scenarios)
    seed = _check_seed(seed)
    groups: list[list[int]] = []
    # Only worlds equal but for their schedules can share steps: each is compared
    # with the groups of its own unscheduled world, so many worlds cost little.
    of_world: dict[Scenario, list[int]] = {}
    for k, world in enumerate(worlds):
        candidates = of_world.setdefault(unscheduled(world), [])
        for g in candidates:
            if first_difference(worlds[groups[g][0]], world, seed) > 0:
                groups[g].append(k)
                break
        else:
            candidates.append(len(groups))
            groups.append([k])
    return groups


def run_worlds(
    scenarios: Sequence[Scenario],
    seed: int = 0,
    *,
    trade_log: bool = False,
    threads: int | Literal["auto"] = 1,
) -> Iterator[tuple[int, _core.Simulation, AccountBlocks | None, float]]:
    """Run every world of ``scenarios`` with ``seed``, sharing the steps they
    have in common (``share_groups``); yields ``(index, simulation, blocks,
    seconds)`` for each world once its run is done, the simulation valid until
    the next item (``Result.from_simulation`` reads it). The seconds are the
    world's own steps and the steps it shares. ``threads``: as for ``simulate``
    (``"auto"``: as the first world asks), the results the same whatever it is."""
    from deleverage.simulate import build_joined, run_threads

    worlds = _check_worlds(scenarios)
    seed = _check_seed(seed)
    if not isinstance(trade_log, bool):
        raise TypeError(f"trade_log: must be a bool, got {type(trade_log).__name__}")
    threads = run_threads(threads, worlds[0])
    for group in share_groups(worlds, seed):
        trunk = group[0]
        start = time.perf_counter()
        sim, data, joined = build_joined(worlds[trunk], seed, trade_log=trade_log)
        shared = time.perf_counter() - start
        parts = sorted((first_difference(worlds[trunk], worlds[k], seed), k) for k in group[1:])
        for step, k in parts:
            start = time.perf_counter()
            sim.run(until=step, threads=threads)
            forked = time.perf_counter()
            shared += forked - start
            # A file's accounts join as they did the trunk's (the same file and seed).
            future = simulation_spec(
                worlds[k],
                seed,
                trade_log=trade_log,
                extra_populations=() if joined is None else joined.specs,
                extra_follows=() if joined is None else joined.follows,
            )
            branch = sim.fork(future)
            branch.run(threads=threads)
            yield k, branch, data.blocks, shared + time.perf_counter() - forked
            del branch  # one copy at a time
        start = time.perf_counter()
        sim.run(threads=threads)
        yield trunk, sim, data.blocks, shared + time.perf_counter() - start


def simulate_worlds(
    scenarios: Sequence[Scenario],
    seed: int = 0,
    *,
    trade_log: bool = False,
    account_states: bool = False,
    threads: int | Literal["auto"] = 1,
) -> list[Result]:
    """Run every world of ``scenarios`` with ``seed``, sharing the steps they
    have in common; the Results, in the order given, are the same bit for bit
    as ``simulate(world, seed)`` of each.

    The first world of each group of worlds that differ only in what is
    scheduled runs whole; each other world of its group starts from a copy of
    it at the step where the two part (``first_difference``). Memory: one copy
    of a run at a time besides the run it was copied from. ``trade_log``,
    ``account_states``, ``threads``: as for ``simulate``, for every world.
    """
    from deleverage.result import Result

    if not isinstance(account_states, bool):
        raise TypeError(f"account_states: must be a bool, got {type(account_states).__name__}")
    worlds = _check_worlds(scenarios)
    results: dict[int, Result] = {}
    for k, sim, blocks, seconds in run_worlds(worlds, seed, trade_log=trade_log, threads=threads):
        results[k] = Result.from_simulation(
            worlds[k],
            seed,
            sim,
            seconds,
            trade_log=trade_log,
            account_states=account_states,
            blocks=blocks,
        )
    return [results[k] for k in range(len(worlds))]


def _check_worlds(scenarios: object) -> list[Scenario]:
    if isinstance(scenarios, (str, bytes)) or not isinstance(scenarios, Sequence):
        got = type(scenarios).__name__
        raise TypeError(f"scenarios: must be a sequence of Scenario, got {got}")
    worlds = [_check_scenario(f"scenarios[{k}]", s) for k, s in enumerate(scenarios)]
    if not worlds:
        raise ValueError("scenarios: at least one world is needed")
    return worlds
