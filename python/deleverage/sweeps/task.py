"""One run of a sweep as a picklable work item, and the function that runs it.

Process pools and Dask workers receive a ``RunTask`` (the base Scenario, which
pickles as plain frozen dataclasses, the point's path values, the seed and the
run id) and call the module-level ``execute``; threads call the same function.
Whatever happens inside a run comes back as a row with its ``error`` set, so a
failing run never stops the sweep and rows do not depend on the executor.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deleverage.scenario import Scenario
from deleverage.sweeps.paths import apply_paths

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "INT_METRICS",
    "METRICS",
    "RunOutput",
    "RunTask",
    "error_text",
    "execute",
    "execute_all",
    "execute_shared",
]

#: The headline metrics of ``Result.metrics()`` stored per run (its wall time is
#: replaced by the sweep's own ``wall_seconds`` column).
METRICS: tuple[str, ...] = (
    "max_drawdown",
    "liquidated_notional",
    "liquidations",
    "min_depth_ratio",
    "max_spread_ratio",
    "final_price",
    "peak_price",
    "accounts",
    "steps",
)
#: The metrics that are counts (stored as nullable integers: null for a failed run).
INT_METRICS: frozenset[str] = frozenset({"liquidations", "accounts", "steps"})


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run."""

    run: int
    point: int
    seed: int
    values: dict[str, Any]
    scenario: Scenario
    series: bool = False


@dataclass(frozen=True)
class RunOutput:
    """A finished run: its row, and its per-step series when asked for."""

    row: dict[str, Any]
    series: pd.DataFrame | None = None


def error_text(exc: BaseException) -> str:
    """``Type: message``, the form stored in the ``error`` column."""
    return f"{type(exc).__name__}: {exc}"


def _flat_series(series: pd.DataFrame) -> pd.DataFrame:
    """Per-step series with flat string columns (``GOLD.last``) for Parquet."""
    flat = series.copy()
    flat.columns = [".".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in flat.columns]
    return flat.reset_index()


def base_row(task: RunTask) -> dict[str, Any]:
    row: dict[str, Any] = {"run": task.run, "point": task.point}
    row.update(task.values)
    row["seed"] = task.seed
    return row


def failed_row(task: RunTask, error: str, wall_seconds: float = math.nan) -> dict[str, Any]:
    """The row of a run that raised (metrics null)."""
    row = base_row(task)
    row.update(dict.fromkeys(METRICS))
    row["error"] = error
    row["wall_seconds"] = wall_seconds
    return row


def execute(task: RunTask) -> RunOutput:
    """Run one task; never raises for a failure of the run itself."""
    # pandas loads with the first run, not on import
    from deleverage.simulate import simulate, simulate_metrics

    start = time.perf_counter()
    result = None
    try:
        scenario = apply_paths(task.scenario, task.values)
        if task.series:
            result = simulate(scenario, task.seed, progress=False)
            metrics = result.metrics()
        else:  # the headline figures alone: no tables to build while holding the GIL
            metrics = simulate_metrics(scenario, task.seed)
    except Exception as exc:
        return RunOutput(failed_row(task, error_text(exc), time.perf_counter() - start))
    series = _flat_series(result.series) if result is not None else None
    return RunOutput(_row(task, metrics, time.perf_counter() - start), series)


def _row(task: RunTask, metrics: dict[str, Any], wall_seconds: float) -> dict[str, Any]:
    row = base_row(task)
    for key in METRICS:
        row[key] = metrics[key]
    row["error"] = None
    row["wall_seconds"] = wall_seconds
    return row


def execute_shared(tasks: list[RunTask]) -> list[RunOutput]:
    """Runs of one seed whose worlds part only at scheduled steps, run once up to
    where they part (``deleverage.shared_steps``): the same rows as ``execute``
    of each, a run's ``wall_seconds`` counting the steps it shares. If any run
    fails, each runs alone, so that only the failing runs carry an error."""
    from deleverage.result import Result, simulation_metrics
    from deleverage.shared_steps import run_worlds

    if len(tasks) < 2:
        return [execute(t) for t in tasks]
    outputs: dict[int, RunOutput] = {}
    try:
        worlds = [apply_paths(t.scenario, t.values) for t in tasks]
        for k, sim, blocks, seconds in run_worlds(worlds, tasks[0].seed):
            task = tasks[k]
            if task.series:
                result = Result.from_simulation(worlds[k], task.seed, sim, seconds, blocks=blocks)
                outputs[k] = RunOutput(
                    _row(task, result.metrics(), seconds), _flat_series(result.series)
                )
            else:
                outputs[k] = RunOutput(
                    _row(task, simulation_metrics(worlds[k], sim, seconds), seconds)
                )
    except Exception:
        return [execute(t) for t in tasks]
    return [outputs[k] for k in range(len(tasks))]


def execute_all(tasks: list[RunTask]) -> list[RunOutput]:
    """Several tasks in one call (one round trip to a remote worker for many small runs)."""
    return [execute(t) for t in tasks]
