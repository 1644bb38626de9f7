"""Shares of a metric explained by removing a cause, with bootstrap intervals over seeds.

For a metric m (larger meaning a worse crash) measured on the baseline world
and on a counterfactual world with the same seeds:

- per seed: ``(m_base - m_cf) / m_base`` (NaN where the baseline is 0);
- over seeds: the ratio of means ``(mean m_base - mean m_cf) / mean m_base``,
  the headline share (stable where single seeds have a small baseline);
- its interval: a paired percentile bootstrap over seeds. Each resample draws
  seeds with replacement, keeps every world's run of a drawn seed together,
  and recomputes the ratio of means; the interval is the resamples'
  ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles. The
  resamples come from a generator seeded by the call's seed, and every world
  and metric uses the same resamples, so the intervals of the joint world and
  of the remainder are those of the same bootstrap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Shares", "bootstrap_indices", "seed_shares", "shares"]


def seed_shares(baseline: np.ndarray, counterfactual: np.ndarray) -> np.ndarray:
    """Per-seed shares ``(baseline - counterfactual) / baseline``; NaN where the baseline is 0."""
    b = np.asarray(baseline, dtype=np.float64)
    c = np.asarray(counterfactual, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0.0, (b - c) / np.where(b != 0.0, b, 1.0), math.nan)


def bootstrap_indices(seeds: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``resamples`` x ``seeds`` seed positions drawn with replacement."""
    return rng.integers(0, seeds, size=(resamples, seeds))


def _ratio_of_means(base_mean: np.ndarray, cf_mean: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            base_mean != 0.0,
            (base_mean - cf_mean) / np.where(base_mean != 0.0, base_mean, 1.0),
            math.nan,
        )


@dataclass(frozen=True)
class Shares:
    """The share of one metric explained by each world (rows of ``counterfactual``).

    share: ratio of means per world; low, high: its bootstrap interval (NaN
    without one); resampled: the bootstrap's shares (resamples x worlds), for
    intervals of sums of shares.
    """

    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    resampled: np.ndarray | None


def shares(
    baseline: np.ndarray,
    counterfactual: np.ndarray,
    indices: np.ndarray | None,
    confidence: float | None,
) -> Shares:
    """Shares of ``baseline`` (seeds,) explained by each row of ``counterfactual``
    (worlds x seeds), with intervals from the resampled seed ``indices``."""
    b = np.asarray(baseline, dtype=np.float64)
    c = np.asarray(counterfactual, dtype=np.float64).reshape(-1, b.size)
    share = _ratio_of_means(np.asarray(b.mean()), c.mean(axis=1))
    worlds = c.shape[0]
    if indices is None or confidence is None:
        nan = np.full(worlds, math.nan)
        return Shares(share, nan, nan.copy(), None)
    resampled = interval_samples(b, c, indices)
    low, high = quantiles(resampled, confidence)
    return Shares(share, low, high, resampled)


def interval_samples(b: np.ndarray, c: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The ratio of means of every resample (resamples x worlds)."""
    base_mean = b[indices].mean(axis=1)  # (resamples,)
    cf_mean = c[:, indices].mean(axis=2).T  # (resamples, worlds)
    return _ratio_of_means(base_mean[:, None], cf_mean)


def quantiles(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The central ``confidence`` interval of each column (NaN resamples left out)."""
    tail = (1.0 - confidence) / 2.0
    columns = samples.shape[1] if samples.ndim == 2 else 1
    s = samples.reshape(samples.shape[0], columns)
    low = np.full(columns, math.nan)
    high = np.full(columns, math.nan)
    for j in range(columns):
        v = s[:, j]
        v = v[np.isfinite(v)]
        if v.size:
            low[j], high[j] = np.quantile(v, [tail, 1.0 - tail])
    return low, high
