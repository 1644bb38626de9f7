"""The sweep benchmark: throughput of small runs with 1 and 2 threads, and what a
Dask cluster costs per run against threads.

The same sweep (the default preset, a grid over the speculators' leverage cap,
several seeds each) is timed three ways, each after a warm-up and as the best
of ``repeat`` passes: ``workers=1`` threads, ``workers=2`` threads, and a
``dask.distributed.LocalCluster`` of 2 worker processes with 1 thread each.
``scaling`` is the 2-thread rate over the 1-thread rate (the engine releases the
GIL for a run, so the Python around each run is what keeps it under 2);
``dask_overhead`` is the extra wall time per run of the Dask cluster relative to
2 threads (negative when the processes win: they do not share a GIL).
"""

from __future__ import annotations

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


def _timed(scenario: Scenario, seeds: int, repeat: int, **kwargs: Any) -> tuple[float, Any]:
    """The best wall time of ``repeat`` identical sweeps (after one warm-up), and a table."""
    from deleverage.sweep import sweep

    space = {"populations.speculators.params.max_leverage": list(LEVERAGE_CAPS)}
    sweep(scenario, space, seeds=1, progress=False, **kwargs)  # warm-up
    best = float("inf")
    table = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="deleverage-bench-") as out:
            start = time.perf_counter()
            table = sweep(scenario, space, seeds=seeds, out=out, progress=False, **kwargs)
            best = min(best, time.perf_counter() - start)
    return best, table


def _comparable(table: Any) -> Any:
    return table.drop(columns=["wall_seconds"])


def bench_sweep(
    runs: int = 48,
    *,
    steps: int = 3600,
    accounts: int | None = None,
    repeat: int = 3,
    dask: bool = True,
) -> SweepBenchResult:
    """Time one sweep of about ``runs`` runs (rounded up to whole seeds per point)."""
    for name, value, low in (("runs", runs, 1), ("steps", steps, 2), ("repeat", repeat, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")
    start = time.perf_counter()
    scenario = short_scenario(load_preset("default"), steps, accounts)
    seeds = -(-runs // len(LEVERAGE_CAPS))
    total = seeds * len(LEVERAGE_CAPS)
    wall_1, table_1 = _timed(scenario, seeds, repeat, workers=1)
    wall_2, table_2 = _timed(scenario, seeds, repeat, workers=2)
    wall_dask = None
    same = None
    if dask:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            wall_dask, table_dask = _timed(scenario, seeds, repeat, executor=client)
        same = _comparable(table_dask).equals(_comparable(table_2)) and _comparable(table_1).equals(
            _comparable(table_2)
        )
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
