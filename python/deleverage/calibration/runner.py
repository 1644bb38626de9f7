"""Runs a list of ``FactsTask`` through the sweep executors (threads, any
``concurrent.futures.Executor``, Dask), handing each output back as it finishes.

At most two tasks per worker are in flight, so memory does not grow with the
number of runs; the caller's ``on_done`` runs in the calling thread (it appends
to a store), and whatever stops the loop, the outstanding work is cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import BrokenExecutor
from typing import Any

from deleverage.calibration.evaluate import FactsOutput, FactsTask, evaluate_all
from deleverage.sweeps.executors import Backend, make_backend
from deleverage.sweeps.task import error_text

__all__ = ["run_tasks"]


def run_tasks(
    tasks: Iterable[FactsTask],
    on_done: Callable[[FactsOutput], None],
    *,
    executor: Any = None,
    workers: int | None = None,
    backend: Backend | None = None,
    security: Any = None,
) -> int:
    """Evaluate ``tasks``, calling ``on_done`` with each output; returns how many ran.

    ``backend``: an open one to reuse (not closed here); else one is made from
    ``executor``, ``workers`` and ``security`` as for ``sweep`` and closed at the end.
    """
    owned = backend is None
    engine = make_backend(executor, workers, security) if backend is None else backend
    window = 2 * engine.slots
    pending: set[Any] = set()
    owner: dict[Any, FactsTask] = {}
    queue = iter(tasks)
    exhausted = False
    done = 0
    try:
        while True:
            while not exhausted and len(pending) < window:
                task = next(queue, None)
                if task is None:
                    exhausted = True
                    break
                fut = engine.submit(evaluate_all, [task])
                owner[fut] = task
                pending.add(fut)
            if not pending:
                break
            finished, pending = engine.wait_any(pending)
            for fut in sorted(finished, key=lambda f: owner[f].key):
                task = owner.pop(fut)
                try:
                    (output,) = fut.result()
                except BrokenExecutor:
                    raise
                except Exception as exc:  # a lost worker, a task that did not pickle
                    output = FactsOutput(
                        task.key, [float("nan")] * len(task.targets), error_text(exc), 0.0
                    )
                on_done(output)
                done += 1
    finally:
        engine.cancel(pending)
        if owned:
            engine.close()
    return done
