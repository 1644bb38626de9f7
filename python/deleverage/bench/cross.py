"""The cross-margin benchmark: price updates with liquidation checks over portfolios.

1M cross-margined accounts, each holding two or three of three instruments
(long/short mixes, 1x-20x gross leverage, nobody liquidatable at the start).
The marks follow small random walks, so nothing is liquidated: one update is
a new mark vector for every instrument followed by a liquidation check. The
baseline, measured in the same run, is a full revaluation of every account per
update (the engine's vectorized C++ scan, ``count_liquidatable``), plus the
numpy oracle's revaluation on a subset, scaled to the population.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from deleverage.bench.margin import calm_path
from deleverage.margin import CROSS, MarginEngine
from deleverage.margin_rules import Instrument, MarginRule
from deleverage.reference_margin import ReferenceMargin

MARK = 100_000  # ticks, every instrument
TICK_VALUE = 1.0
INSTRUMENTS = (
    Instrument("BTC", TICK_VALUE, MarginRule(initial_rate=0.05, maintenance_rate=0.005)),
    Instrument(
        "ETH",
        TICK_VALUE,
        MarginRule(
            initial_rate=0.05,
            maintenance="tiered",
            tiers=((0.0, 0.005), (500_000.0, 0.01), (1_000_000.0, 0.025)),
        ),
    ),
    Instrument("SOL", TICK_VALUE, MarginRule(initial_rate=0.1, maintenance_rate=0.01)),
)


@dataclass(frozen=True)
class CrossResult:
    accounts: int
    instruments: int
    seed: int
    create_seconds: float
    bytes_per_account: float
    updates: int
    updates_per_s: float
    full_scan_updates_per_s: float
    ratio: float
    revalued_per_update: float
    rebases: int
    oracle_accounts: int
    oracle_updates_per_s: float  # scaled to `accounts`


def portfolios(n: int, seed: int) -> dict[str, np.ndarray]:
    """Two or three positions each, long/short mixes, 1x-20x gross leverage."""
    rng = np.random.default_rng(seed)
    ni = len(INSTRUMENTS)
    lots = rng.integers(1, 11, (n, ni)) * rng.choice([-1, 1], (n, ni))
    held = rng.random((n, ni)) < 0.8
    held[np.arange(n), rng.integers(0, ni, n)] = True
    held[np.arange(n), (rng.integers(1, ni, n) + np.argmax(held, axis=1)) % ni] = True
    lots = np.where(held, lots, 0)
    entry = MARK * (1.0 + rng.normal(0.0, 0.002, (n, ni)))
    gross = (np.abs(lots) * entry * TICK_VALUE).sum(axis=1)
    cash = gross / rng.uniform(1.0, 20.0, n)
    return {"cash": cash, "position": lots, "entry_price": entry}


def calm_marks(steps: int, seed: int) -> np.ndarray:
    """Independent reflected random walks within +-1% of the mark, one per instrument."""
    return np.hstack([calm_path(steps, seed + k) for k in range(len(INSTRUMENTS))])


def bench_cross(
    accounts: int = 1_000_000,
    *,
    updates: int = 200_000,
    seed: int = 1,
    scans: int = 5,
    oracle_accounts: int = 20_000,
) -> CrossResult:
    for name, value in (("accounts", accounts), ("updates", updates), ("scans", scans)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
    pop = portfolios(accounts, seed)
    engine = MarginEngine(INSTRUMENTS)
    start = time.perf_counter()
    engine.add_accounts(
        pop["cash"], mode=CROSS, position=pop["position"], entry_price=pop["entry_price"]
    )
    create_s = time.perf_counter() - start
    path = calm_marks(updates, seed)
    if engine.count_liquidatable(path[0]) != 0:
        raise RuntimeError("cross benchmark: accounts are liquidatable at the start")

    before = engine.cross_stats
    start = time.perf_counter()
    records = engine.check_path(path)
    run_s = time.perf_counter() - start
    if len(records):
        raise RuntimeError("cross benchmark: the calm path liquidated accounts")
    after = engine.cross_stats
    revalued = (after["candidates"] - before["candidates"]) + (
        after["rebase_revalued"] - before["rebase_revalued"]
    )

    start = time.perf_counter()
    for marks in path[:scans]:
        engine.count_liquidatable(marks)
    scan_s = (time.perf_counter() - start) / scans

    m = min(oracle_accounts, accounts)
    oracle = ReferenceMargin(INSTRUMENTS)
    oracle.add_accounts(
        pop["cash"][:m],
        mode=CROSS,
        position=pop["position"][:m],
        entry_price=pop["entry_price"][:m],
    )
    start = time.perf_counter()
    held = (oracle.position != 0).any(axis=1)
    for marks in path[:scans]:
        np.count_nonzero(held & (oracle.equity(marks) <= oracle.maintenance_margin(marks)))
    oracle_s = (time.perf_counter() - start) / scans * (accounts / m)

    rate = updates / run_s
    return CrossResult(
        accounts=accounts,
        instruments=len(INSTRUMENTS),
        seed=seed,
        create_seconds=create_s,
        bytes_per_account=engine.memory_bytes / accounts,
        updates=updates,
        updates_per_s=rate,
        full_scan_updates_per_s=1.0 / scan_s,
        ratio=rate * scan_s,
        revalued_per_update=revalued / updates,
        rebases=after["rebases"] - before["rebases"],
        oracle_accounts=m,
        oracle_updates_per_s=1.0 / oracle_s,
    )
