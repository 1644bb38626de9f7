"""``sweep(scenario, space, seeds=...)``: many runs of one scenario, one row each.

Run ids number the points x seeds: run ``k`` is point ``k // seeds_per_point``
with that point's ``k % seeds_per_point``-th seed, so a run's parameters and
seed follow from the sweep's description alone. That is what makes the table
the same whatever executes it, and what lets ``resume`` skip runs by id.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from deleverage.scenario import Scenario, to_toml_str
from deleverage.sweeps.executors import make_backend
from deleverage.sweeps.paths import apply_paths, check_path, plain_value
from deleverage.sweeps.progress import Progress
from deleverage.sweeps.seeds import SeedPlan
from deleverage.sweeps.space import as_space, points_digest
from deleverage.sweeps.store import RowBuffer, RowStore, param_type
from deleverage.sweeps.task import (
    RunOutput,
    RunTask,
    error_text,
    execute_all,
    execute_shared,
    failed_row,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["sweep"]

#: Format version of ``sweep.json``.
FORMAT = 1


def _validate_points(scenario: Scenario, points: pd.DataFrame) -> None:
    """Every point must give a valid scenario: a bad value is the space's fault and
    is refused before any run starts (errors name the point, path and range)."""
    for path in points.columns:
        check_path(scenario, path)
    columns = {p: points[p].to_numpy() for p in points.columns}
    for i in range(len(points)):
        values = {p: plain_value(col[i]) for p, col in columns.items()}
        try:
            apply_paths(scenario, values)
        except (ValueError, TypeError) as e:
            raise type(e)(f"space point {i}: {e}") from None


def _chunks(tasks: Iterator[RunTask], size: int) -> Iterator[list[RunTask]]:
    chunk: list[RunTask] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def sweep(
    scenario: Scenario,
    space: Any,
    seeds: int | Sequence[int] = 1,
    executor: Any = None,
    out: str | None = None,
    resume: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
    series: bool = False,
    seed: int = 0,
    *,
    batch_rows: int = 256,
    flush_seconds: float = 5.0,
    chunksize: int | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    security: Any = None,
    share_steps: bool = True,
) -> pd.DataFrame:
    """Run ``scenario`` at every point of ``space`` with ``seeds`` seeds each.

    space: a dict ``{dotted.path: [values]}`` (a grid), a DataFrame or list of
        dicts (a table), or a ``Grid``, ``RandomSamples``, ``LatinHypercube`` or
        ``Table`` from ``deleverage.sweeps``. Every point is checked against the
        scenario before any run starts.
    seeds: runs per point (each with its own seed spawned from ``seed``), or a
        list of seeds used at every point.
    executor: None for ``workers`` threads; a ``concurrent.futures.Executor``; a
        ``dask.distributed.Client``, Dask cluster or scheduler address.
    security: the Dask security settings used to connect to a scheduler address or
        cluster (TLS): a ``distributed.security.Security``, or a mapping of its
        ``tls_ca_file``, ``tls_client_cert`` and ``tls_client_key`` (PEM files).
        None: Dask's own configuration. A ``tls://`` address needs one or the other.
    out: the directory of the Parquet dataset (rows appended as runs finish);
        None keeps the rows in a temporary directory removed at the end.
    resume: finish the sweep stored in ``out``, skipping the runs already there.
    progress: a tqdm bar (runs done, failed, time left); None shows it on a terminal.
    series: also store each run's per-step series as ``out/series/run-NNNNNN.parquet``.
    batch_rows, flush_seconds: rows are written every ``batch_rows`` rows or
        ``flush_seconds`` seconds, whichever comes first.
    chunksize: runs per work item sent to a process pool or Dask (default: about
        eight items per worker, at most 16 runs each); threads take one run at a time.
    callback: called in the calling thread with each finished row.
    share_steps: with a list of seeds (common random numbers), the runs of one
        seed at points that part only at a scheduled step (a margin notice, a
        population change, a fair-value shock or waypoint the sweep moves) run
        once up to where they part, then each from a copy of that run
        (``deleverage.shared_steps``): the same rows, the steps they share run
        once. False: every run alone.

    Returns all rows sorted by run id: ``run``, ``point``, one column per path,
    ``seed``, the headline metrics, ``error`` (None, or ``Type: message`` of a
    run that raised) and ``wall_seconds``. ``frame.attrs["sweep"]`` holds a
    summary (runs, executed, skipped, failed, wall_seconds, out).
    """
    start = time.perf_counter()
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    space = as_space(space)
    plan = SeedPlan(seeds, seed)
    points = space.points()
    _validate_points(scenario, points)
    if series and out is None:
        raise ValueError("series: per-run series are stored in out/series; pass out=")
    if chunksize is not None and (
        isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1
    ):
        raise ValueError(f"chunksize: must be an integer >= 1, got {chunksize!r}")

    total = len(points) * plan.per_point
    tmp = tempfile.TemporaryDirectory(prefix="deleverage-sweep-") if out is None else None
    directory = tmp.name if tmp is not None else str(out)
    try:
        params = {p: param_type(points[p].dtype) for p in points.columns}
        store = RowStore(directory, params, total)
        manifest = {
            "format": FORMAT,
            "scenario_sha256": hashlib.sha256(to_toml_str(scenario).encode()).hexdigest(),
            "paths": list(points.columns),
            "points": len(points),
            "points_sha256": points_digest(points),
            **plan.describe(),
        }
        store.check_manifest(manifest, resume)
        done = np.zeros(total, dtype=bool)
        stored = store.done_runs() if resume else np.empty(0, dtype=np.int64)
        done[stored] = True  # checked within 0..total-1
        skipped = int(done.sum())

        columns = {p: points[p].to_numpy() for p in points.columns}

        def task(run: int) -> RunTask:
            point = run // plan.per_point
            values = {p: plain_value(col[point]) for p, col in columns.items()}
            return RunTask(run, point, plan.seed(run), values, scenario, series)

        groups = None
        if not isinstance(share_steps, bool):
            raise TypeError(f"share_steps: must be a bool, got {type(share_steps).__name__}")
        if share_steps and plan.explicit is not None and len(points) > 1:
            groups = _point_groups(scenario, points, plan.explicit[0])

        def chunks(size: int, slots: int) -> Iterator[tuple[list[RunTask], bool]]:
            """Work items, and whether their runs share steps."""
            if groups is None:
                for chunk in _chunks((task(r) for r in np.flatnonzero(~done).tolist()), size):
                    yield chunk, False
                return
            for group in groups:
                for k in range(plan.per_point):
                    runs = [p * plan.per_point + k for p in group]
                    todo = [task(r) for r in runs if not done[r]]
                    # A large group is split so that every worker has a trunk to run.
                    parts = min(slots, max(1, len(todo) // 2))
                    for i in range(parts):
                        if todo[i::parts]:
                            yield todo[i::parts], True

        executed = _drive(
            chunks,
            total - skipped,
            executor,
            workers,
            store,
            RowBuffer(store, batch_rows, flush_seconds),
            Progress(total, skipped, progress),
            chunksize,
            callback,
            security,
        )
        table = store.read()
    finally:
        if tmp is not None:
            tmp.cleanup()
    table.attrs["sweep"] = {
        "runs": len(table),
        "executed": executed,
        "skipped": skipped,
        "failed": int(table["error"].notna().sum()),
        "wall_seconds": time.perf_counter() - start,
        "out": None if out is None else str(out),
    }
    return table


def _point_groups(scenario: Scenario, points: pd.DataFrame, seed: int) -> list[list[int]] | None:
    """The points whose worlds share steps with one seed (``share_groups``), or
    None when none do."""
    from deleverage.shared_steps import share_groups

    columns = {p: points[p].to_numpy() for p in points.columns}
    worlds = [
        apply_paths(scenario, {p: plain_value(col[i]) for p, col in columns.items()})
        for i in range(len(points))
    ]
    groups = share_groups(worlds, seed)
    return groups if any(len(g) > 1 for g in groups) else None


def _drive(
    chunks: Callable[[int, int], Iterator[tuple[list[RunTask], bool]]],
    remaining: int,
    executor: Any,
    workers: int | None,
    store: RowStore,
    buffer: RowBuffer,
    bar: Progress,
    chunksize: int | None,
    callback: Callable[[dict[str, Any]], None] | None,
    security: Any = None,
) -> int:
    """Submit chunks of runs (``chunks(size, slots)``: each with whether its runs
    share steps) through a bounded window, record rows as they finish.

    At most a couple of chunks per worker are in flight, so memory does not grow
    with the number of runs; whatever stops the sweep, the rows finished so far
    are flushed to disk before the error propagates.
    """
    executed = 0
    if remaining == 0:
        bar.close()
        return 0
    backend = make_backend(executor, workers, security)
    if chunksize is None:
        # Remote work items cost a round trip each: about four per worker
        # amortise it while leaving little imbalance at the end.
        chunksize = 1 if not backend.remote else max(1, min(32, remaining // (4 * backend.slots)))
    window = 2 * backend.slots if not backend.remote else 3 * backend.slots
    items = chunks(chunksize, backend.slots)
    owner: dict[Any, list[RunTask]] = {}
    pending: set[Any] = set()
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < window:
                item = next(items, None)
                if item is None:
                    exhausted = True
                    break
                chunk, shared = item
                fut = backend.submit(execute_shared if shared else execute_all, chunk)
                owner[fut] = chunk
                pending.add(fut)
            if not pending:
                break
            finished, pending = backend.wait_any(pending)
            for fut in finished:
                chunk = owner.pop(fut)
                try:
                    outputs: list[RunOutput] = fut.result()
                except BrokenExecutor:
                    raise  # the executor is gone: stop; resume re-runs what is missing
                except Exception as exc:  # a worker lost, an item that did not pickle
                    outputs = [RunOutput(failed_row(t, error_text(exc))) for t in chunk]
                for output in outputs:
                    if output.series is not None:
                        store.write_series(output.row["run"], output.series)
                    buffer.add(output.row)
                    executed += 1
                    bar.update(output.row["error"] is not None)
                    if callback is not None:
                        callback(output.row)
    finally:
        try:
            buffer.flush()
        finally:
            backend.cancel(pending)
            backend.close()
            bar.close()
    return executed
