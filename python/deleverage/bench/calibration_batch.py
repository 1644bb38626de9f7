"""The calibration benchmark: a batch of runs of the reduced world a calibration
searches, on 1 and on 2 worker threads.

A calibration (``deleverage calibrate``) evaluates thousands of runs of a world
at a fraction of its size, each a whole run with its figures; this times one
batch of them as ``deleverage validate`` makes it (``gold-2026`` at a twentieth of
its market, seeds 0..runs-1, every target's figure of every run; not the targets
measured against a counterfactual, which would run each seed again), with
``workers=1`` and ``workers=2`` threads in interleaved passes after a warm-up
run on each, each keeping its best. ``scaling`` is the 2-thread rate over the
1-thread rate: the engine releases the GIL for a run, so what keeps it under 2
is the Python around each run (building the scenario, the Result and the
figures) and the two runs' share of the memory system. ``same_values``: both
batches gave every figure bit for bit alike.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from deleverage.scenarios import load_preset

#: The batch: gold-2026 at the size a calibration searches at.
PRESET = "gold-2026"
SCALE = 0.05
RUNS = 64


@dataclass(frozen=True)
class CalibrationBatchResult:
    preset: str
    scale: float
    accounts: int
    steps: int
    runs: int
    repeat: int
    seconds_per_run_1: float
    runs_per_s_1: float
    runs_per_s_2: float
    scaling: float
    same_values: bool
    wall_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bench_calibration_batch(
    runs: int = RUNS, *, preset: str = PRESET, scale: float = SCALE, repeat: int = 1
) -> CalibrationBatchResult:
    """Time ``runs`` runs of ``preset`` scaled by ``scale`` on 1 and 2 threads."""
    from deleverage.calibration.validate import validate

    for name, value, low in (("runs", runs, 1), ("repeat", repeat, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.0 < scale <= 1.0:
        raise ValueError(f"scale: must be a number in (0, 1], got {scale!r}")
    start = time.perf_counter()
    scenario = load_preset(preset).scaled(float(scale))
    # One run a seed, as a calibration's candidate makes: targets measured
    # against a counterfactual (Target.against) would run each seed again per cause.
    scenario = scenario.replace(targets=tuple(t for t in scenario.targets if not t.against))
    best = {1: math.inf, 2: math.inf}
    values: dict[int, np.ndarray] = {}
    # A warm-up run on each (imports, first-touch memory), then passes that
    # interleave the two, so a busy spell on a shared machine hits both alike.
    for workers in (1, 2):
        validate(scenario, 1, workers=workers, progress=False)
    for _ in range(repeat):
        for workers in (1, 2):
            v = validate(scenario, runs, workers=workers, progress=False)
            if any(v.errors):
                failed = next(e for e in v.errors if e)
                raise RuntimeError(f"a run of the batch failed: {failed}")
            best[workers] = min(best[workers], v.wall_seconds)
            values[workers] = v.values
    return CalibrationBatchResult(
        preset=preset,
        scale=float(scale),
        accounts=scenario.total_accounts,
        steps=scenario.clock.steps,
        runs=runs,
        repeat=repeat,
        seconds_per_run_1=best[1] / runs,
        runs_per_s_1=runs / best[1],
        runs_per_s_2=runs / best[2],
        scaling=best[1] / best[2],
        same_values=bool(np.array_equal(values[1], values[2], equal_nan=True)),
        wall_seconds=time.perf_counter() - start,
    )
