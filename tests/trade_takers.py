"""Which steps a population took liquidity at, from a run's trade log: the
oracle of the value traders' tests (a trader that is out sends nothing)."""

from __future__ import annotations

import numpy as np

from deleverage.result import Result


def taker_steps(r: Result, population: str, instrument: str | None = None) -> np.ndarray:
    """The steps at which an account of ``population`` was the aggressor of a
    trade (of ``instrument`` only, when given), one entry a trade."""
    first = 0
    for p in r.scenario.populations:
        if p.name == population:
            break
        first += p.accounts
    else:
        raise KeyError(population)
    end = first + p.accounts
    trades = r.trades
    assert trades is not None, "the run needs trade_log=True"
    if instrument is not None:
        trades = trades[trades["instrument"] == instrument]
    buys = trades["aggressor"] == "buy"
    taker = np.where(buys, trades["buyer"], trades["seller"]).astype(np.int64)
    mine = (taker >= first) & (taker < end)
    times = trades["time"][mine]
    if r.scenario.clock.start is not None:  # dated: date-times from the first step's
        times = (times - r.series.index[0]).dt.total_seconds()
    return np.round(np.asarray(times, dtype=float) / r.scenario.clock.dt).astype(np.int64)
