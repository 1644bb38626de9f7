"""Cross-margin benchmarks: price updates with liquidation checks over 1M portfolios of
three instruments (the safe-distance detector) against a full revaluation per update.

Run with ``python -m pytest benchmarks``; rates land in ``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest

from deleverage.bench.cross import INSTRUMENTS, calm_marks, portfolios
from deleverage.margin import CROSS, MarginEngine

from .timing import best_seconds

ACCOUNTS = 1_000_000
rates: dict[str, float] = {}


@pytest.fixture(scope="module")
def pop() -> dict[str, np.ndarray]:
    return portfolios(ACCOUNTS, 1)


def _engine(pop: dict[str, np.ndarray]) -> MarginEngine:
    engine = MarginEngine(INSTRUMENTS)
    engine.add_accounts(
        pop["cash"], mode=CROSS, position=pop["position"], entry_price=pop["entry_price"]
    )
    return engine


def test_full_revaluation_baseline(benchmark, pop) -> None:
    engine = _engine(pop)
    marks = calm_marks(1, 1)[0]
    benchmark.pedantic(engine.count_liquidatable, args=(marks,), rounds=5, iterations=1)
    rates["scan"] = 1.0 / best_seconds(benchmark)
    benchmark.extra_info["updates_per_s"] = rates["scan"]


def test_price_updates_no_liquidation(benchmark, pop) -> None:
    engine = _engine(pop)
    path = calm_marks(200_000, 1)
    engine.check(path[0])  # the first epoch
    benchmark.pedantic(engine.check_path, args=(path,), rounds=5, iterations=1)
    rate = len(path) / best_seconds(benchmark)
    benchmark.extra_info["updates_per_s"] = rate
    benchmark.extra_info["bytes_per_account"] = engine.memory_bytes / ACCOUNTS
    if "scan" in rates:
        benchmark.extra_info["ratio_to_full_scan"] = rate / rates["scan"]
