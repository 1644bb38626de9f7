"""Thinning per-step series for drawing.

A day of one-second steps is 86,400 points per line; a figure 1,400 pixels
wide cannot show more than a few thousand. Drawing every point costs time
and shows nothing more, but thinning by taking every k-th point would hide
exactly what the report is for: a one-second spike of the spread, the low of
a crash. So each bin of k steps keeps its lowest and its highest point, in
the order they happened (the "min-max" decimation of plotting libraries):
the drawn envelope is the same as the full line's at the figure's width.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Bins per line by default: two points per bin, about two per pixel column.
DEFAULT_BINS = 1500


def minmax_downsample(series: pd.Series, bins: int = DEFAULT_BINS) -> pd.Series:
    """``series`` thinned to at most ``2 * bins`` points: each bin's min and max.

    NaNs are skipped (a bin of only NaNs gives one NaN, so a gap stays a gap).
    Short series come back unchanged.
    """
    if bins < 1:
        raise ValueError(f"bins: must be >= 1, got {bins}")
    n = len(series)
    if n <= 2 * bins:
        return series
    k = -(-n // bins)  # steps per bin, rounded up
    values = series.to_numpy(dtype=np.float64)
    nb = -(-n // k)
    pad = nb * k - n
    padded = np.concatenate([values, np.full(pad, np.nan)]).reshape(nb, k)
    finite = ~np.isnan(padded)
    lo = np.argmin(np.where(finite, padded, np.inf), axis=1)
    hi = np.argmax(np.where(finite, padded, -np.inf), axis=1)
    base = np.arange(nb) * k
    first = np.minimum(lo, hi) + base
    second = np.maximum(lo, hi) + base
    keep = np.stack([first, second], axis=1).ravel()
    # A bin whose min and max are one point (or all NaN) keeps that point once.
    keep = keep[np.concatenate([[True], np.diff(keep) != 0])]
    keep = keep[keep < n]
    out: pd.Series = series.iloc[keep]
    return out


def bin_sums(series: pd.Series, edges: np.ndarray) -> np.ndarray:
    """The sum of ``series`` (indexed by time) over each bin [edges[i], edges[i+1])."""
    times = series.index.to_numpy(dtype=np.float64)
    values = np.nan_to_num(series.to_numpy(dtype=np.float64))
    which = np.searchsorted(edges, times, side="right") - 1
    ok = (which >= 0) & (which < len(edges) - 1)
    return np.bincount(which[ok], weights=values[ok], minlength=len(edges) - 1)
