"""The margin benchmark: mark updates with liquidation checks, at 1M and 10M accounts.

For each size: bulk creation time; bytes per account (table and index);
mark updates/s on a calm path where nothing is liquidated (the liquidation
index's frontier test); liquidations/s through a cascade that liquidates every
long; and the baseline measured in the same run: a full scan of every account
per mark update, vectorized in C++ and in numpy.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from deleverage.margin import MarginEngine
from deleverage.margin_rules import Instrument, MarginRule

MARK = 100_000  # ticks
TICK_VALUE = 1.0
RULE = MarginRule(initial_rate=0.05, maintenance="percent", maintenance_rate=0.005)


@dataclass(frozen=True)
class MarginSizeResult:
    accounts: int
    create_seconds: float
    bytes_per_account: float
    mark_updates: int
    mark_updates_per_s: float
    scan_updates_per_s: float
    numpy_scan_updates_per_s: float
    index_over_scan: float
    liquidations: int
    liquidations_per_s: float
    cascade_steps: int


def population(n: int, seed: int) -> dict[str, np.ndarray]:
    """Isolated longs and shorts at 2x-20x leverage, entered within ~0.2% of the mark."""
    rng = np.random.default_rng(seed)
    side = np.where(rng.random(n) < 0.5, 1, -1)
    lots = rng.integers(1, 11, n)
    entry = MARK * (1.0 + rng.normal(0.0, 0.002, n))
    leverage = rng.uniform(2.0, 20.0, n)
    cash = lots * entry * TICK_VALUE / leverage
    return {"cash": cash, "position": side * lots, "entry_price": entry}


def calm_path(steps: int, seed: int, band: int = MARK // 100) -> np.ndarray:
    """A reflected random walk within +-1% of the mark: no account is near its trigger."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.integers(-5, 6, steps))
    span = 2 * band
    folded = np.abs((walk + band) % (2 * span) - span) - band  # reflect into [-band, band]
    return (MARK + folded).astype(np.int64).reshape(-1, 1)


def _numpy_scan(cash: np.ndarray, q: np.ndarray, cost: np.ndarray, mark: int) -> int:
    qf = q.astype(np.float64)
    equity = cash + (qf * mark * TICK_VALUE - cost)
    mm = RULE.maintenance_rate * (np.abs(qf) * mark * TICK_VALUE)
    return int(np.count_nonzero((q != 0) & (equity <= mm)))


def bench_size(
    n: int, *, seed: int = 1, mark_updates: int = 2_000_000, scans: int = 5
) -> MarginSizeResult:
    pop = population(n, seed)
    engine = MarginEngine([Instrument("X", TICK_VALUE, RULE)])
    start = time.perf_counter()
    engine.add_accounts(pop["cash"], position=pop["position"], entry_price=pop["entry_price"])
    create_s = time.perf_counter() - start
    bytes_per_account = engine.memory_bytes / n

    path = calm_path(mark_updates, seed)
    start = time.perf_counter()
    records = engine.check_path(path)
    calm_s = time.perf_counter() - start
    if len(records):
        raise RuntimeError("margin benchmark: the calm path liquidated accounts")

    marks = path[:scans, 0]
    start = time.perf_counter()
    for m in marks:
        engine.count_liquidatable([int(m)])
    scan_s = (time.perf_counter() - start) / scans
    cash, q, cost = pop["cash"], pop["position"], engine.cost[:, 0].copy()
    start = time.perf_counter()
    for m in marks:
        _numpy_scan(cash, q, cost, int(m))
    numpy_s = (time.perf_counter() - start) / scans

    # The cascade: the mark falls one tick per step until every long is gone.
    cascade = np.arange(MARK, MARK // 2 - 1, -1, dtype=np.int64).reshape(-1, 1)
    start = time.perf_counter()
    records = engine.check_path(cascade)
    cascade_s = time.perf_counter() - start
    liquidations = int(np.count_nonzero(records["kind"] != 4))
    return MarginSizeResult(
        accounts=n,
        create_seconds=create_s,
        bytes_per_account=bytes_per_account,
        mark_updates=mark_updates,
        mark_updates_per_s=mark_updates / calm_s,
        scan_updates_per_s=1.0 / scan_s,
        numpy_scan_updates_per_s=1.0 / numpy_s,
        index_over_scan=(mark_updates / calm_s) * scan_s,
        liquidations=liquidations,
        liquidations_per_s=liquidations / cascade_s,
        cascade_steps=len(cascade),
    )


def bench_margin(
    sizes: tuple[int, ...] = (1_000_000, 10_000_000), *, seed: int = 1
) -> dict[str, object]:
    for n in sizes:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"sizes: every size must be an integer >= 1, got {n!r}")
    return {"results": [asdict(bench_size(n, seed=seed)) for n in sizes], "seed": seed}
