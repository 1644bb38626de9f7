"""The stress benchmark: a grid of shocks over a book of accounts, without agents.

A book of ``accounts`` isolated GOLD positions (long seven in ten, 1x-20x
leverage, entered near the start price, nobody liquidatable at the start)
and ``shocks`` instantaneous moves from -1% to -20%, each on a fresh engine
(deleverage.data.stress), on ``threads`` threads. The baseline, in the same
run, is one shock alone on one thread: the grid's serial time is that times
the number of shocks.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from deleverage.data.accounts import AccountSnapshot, read_accounts
from deleverage.data.stress import stress
from deleverage.scenario import Scenario
from deleverage.scenarios import load_preset


@dataclass(frozen=True)
class StressBench:
    accounts: int
    shocks: int
    threads: int
    grid_seconds: float
    shocks_per_s: float
    account_shocks_per_s: float
    one_shock_seconds: float  # baseline: one shock, one thread
    speedup: float  # serial estimate (one shock x shocks) over the grid's time
    liquidated_at_worst: int
    read_seconds: float | None  # reading the book from Parquet (None: not measured)


def bench_world() -> Scenario:
    """The default-hour world's GOLD, with an insurance fund of 1e9."""
    return load_preset("default-hour").replace(insurance_fund=1e9)


def book(n: int, seed: int = 1) -> AccountSnapshot:
    """The benchmark's book (see the module's text)."""
    rng = np.random.default_rng(seed)
    long = rng.random(n) < 0.7
    lots = rng.integers(1, 50, n) * np.where(long, 1, -1)
    entry = np.round(2000.0 * np.exp(rng.normal(0.0, 0.002, n)), 1)
    leverage = np.exp(rng.uniform(0.0, np.log(15.0), n))
    cash = np.abs(lots) * entry / leverage + np.abs(lots) * np.abs(entry - 2000.0)
    return AccountSnapshot(
        ids=np.arange(n, dtype=np.int64),
        cash=np.round(cash, 2),
        instrument=np.zeros(n, dtype=np.uint16),
        position=lots.astype(np.int64).reshape(n, 1),
        entry_price=entry.reshape(n, 1),
        mode=np.zeros(n, dtype=np.uint8),
        population=np.full(n, -1, dtype=np.int16),
        leverage=np.full(n, np.nan),
        instruments=("GOLD",),
    )


def bench_stress(
    accounts: int = 10_000_000, shocks: int = 20, threads: int = 2, read: bool = False
) -> StressBench:
    world = bench_world()
    snapshot = book(accounts)
    read_seconds = None
    if read:
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "book.parquet"
            pd.DataFrame(
                {
                    "id": snapshot.ids,
                    "cash": snapshot.cash,
                    "position.GOLD": snapshot.position[:, 0],
                    "entry_price.GOLD": snapshot.entry_price[:, 0],
                }
            ).to_parquet(file, index=False)
            start = time.perf_counter()
            read_accounts(file, world.instruments)
            read_seconds = time.perf_counter() - start
    grid = list(np.linspace(-0.01, -0.20, shocks))
    start = time.perf_counter()
    stress(world, snapshot, grid[-1:], threads=1)
    one = time.perf_counter() - start
    start = time.perf_counter()
    result = stress(world, snapshot, grid, threads=threads)
    seconds = time.perf_counter() - start
    return StressBench(
        accounts=accounts,
        shocks=shocks,
        threads=threads,
        grid_seconds=seconds,
        shocks_per_s=shocks / seconds,
        account_shocks_per_s=accounts * shocks / seconds,
        one_shock_seconds=one,
        speedup=one * shocks / seconds,
        liquidated_at_worst=int(result.table["accounts_liquidated"].iloc[-1]),
        read_seconds=read_seconds,
    )
