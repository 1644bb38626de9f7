"""Stylized facts of returns: fat tails, no linear memory, long memory in volatility.

Real asset returns at horizons from minutes to days share a few regularities
that a credible market simulator should reproduce:

- fat tails: excess kurtosis well above 0 (0 for a Gaussian), and a tail
  index between about 2 and 5 (``P(|r| > x) ~ x^-alpha``; Gaussian tails
  have no finite index and give large Hill estimates);
- returns nearly uncorrelated at every lag (autocorrelation near 0);
- volatility clustering: the autocorrelation of absolute returns positive and
  slowly decaying over lags.

Returns are non-overlapping log returns over ``horizon`` steps.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from deleverage.analysis._common import (
    as_series,
    check_fraction,
    check_int,
    field_of,
    instrument_names,
    is_result,
    log_returns,
)

Tail = Literal["both", "left", "right"]


def _values(x: object, name: str, min_len: int) -> np.ndarray:
    if isinstance(x, pd.Series):
        v = as_series(x, name, min_len=min_len).to_numpy()
    else:
        try:
            v = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}: must be a Series or an array of numbers") from exc
        if v.ndim != 1:
            raise ValueError(f"{name}: must be one-dimensional, got shape {v.shape}")
        if len(v) < min_len:
            raise ValueError(f"{name}: needs at least {min_len} values, got {len(v)}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name}: must be finite (no NaN or inf)")
    return np.asarray(v, dtype=np.float64)


def returns(
    prices: pd.Series | Any,
    horizon: int = 1,
    *,
    instrument: str | None = None,
    field: str = "last",
) -> pd.Series:
    """Non-overlapping log returns over ``horizon`` steps of a price Series or a ``Result``."""
    if is_result(prices):
        prices = field_of(prices, instrument, field)
    p = as_series(prices, "prices", positive=True, min_len=2)
    h = check_int(horizon, "horizon", 1, len(p) - 1)
    return log_returns(p, h).rename("return")


def excess_kurtosis(returns: pd.Series | np.ndarray) -> float:
    """Excess kurtosis ``m4 / m2**2 - 3`` (moment estimator): 0 for a Gaussian, 3 for a Laplace."""
    v = _values(returns, "returns", 4)
    d = v - v.mean()
    m2 = float(np.mean(d**2))
    if m2 == 0.0:
        return math.nan
    return float(np.mean(d**4)) / m2**2 - 3.0


def hill_tail_index(
    returns: pd.Series | np.ndarray, tail_fraction: float = 0.05, *, tail: Tail = "both"
) -> float:
    """Hill estimate of the tail index alpha from the largest ``tail_fraction`` of |returns|.

    With ``x_(1) >= x_(2) >= ...`` the sorted tail values (``|r|`` for "both",
    ``-r`` for "left", ``r`` for "right", only those > 0) and ``k =
    floor(tail_fraction * n)`` of the n returns::

        alpha = 1 / ( mean(ln x_(i), i = 1..k) - ln x_(k+1) )

    tail_fraction in (0, 0.5]; k must be at least 10 and below the count of
    positive tail values. About 3 for Student-t(3), about 2-4 for asset returns.
    """
    v = _values(returns, "returns", 4)
    frac = check_fraction(tail_fraction, "tail_fraction", 0.0, 0.5)
    if tail == "both":
        x = np.abs(v)
    elif tail == "left":
        x = -v
    elif tail == "right":
        x = v
    else:
        raise ValueError(f"tail: must be 'both', 'left' or 'right', got {tail!r}")
    x = np.sort(x[x > 0])[::-1]
    k = int(frac * len(v))
    if k < 10:
        raise ValueError(
            f"tail_fraction: keeps k = {k} of {len(v)} returns; needs k >= 10 "
            "(more returns or a larger fraction)"
        )
    if k >= len(x):
        raise ValueError(
            f"tail_fraction: keeps k = {k}, but only {len(x)} returns are in the tail "
            "(> 0); lower the fraction or use a longer horizon"
        )
    logs = np.log(x[: k + 1])
    h = float(np.mean(logs[:k]) - logs[k])
    return 1.0 / h if h > 0 else math.inf


def autocorrelation(x: pd.Series | np.ndarray, lags: int | list[int] = 10) -> pd.Series:
    """Sample autocorrelation at ``lags`` (an int k means 1..k), indexed by lag.

    ``acf(l) = sum((x[t] - m) (x[t+l] - m)) / sum((x[t] - m)^2)``, the standard
    estimator (biased toward 0 by l/n). Each lag must be below the length.
    """
    v = _values(x, "x", 3)
    lag_list = list(range(1, check_int(lags, "lags", 1) + 1)) if isinstance(lags, int) else lags
    if not lag_list:
        raise ValueError("lags: needs at least one lag")
    for lag in lag_list:
        check_int(lag, "lags", 1, len(v) - 1)
    d = v - v.mean()
    denom = float(d @ d)
    if denom == 0.0:
        return pd.Series(math.nan, index=pd.Index(lag_list, name="lag"), name="acf")
    acf = [float(d[:-lag] @ d[lag:]) / denom for lag in lag_list]
    return pd.Series(acf, index=pd.Index(lag_list, name="lag"), name="acf")


def stylized_facts(
    prices: pd.Series | Any,
    *,
    horizon: int = 1,
    lags: int = 10,
    tail_fraction: float = 0.05,
    field: str = "last",
) -> dict[str, Any] | pd.DataFrame:
    """The stylized facts of a price Series (a dict) or of each instrument of a ``Result``
    (a DataFrame, one row per instrument).

    Keys: returns (count), volatility (standard deviation of the horizon
    returns), excess_kurtosis, hill (tail index of |r|, NaN if the tail is too
    thin to estimate), acf (autocorrelation of returns at lags 1..lags, a
    Series), abs_acf (of |returns|), acf_max_abs (largest |acf|), abs_acf_1,
    abs_acf_last (abs_acf at lag 1 and at the last lag).
    """
    tail_fraction = check_fraction(tail_fraction, "tail_fraction", 0.0, 0.5)
    if is_result(prices):
        rows = {
            name: stylized_facts(
                field_of(prices, name, field),
                horizon=horizon,
                lags=lags,
                tail_fraction=tail_fraction,
            )
            for name in instrument_names(prices)
        }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "instrument"
        return frame
    r = returns(prices, horizon).to_numpy()
    if len(r) <= lags + 2:
        raise ValueError(
            f"lags: must be below the number of returns minus 2 ({len(r)} returns), got {lags}"
        )
    try:
        hill = hill_tail_index(r, tail_fraction)
    except ValueError:
        hill = math.nan
    acf = autocorrelation(r, lags)
    abs_acf = autocorrelation(np.abs(r), lags)
    return {
        "returns": len(r),
        "volatility": float(np.std(r, ddof=1)),
        "excess_kurtosis": excess_kurtosis(r),
        "hill": hill,
        "acf": acf,
        "abs_acf": abs_acf,
        "acf_max_abs": float(acf.abs().max()),
        "abs_acf_1": float(abs_acf.iloc[0]),
        "abs_acf_last": float(abs_acf.iloc[-1]),
    }
