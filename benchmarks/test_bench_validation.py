"""Validation and calibration benchmarks: runs of the default-day world at half size with
their facts measured, against the baseline of the same runs and facts in a plain loop.

Run with ``python -m pytest benchmarks/test_bench_validation.py``; runs/s, the ratio to
the plain loop (the cost of the executors and the target bookkeeping) and the 2-thread
scaling land in ``extra_info``; nothing asserts a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from deleverage.calibration import (
    CalibrationSpec,
    Parameter,
    calibrate,
    target_values,
    validate,
)
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

from .timing import best_seconds

SEEDS = 8
WORLD = load_preset("default-day").scaled(0.5)
rates: dict[str, float] = {}


def _plain() -> None:
    for seed in range(SEEDS):
        target_values(simulate(WORLD, seed, progress=False), WORLD.targets)


def test_plain_loop(benchmark: Any) -> None:
    benchmark.pedantic(_plain, rounds=3, iterations=1, warmup_rounds=1)
    rates["plain"] = SEEDS / best_seconds(benchmark)
    benchmark.extra_info["runs_per_s"] = rates["plain"]


@pytest.mark.parametrize("workers", [1, 2])
def test_validate(benchmark: Any, workers: int) -> None:
    benchmark.pedantic(
        validate,
        args=(WORLD, SEEDS),
        kwargs={"workers": workers, "progress": False},
        rounds=3,
        iterations=1,
        warmup_rounds=1,
    )
    rate = SEEDS / best_seconds(benchmark)
    rates[f"validate_{workers}"] = rate
    benchmark.extra_info["runs_per_s"] = rate
    if "plain" in rates:
        benchmark.extra_info["over_plain_loop"] = rate / rates["plain"]
    if workers == 2 and "validate_1" in rates:
        benchmark.extra_info["scaling"] = rate / rates["validate_1"]


def test_calibrate_batch(benchmark: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A calibration-shaped batch: 16 candidates x 4 seeds (plus the base) on 2 workers."""
    spec = CalibrationSpec(
        scenario=WORLD,
        parameters=(
            Parameter("vol", "instruments.GOLD.fundamental.volatility", 0.05, 0.5, log=True),
        ),
        seeds=(0, 1, 2, 3),
        trials=16,
        batch=8,
    )

    def run() -> None:
        calibrate(spec, out=tmp_path_factory.mktemp("cal"), workers=2, progress=False)

    benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=0)
    runs = 4 * (1 + 16)
    rate = runs / best_seconds(benchmark)
    benchmark.extra_info["runs_per_s"] = rate
    if "plain" in rates:
        benchmark.extra_info["over_plain_loop"] = rate / rates["plain"]
