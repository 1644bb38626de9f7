"""Margin-engine benchmarks: mark updates through the liquidation index against a
full scan of every account, liquidation throughput in a cascade, and book fills
settled into the ledger and the liquidation index.

Run with ``python -m pytest benchmarks``; rates land in ``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest

from deleverage.bench.margin import MARK, RULE, TICK_VALUE, calm_path, population
from deleverage.dtypes import FILL_DTYPE
from deleverage.margin import MarginEngine
from deleverage.margin_rules import Instrument

from .timing import best_seconds

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
    benchmark.extra_info["accounts_per_s"] = ACCOUNTS / best_seconds(benchmark)


def test_full_scan_baseline(benchmark, pop) -> None:
    engine = _engine(pop)
    benchmark.pedantic(engine.count_liquidatable, args=([MARK],), rounds=10, iterations=1)
    rates["scan"] = 1.0 / best_seconds(benchmark)
    benchmark.extra_info["updates_per_s"] = rates["scan"]


def test_mark_updates_no_liquidation(benchmark, pop) -> None:
    engine = _engine(pop)
    path = calm_path(500_000, 1)
    benchmark.pedantic(engine.check_path, args=(path,), rounds=5, iterations=1)
    rate = len(path) / best_seconds(benchmark)
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
    benchmark.extra_info["liquidations_per_s"] = done[-1] / best_seconds(benchmark)


def _fills(n_accounts: int, count: int, seed: int) -> np.ndarray:
    """Fills of random takers against four dealers (accounts n_accounts..+3), one lot each."""
    rng = np.random.default_rng(seed)
    fills = np.zeros(count, dtype=FILL_DTYPE)
    fills["qty"] = 1
    fills["price"] = MARK + rng.integers(-20, 21, count)
    fills["taker_owner"] = rng.integers(0, n_accounts, count)
    fills["maker_owner"] = n_accounts + rng.integers(0, 4, count)
    fills["taker_side"] = rng.integers(0, 2, count)
    return fills


def test_fill_settlement(benchmark, pop) -> None:
    """Book fills settled into the ledger and the liquidation index, in batches of 1,000
    (a step's fills at the default size of gold-2026): the traders are scattered over a
    million-account table, the dealers on every fill."""
    batch = 1_000
    fills = _fills(ACCOUNTS, 200 * batch, 2)

    def setup():
        engine = _engine(pop)
        engine.add_accounts(np.full(4, 1e12))
        return (engine,), {}

    def run(engine: MarginEngine) -> None:
        for start in range(0, len(fills), batch):
            engine.apply_fills(0, fills[start : start + batch])

    benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info["fills_per_s"] = len(fills) / best_seconds(benchmark)
