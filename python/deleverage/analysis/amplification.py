"""Cascade amplification: how much deeper a fall is with forced deleveraging than without.

Two measures:

- paired: ``drawdown(with cascade) / drawdown(without)``, for two runs of the
  same seed that differ only in what allows the cascade (e.g. speculators
  leveraged 10-25x against capped at 1x). The seed fixes the news and the
  order flow, so the ratio isolates the cascade. Over many seeds,
  ``paired_amplification`` gives the mean ratio and a bootstrap interval.
- single run: ``price fall / fair-value fall`` over the same interval around
  a shock (``shock_amplification``): 1 means the price moved as much as the
  news, 2 that it fell twice as far.

Ratios are dimensionless; a zero denominator gives NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deleverage.analysis._common import (
    Time,
    check_fraction,
    check_int,
    is_result,
    result_time,
    same_index,
)
from deleverage.analysis.drawdown import _prices, crash_depth, max_drawdown


@dataclass(frozen=True)
class AmplificationSummary:
    """Amplification over paired seeds.

    mean: mean of the per-seed ratios (NaN ratios left out).
    low, high: percentile bootstrap interval of the mean at ``confidence``.
    n: ratios used. deeper: seeds whose run with the cascade fell further.
    ratios: every per-seed ratio, in input order (NaN where undefined).
    """

    mean: float
    low: float
    high: float
    confidence: float
    n: int
    deeper: int
    ratios: np.ndarray


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _fall(x: object, name: str, at: Time | None, instrument: str | None, field: str) -> float:
    if at is None:
        return max_drawdown(_prices(x, name, instrument, field), field=field).depth
    return crash_depth(_prices(x, name, instrument, field, min_len=2), at).fall


def amplification(
    with_cascade: pd.Series | Any,
    without_cascade: pd.Series | Any,
    *,
    at: Time | None = None,
    instrument: str | None = None,
    field: str = "last",
) -> float:
    """``fall(with_cascade) / fall(without_cascade)`` for one paired seed.

    Both are price Series on the same index, or ``Result``s of the same seed
    and clock. The fall is the maximum drawdown, or with ``at`` the crash depth
    (fall from just before ``at`` to the low after it). NaN if the run without
    the cascade did not fall.
    """
    if (
        is_result(with_cascade)
        and is_result(without_cascade)
        and with_cascade.seed != without_cascade.seed
    ):
        raise ValueError(
            "with_cascade, without_cascade: must be runs of the same seed, "
            f"got seeds {with_cascade.seed} and {without_cascade.seed}"
        )
    if is_result(with_cascade):
        at = result_time(with_cascade, at, "at")
    a = _prices(with_cascade, "with_cascade", instrument, field)
    b = _prices(without_cascade, "without_cascade", instrument, field)
    same_index(a, b, "with_cascade, without_cascade")
    fall_with = _fall(a, "with_cascade", at, None, field)
    return _ratio(fall_with, _fall(b, "without_cascade", at, None, field))


def shock_amplification(
    prices: pd.Series | Any,
    at: Time | None = None,
    *,
    fair: pd.Series | None = None,
    instrument: str | None = None,
    field: str = "last",
) -> float:
    """Price fall over fair-value fall, from just before ``at`` to the price's low after it.

    With a ``Result``, ``at`` defaults to the run's event and ``fair`` to the
    instrument's fair value. NaN if the fair value did not fall.
    """
    if not is_result(prices) and fair is None:
        raise ValueError("fair: the fair value is required for a Series of prices")
    c = crash_depth(prices, at, fair=fair, instrument=instrument, field=field)
    return _ratio(c.fall, c.fair_fall)


def bootstrap_mean(
    values: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float, float]:
    """Mean and percentile bootstrap interval ``(mean, low, high)`` of finite values.

    seed: an int or a ``numpy.random.Generator``; the same seed gives the same
    interval.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("values: needs at least one finite value")
    confidence = check_fraction(confidence, "confidence", 0.0, 1.0, hi_open=True)
    resamples = check_int(resamples, "resamples", 1, 10_000_000)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    idx = rng.integers(0, v.size, size=(resamples, v.size))
    means = v[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(v.mean()), float(low), float(high)


def paired_amplification(
    pairs: Iterable[tuple[pd.Series | Any, pd.Series | Any]],
    *,
    at: Time | None = None,
    instrument: str | None = None,
    field: str = "last",
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int | np.random.Generator = 0,
) -> AmplificationSummary:
    """Amplification over many paired seeds: mean ratio and bootstrap interval.

    pairs: ``(with_cascade, without_cascade)`` per seed, each as accepted by
    ``amplification``. Seeds where the run without the cascade did not fall
    give NaN and are left out of the mean.
    """
    ratios, deeper = [], 0
    for k, pair in enumerate(pairs):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"pairs[{k}]: must be a (with_cascade, without_cascade) tuple")
        a, b = pair
        r = amplification(a, b, at=at, instrument=instrument, field=field)
        ratios.append(r)
        deeper += bool(r > 1.0)
    if not ratios:
        raise ValueError("pairs: needs at least one pair")
    arr = np.asarray(ratios, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        nan = math.nan
        return AmplificationSummary(nan, nan, nan, confidence, 0, deeper, arr)
    mean, low, high = bootstrap_mean(finite, confidence=confidence, resamples=resamples, seed=seed)
    return AmplificationSummary(mean, low, high, confidence, int(finite.size), deeper, arr)
