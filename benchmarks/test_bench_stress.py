"""Stress benchmark: a grid of 20 shocks over a book of 10M accounts without agents, each
shock on a fresh engine, on 2 threads; the baseline is one shock on one thread.

Run with ``python -m pytest benchmarks/test_bench_stress.py``; rates land in ``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest

from deleverage.bench.stress import bench_world, book
from deleverage.data.accounts import AccountSnapshot
from deleverage.data.stress import stress

from .timing import best_seconds

ACCOUNTS = 10_000_000
SHOCKS = list(np.linspace(-0.01, -0.20, 20))
times: dict[str, float] = {}


@pytest.fixture(scope="module")
def snapshot() -> AccountSnapshot:
    return book(ACCOUNTS)


def test_one_shock_one_thread_baseline(benchmark, snapshot) -> None:
    world = bench_world()
    benchmark.pedantic(stress, args=(world, snapshot, SHOCKS[-1:]), kwargs={"threads": 1}, rounds=2)
    times["one"] = best_seconds(benchmark)
    benchmark.extra_info["account_shocks_per_s"] = ACCOUNTS / times["one"]


def test_grid_of_20_shocks_on_2_threads(benchmark, snapshot) -> None:
    world = bench_world()
    benchmark.pedantic(stress, args=(world, snapshot, SHOCKS), kwargs={"threads": 2}, rounds=1)
    seconds = best_seconds(benchmark)
    benchmark.extra_info["grid_seconds"] = seconds
    benchmark.extra_info["account_shocks_per_s"] = ACCOUNTS * len(SHOCKS) / seconds
    if "one" in times:
        benchmark.extra_info["speedup_over_serial"] = times["one"] * len(SHOCKS) / seconds
