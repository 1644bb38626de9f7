"""Sweep benchmarks: small runs of the default-hour preset with 1 and 2 worker threads, and
through a Dask LocalCluster of 2 worker processes (1 thread each).

Run with ``python -m pytest benchmarks``; runs/s, the 2-thread scaling and Dask's
overhead per run against threads land in ``extra_info``; nothing asserts a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deleverage.bench.sweep import LEVERAGE_CAPS, short_scenario
from deleverage.scenarios import load_preset
from deleverage.sweeps import sweep

from .timing import best_seconds

SEEDS = 12  # 4 leverage caps x 12 seeds = 48 runs (short, for a routine pass)
RUNS = SEEDS * len(LEVERAGE_CAPS)
SPACE = {"populations.speculators.params.max_leverage": list(LEVERAGE_CAPS)}
SCENARIO = short_scenario(load_preset("default-hour"), steps=3600)
rates: dict[str, float] = {}


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _run(**kwargs: Any) -> None:
    sweep(SCENARIO, SPACE, seeds=SEEDS, progress=False, **kwargs)


@pytest.mark.parametrize("workers", [1, 2])
def test_threads(benchmark, workers: int) -> None:
    benchmark.pedantic(_run, kwargs={"workers": workers}, rounds=3, iterations=1, warmup_rounds=1)
    rate = RUNS / best_seconds(benchmark)
    rates[f"threads_{workers}"] = rate
    benchmark.extra_info["runs_per_s"] = rate
    if workers == 2 and "threads_1" in rates:
        benchmark.extra_info["scaling"] = rate / rates["threads_1"]


def test_dask_local_cluster(benchmark, dask_client: Any) -> None:
    benchmark.pedantic(
        _run, kwargs={"executor": dask_client}, rounds=3, iterations=1, warmup_rounds=1
    )
    rate = RUNS / best_seconds(benchmark)
    benchmark.extra_info["runs_per_s"] = rate
    if "threads_2" in rates:
        benchmark.extra_info["dask_overhead"] = rates["threads_2"] / rate - 1.0
