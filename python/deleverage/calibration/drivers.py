"""What a target's spread over seeds moves with: the other figures of the same runs.

A target missed by a world is often missed because another figure of the same
runs varies from seed to seed: gold-2026's crash day is deep when the premium
before it is high, so the crash day's misses are the premium's spread. Over
the seeds of a validation every pair of targets has one figure per seed, and
``target_drivers`` ranks, for each target asked about, the others by how
closely their figures follow it:

- ``r``: Pearson's correlation over the seeds where both figures are finite;
- ``p``: its two-sided test (Student's t with ``n - 2`` degrees of freedom),
  times the number of candidates tried for that target (Bonferroni), so that
  the best of forty-odd unrelated figures is not reported as a driver: over 8
  seeds an unrelated pair reaches ``|r|`` 0.8 one time in six;
- ``slope`` and ``intercept``: the least-squares line of the target on the
  driver;
- ``driver_low`` and ``driver_high``: where that line puts the target at the
  bounds of its range, that is, the driver's values at which a seed would
  meet the target if the line held (infinite on a side the range leaves open).

These are associations over seeds, not causes: a driver says which figure to
look at, and a counterfactual (``deleverage.counterfactual``) says what causes
it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from deleverage.scenario.distributions import check_float, check_int

__all__ = ["DRIVER_COLUMNS", "MIN_SEEDS", "target_drivers"]

#: The fewest seeds with both figures finite for a pair to be tried.
MIN_SEEDS = 5

DRIVER_COLUMNS = [
    "target",
    "driver",
    "seeds",
    "r",
    "p",
    "slope",
    "intercept",
    "driver_low",
    "driver_high",
]


def target_drivers(
    values: np.ndarray,
    labels: Sequence[str],
    ranges: Sequence[tuple[float, ...] | None],
    which: Sequence[int],
    *,
    level: float = 0.05,
    top: int = 3,
) -> pd.DataFrame:
    """For each target index in ``which``, the others (rows of ``values``, targets x
    seeds) whose figures follow it with a Bonferroni-adjusted ``p`` under ``level``,
    the ``top`` closest first (by ``|r|``). ``labels`` and ``ranges`` (None for a
    target without one) name and bound each row. Columns: ``DRIVER_COLUMNS``."""
    level = check_float("level", level, 0.0, 1.0, lo_open=True, hi_open=True)
    top = check_int("top", top, 1, 1000)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != len(labels) or len(ranges) != len(labels):
        raise ValueError(
            f"values: must be targets x seeds with one label and range per target, got "
            f"shape {x.shape}, {len(labels)} labels, {len(ranges)} ranges"
        )
    rows: list[dict[str, object]] = []
    for i in which:
        i = check_int("which", i, 0, len(labels) - 1)
        found = []
        for j in range(len(labels)):
            if j == i:
                continue
            pair = _pair(x[i], x[j])
            if pair is not None:
                found.append((j, *pair))
        tried = len(found)
        kept = []
        for j, n, r, slope, intercept in found:
            p = min(1.0, _p_value(r, n) * tried)
            if p < level:
                kept.append((-abs(r), labels[j], j, n, r, p, slope, intercept))
        for _, _, j, n, r, p, slope, intercept in sorted(kept)[:top]:
            low, high = _driver_bounds(ranges[i], slope, intercept)
            rows.append(
                {
                    "target": labels[i],
                    "driver": labels[j],
                    "seeds": n,
                    "r": r,
                    "p": p,
                    "slope": slope,
                    "intercept": intercept,
                    "driver_low": low,
                    "driver_high": high,
                }
            )
    return pd.DataFrame(rows, columns=DRIVER_COLUMNS)


def _pair(y: np.ndarray, x: np.ndarray) -> tuple[int, float, float, float] | None:
    """(seeds, r, slope, intercept) of ``y`` on ``x`` over the seeds where both are
    finite; None when fewer than MIN_SEEDS, or when either is constant there."""
    both = np.isfinite(y) & np.isfinite(x)
    n = int(both.sum())
    if n < MIN_SEEDS:
        return None
    y, x = y[both], x[both]
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 0.0 or syy <= 0.0:
        return None
    sxy = float(dx @ dy)
    r = max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
    slope = sxy / sxx
    return n, r, slope, float(y.mean() - slope * x.mean())


def _p_value(r: float, n: int) -> float:
    """Two-sided p of Pearson's r over n pairs (Student's t, n - 2 degrees of freedom)."""
    if abs(r) >= 1.0:
        return 0.0
    t = abs(r) * math.sqrt((n - 2) / (1.0 - r * r))
    return float(2.0 * stats.t.sf(t, n - 2))


def _driver_bounds(
    target_range: tuple[float, ...] | None, slope: float, intercept: float
) -> tuple[float, float]:
    """The driver's values at which the line puts the target at its range's bounds,
    low to high (NaN for a target without a range)."""
    if not target_range:
        return math.nan, math.nan
    ends = [(bound - intercept) / slope for bound in target_range]
    return min(ends), max(ends)
