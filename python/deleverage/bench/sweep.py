"""The sweep benchmark: throughput of small runs with 1 and 2 threads, and what a
Dask cluster costs per run against threads.

The same sweep (the default-hour preset, a grid over the speculators' leverage cap,
several seeds each) is timed three ways, each after a warm-up and as the best
of ``repeat`` interleaved passes: ``workers=1`` threads, ``workers=2`` threads, and a
``dask.distributed.LocalCluster`` of 2 worker processes with 1 thread each.
``scaling`` is the 2-thread rate over the 1-thread rate (the engine releases the
GIL for a run, so the Python around each run is what keeps it under 2);
``dask_overhead`` is the extra wall time per run of the Dask cluster relative to
2 threads (negative when the processes win: they do not share a GIL).
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

from deleverage.scenario import Clock, Scenario
from deleverage.scenarios import load_preset

LEVERAGE_CAPS = (10.0, 20.0, 30.0, 50.0)


def short_scenario(scenario: Scenario, steps: int, accounts: int | None = None) -> Scenario:
    """``scenario`` over ``steps`` steps, its shocks and margin notices moved to the
    same fraction of the run (so a shortened world still has its crash), and
    scaled to ``accounts`` accounts when given."""
    old = scenario.clock.steps

    def at(step: int) -> int:
        return min(step * steps // old, steps - 1)

    instruments = tuple(
        dataclasses.replace(
            inst,
            fundamental=dataclasses.replace(
                inst.fundamental,
                shocks=tuple(
                    dataclasses.replace(s, step=at(s.step)) for s in inst.fundamental.shocks
                ),
            ),
        )
        for inst in scenario.instruments
    )
    policy = dataclasses.replace(
        scenario.policy,
        margin_changes=tuple(
            dataclasses.replace(c, step=at(c.step)) for c in scenario.policy.margin_changes
        ),
        volatility_triggers=tuple(
            dataclasses.replace(t, window_steps=min(t.window_steps, steps))
            for t in scenario.policy.volatility_triggers
        ),
    )
    out = scenario.replace(
        clock=Clock(dt=scenario.clock.dt, steps=steps), instruments=instruments, policy=policy
    )
    return out.with_accounts(accounts) if accounts is not None else out


@dataclass(frozen=True)
class SweepBenchResult:
    runs: int
    steps: int
    accounts: int
    repeat: int
    seconds_per_run_1: float
    runs_per_s_1: float
    runs_per_s_2: float
    scaling: float
    runs_per_s_dask: float | None
    dask_overhead: float | None
    same_table: bool | None
    wall_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _once(scenario: Scenario, seeds: int, **kwargs: Any) -> tuple[float, Any]:
    """The wall time of one sweep, and its table."""
    from deleverage.sweeps import sweep

    space = {"populations.speculators.params.max_leverage": list(LEVERAGE_CAPS)}
    with tempfile.TemporaryDirectory(prefix="deleverage-bench-") as out:
        start = time.perf_counter()
        table = sweep(scenario, space, seeds=seeds, out=out, progress=False, **kwargs)
        return time.perf_counter() - start, table


def _comparable(table: Any) -> Any:
    return table.drop(columns=["wall_seconds"])


def bench_sweep(
    runs: int = 192,
    *,
    steps: int = 3600,
    accounts: int | None = None,
    repeat: int = 5,
    dask: bool = True,
) -> SweepBenchResult:
    """Time one sweep of about ``runs`` runs (rounded up to whole seeds per point)."""
    for name, value, low in (("runs", runs, 1), ("steps", steps, 2), ("repeat", repeat, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")
    start = time.perf_counter()
    scenario = short_scenario(load_preset("default-hour"), steps, accounts)
    seeds = -(-runs // len(LEVERAGE_CAPS))
    total = seeds * len(LEVERAGE_CAPS)
    configs: dict[str, dict[str, Any]] = {"1": {"workers": 1}, "2": {"workers": 2}}
    with contextlib.ExitStack() as stack:
        if dask:
            from distributed import Client, LocalCluster

            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                )
            )
            configs["dask"] = {"executor": stack.enter_context(Client(cluster))}
        # Passes interleave the configurations, so a busy spell on a shared machine
        # hits all of them alike; each keeps its best pass, after one warm-up.
        best = dict.fromkeys(configs, float("inf"))
        tables: dict[str, Any] = {}
        for kwargs in configs.values():
            _once(scenario, 1, **kwargs)
        for _ in range(repeat):
            for name, kwargs in configs.items():
                wall, tables[name] = _once(scenario, seeds, **kwargs)
                best[name] = min(best[name], wall)
    wall_1, wall_2 = best["1"], best["2"]
    wall_dask = best.get("dask")
    same = None
    if dask:
        reference = _comparable(tables["2"])
        same = all(_comparable(t).equals(reference) for t in tables.values())
    return SweepBenchResult(
        runs=total,
        steps=steps,
        accounts=scenario.total_accounts,
        repeat=repeat,
        seconds_per_run_1=wall_1 / total,
        runs_per_s_1=total / wall_1,
        runs_per_s_2=total / wall_2,
        scaling=wall_1 / wall_2,
        runs_per_s_dask=None if wall_dask is None else total / wall_dask,
        dask_overhead=None if wall_dask is None else wall_dask / wall_2 - 1.0,
        same_table=same,
        wall_seconds=time.perf_counter() - start,
    )
