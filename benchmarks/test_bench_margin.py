"""Margin-engine benchmarks: mark updates through the liquidation index against a
full scan of every account, and liquidation throughput in a cascade.

Run with ``python -m pytest benchmarks``; rates land in ``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest

from deleverage.bench.margin import MARK, RULE, TICK_VALUE, calm_path, population
from deleverage.margin import MarginEngine
from deleverage.margin_rules import Instrument

ACCOUNTS = 1_000_000
rates: dict[str, float] = {}


@pytest.fixture(scope="module")
def pop() -> dict[str, np.ndarray]:
    return population(ACCOUNTS, 1)


def _engine(pop: dict[str, np.ndarray]) -> MarginEngine:
    engine = MarginEngine([Instrument("X", TICK_VALUE, RULE)])
    engine.add_accounts(pop["cash"], position=pop["position"], entry_price=pop["entry_price"])
    return engine


def test_bulk_creation(benchmark, pop) -> None:
    benchmark.pedantic(_engine, args=(pop,), rounds=3, iterations=1)
    benchmark.extra_info["accounts_per_s"] = ACCOUNTS / benchmark.stats.stats.min


def test_full_scan_baseline(benchmark, pop) -> None:
    engine = _engine(pop)
    benchmark.pedantic(engine.count_liquidatable, args=([MARK],), rounds=10, iterations=1)
    rates["scan"] = 1.0 / benchmark.stats.stats.min
    benchmark.extra_info["updates_per_s"] = rates["scan"]


def test_mark_updates_no_liquidation(benchmark, pop) -> None:
    engine = _engine(pop)
    path = calm_path(500_000, 1)
    benchmark.pedantic(engine.check_path, args=(path,), rounds=5, iterations=1)
    rate = len(path) / benchmark.stats.stats.min
    benchmark.extra_info["updates_per_s"] = rate
    if "scan" in rates:
        benchmark.extra_info["ratio_to_full_scan"] = rate / rates["scan"]


def test_cascade(benchmark, pop) -> None:
    cascade = np.arange(MARK, MARK // 2 - 1, -1, dtype=np.int64).reshape(-1, 1)
    done: list[int] = []

    def setup():
        return (_engine(pop),), {}

    def run(engine: MarginEngine) -> None:
        done.append(int(np.count_nonzero(engine.check_path(cascade)["kind"] != 4)))

    benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info["liquidations_per_s"] = done[-1] / benchmark.stats.stats.min
