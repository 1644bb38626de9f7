"""Spread and depth over a long run, as per-period quantiles.

A day of one-second steps drawn as lines is a solid block: the spread jumps
between a tick and a few ticks every second. Per period (``BAND_PERIODS``
of them over the run) the panel draws the median and the 10-90% band of the
spread and of the depth, so the usual level, its spread of values and the
moments liquidity left can all be read. Short runs keep every step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BAND_PERIODS", "HIGH_Q", "LOW_Q", "period_quantiles"]

#: Periods over the run (each one band point).
BAND_PERIODS = 240
#: The band's quantiles.
LOW_Q, HIGH_Q = 0.1, 0.9


def period_quantiles(series: pd.Series, periods: int = BAND_PERIODS) -> pd.DataFrame:
    """Per period of equal length (in steps): the period's start time (index) and the
    ``low`` (10%), ``median`` and ``high`` (90%) of the series' finite values; NaN
    for a period without one. A series of at most ``periods`` steps keeps each step
    (all three columns equal)."""
    if periods < 1:
        raise ValueError(f"periods: must be >= 1, got {periods}")
    values = series.to_numpy(dtype=np.float64)
    n = len(values)
    if n <= periods:
        return pd.DataFrame(
            {"low": values, "median": values, "high": values}, index=series.index.copy()
        )
    k = -(-n // periods)
    nb = -(-n // k)
    padded = np.concatenate([values, np.full(nb * k - n, np.nan)]).reshape(nb, k)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanquantile(padded, [LOW_Q, 0.5, HIGH_Q], axis=1)
    index = series.index[np.arange(nb) * k]
    return pd.DataFrame({"low": q[0], "median": q[1], "high": q[2]}, index=index)
