"""The stylized facts of an instrument's market in a window of a run (Cont 2001).

What a market in ordinary times shows, and what ``deleverage validate``
checks a simulated one against (``deleverage.scenario.MARKET_FACTS`` names
them, with a line each):

- its price wanders about as much as its value: the daily volatility of the
  price over that of the fair value (``vol_ratio``);
- returns have no linear memory (``return_acf_*`` near 0; a bounce between bid
  and ask makes lag 1 negative, a trend makes it positive);
- volatility clusters and decays slowly (``abs_acf_1``, ``_12``, ``_72`` > 0);
- tails are fat and fade with the horizon (``kurtosis`` > 0, ``kurtosis_fade``
  > 0, a Hill index of about 2-5);
- spreads, depth and mispricing stay small, and both sides of the book are
  quoted (``one_sided`` near 0); volume comes with large moves
  (``volume_abs_corr`` > 0); falls raise later volatility (``leverage_effect`` < 0).

Returns are non-overlapping log returns of the last trade price over the
horizon, within the window; the spread, depth and mispricing are medians over
every step of the window. A fact that needs more returns than the window
holds is NaN, never an error: a validation reports it as failing.

``of="value"`` measures the facts of returns (``VALUE_FACTS``) on the fair
value's own path instead, in the same window at the same horizon (every other
fact NaN): what a market whose price is its value would show there. A fact the
value itself misses is one the window is too short to judge, or one the value's
own process lacks (a Gaussian value has no fat tails) and only the traders can add.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from deleverage.analysis._common import instrument_names, is_result
from deleverage.analysis.stylized import excess_kurtosis, hill_tail_index
from deleverage.dates import run_start, seconds_of, time_seconds
from deleverage.scenario.targets import MARKET_FACTS

if TYPE_CHECKING:
    from deleverage.result import Result

__all__ = [
    "DEFAULT_HORIZONS",
    "OF",
    "check_of",
    "facts_of_frame",
    "market_facts",
    "resolve_window",
]

#: Horizons (seconds) of ``market_facts`` by default: five minutes and an hour.
DEFAULT_HORIZONS: tuple[float, ...] = (300.0, 3600.0)
#: Fewest returns a return fact is computed from (below: NaN).
MIN_RETURNS = 20
#: Lags of the return and absolute-return autocorrelations reported.
RETURN_LAGS = (1, 2, 3, 5)
ABS_LAGS = (1, 12, 72)
#: Returns ahead averaged by the leverage effect; horizon multiple of ``kurtosis_fade``.
AHEAD = 12
FADE = 12
#: The fields of an instrument's series the facts read.
FIELDS = ("last", "fair", "mid", "spread", "depth_bid", "depth_ask", "volume")
#: Whose facts: the market's (its last trade price) or its fair value's own path.
OF = ("price", "value")


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation (NaN when either side is constant or too short)."""
    if len(a) < 3:
        return math.nan
    da, db = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(da @ da) * float(db @ db))
    return float(da @ db) / denom if denom > 0 else math.nan


def _acf(x: np.ndarray, lag: int) -> float:
    """Sample autocorrelation at ``lag`` (the estimator of ``analysis.autocorrelation``)."""
    if len(x) < lag + MIN_RETURNS // 2:
        return math.nan
    d = x - x.mean()
    denom = float(d @ d)
    return float(d[:-lag] @ d[lag:]) / denom if denom > 0 else math.nan


def _log_returns(prices: np.ndarray, k: int) -> np.ndarray:
    sampled = prices[::k]
    return np.diff(np.log(sampled))


def _daily_vol(r: np.ndarray, horizon: float) -> float:
    if len(r) < MIN_RETURNS:
        return math.nan
    return float(np.std(r, ddof=1)) * math.sqrt(86400.0 / horizon)


def _kurtosis(r: np.ndarray) -> float:
    return excess_kurtosis(r) if len(r) >= MIN_RETURNS else math.nan


def _return_facts(
    prices: np.ndarray, k: int, horizon: float
) -> tuple[dict[str, float], np.ndarray]:
    """The facts of returns alone (``VALUE_FACTS``) of a path of ``prices`` at ``k``
    steps a return, and the returns."""
    r = _log_returns(prices, k)
    out: dict[str, float] = {"daily_vol": _daily_vol(r, horizon)}
    if len(r) >= MIN_RETURNS:
        for lag in RETURN_LAGS:
            out[f"return_acf_{lag}"] = _acf(r, lag)
        for lag in ABS_LAGS:
            out[f"abs_acf_{lag}"] = _acf(np.abs(r), lag)
        out["kurtosis"] = _kurtosis(r)
        out["kurtosis_fade"] = out["kurtosis"] - _kurtosis(_log_returns(prices, k * FADE))
        with contextlib.suppress(ValueError):  # too few returns in the tail: NaN
            out["hill"] = hill_tail_index(r, 0.05)
        if len(r) > AHEAD + MIN_RETURNS // 2:
            ahead = np.lib.stride_tricks.sliding_window_view(np.abs(r[1:]), AHEAD).mean(axis=1)
            out["leverage_effect"] = _corr(r[: len(ahead)], ahead)
    return out, r


def check_of(of: object) -> str:
    """``of`` if it names whose facts to measure (``OF``), else ValueError naming it."""
    if not isinstance(of, str) or of not in OF:
        raise ValueError(f"of: must be one of {list(OF)}, got {of!r}")
    return of


def facts_of_frame(
    frame: pd.DataFrame, horizon_steps: int, dt: float, *, of: str = "price"
) -> dict[str, float]:
    """Every fact of ``MARKET_FACTS`` for one instrument's per-step ``frame`` (the columns
    of ``FIELDS``, one row a step of ``dt`` seconds) at a horizon of ``horizon_steps`` steps.
    of: ``"price"``, or ``"value"`` for the facts of ``VALUE_FACTS`` measured on the
    fair value's own path (the others NaN)."""
    check_of(of)
    missing = [f for f in FIELDS if f not in frame.columns]
    if missing:
        raise ValueError(f"frame: missing columns {missing}; needs {list(FIELDS)}")
    if isinstance(horizon_steps, bool) or not isinstance(horizon_steps, (int, np.integer)):
        raise TypeError(f"horizon_steps: must be an int, got {type(horizon_steps).__name__}")
    if horizon_steps < 1:
        raise ValueError(f"horizon_steps: must be >= 1, got {horizon_steps}")
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)):
        raise TypeError(f"dt: must be a number of seconds, got {type(dt).__name__}")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt: must be a positive finite number of seconds, got {dt!r}")
    k = int(horizon_steps)
    horizon = k * float(dt)
    last = frame["last"].to_numpy(dtype=np.float64)
    fair = frame["fair"].to_numpy(dtype=np.float64)
    if not (np.all(np.isfinite(last) & (last > 0)) and np.all(np.isfinite(fair) & (fair > 0))):
        raise ValueError("frame: last and fair prices must be positive and finite (no NaN or inf)")
    out: dict[str, float] = dict.fromkeys(MARKET_FACTS, math.nan)
    own, r = _return_facts(fair if of == "value" else last, k, horizon)
    out.update(own)
    if of == "value":
        return out

    fair_vol = _daily_vol(_log_returns(fair, k), horizon)
    out["fair_daily_vol"] = fair_vol
    if fair_vol > 0:
        out["vol_ratio"] = out["daily_vol"] / fair_vol
    elif fair_vol == 0 and out["daily_vol"] > 0:
        out["vol_ratio"] = math.inf  # the price moves, its value never does
    if len(r) >= MIN_RETURNS:
        # Volume traded over each return's interval: steps (i-1)k+1 .. ik.
        volume = frame["volume"].to_numpy(dtype=np.float64)
        n = len(r)
        per_interval = volume[1 : n * k + 1].reshape(n, k).sum(axis=1)
        out["volume_abs_corr"] = _corr(per_interval, np.abs(r))

    mid = frame["mid"].to_numpy(dtype=np.float64)
    spread = frame["spread"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        bps = spread / mid * 1e4
    quoted = np.isfinite(bps)
    if len(bps):
        # The spread's median is over the steps it is quoted: how often it is not is its own fact.
        out["one_sided"] = float(1.0 - np.mean(quoted))
    bps = bps[quoted]
    if len(bps):
        out["spread_bps"] = float(np.median(bps))
    depth = (frame["depth_bid"] + frame["depth_ask"]).to_numpy(dtype=np.float64)
    if len(depth):
        out["depth"] = float(np.median(depth))
        out["mispricing"] = float(np.median(np.abs(last / fair - 1.0)))
    return out


def resolve_window(result: Result, window: object) -> tuple[float, float]:
    """``[start, end)`` seconds of ``result`` for ``window``: None or ``"quiet"`` (the
    scenario's quiet window), ``"all"``, or a pair of times (``end`` may be inf)."""
    duration = result.scenario.clock.dt * result.steps_done
    if window is None or (isinstance(window, str) and window == "quiet"):
        start, end = result.scenario.quiet_span()
    elif isinstance(window, str) and window == "all":
        start, end = 0.0, duration
    elif isinstance(window, Sequence) and not isinstance(window, str) and len(window) == 2:
        if run_start(result) is not None:  # a dated run: date-times as well as seconds
            window = [_window_time(w, result) for w in window]
        try:
            start, end = float(window[0]), float(window[1])
        except (TypeError, ValueError):
            raise TypeError(f"window: times must be numbers of seconds, got {window!r}") from None
        if math.isnan(start) or math.isnan(end) or start < 0 or not end > start:
            raise ValueError(f"window: must be [start, end] with 0 <= start < end, got {window!r}")
    else:
        raise ValueError(f"window: must be 'quiet', 'all' or [start, end] seconds, got {window!r}")
    end = min(end, duration)
    if not end > start:
        raise ValueError(
            f"window: [{start:g}, {end:g}) s holds no step of the run (it ran {duration:g} s)"
        )
    return start, end


def _window_time(t: object, result: Result) -> float:
    """An end of a window of a dated run as seconds (numbers, inf included, as they are)."""
    if isinstance(t, (int, float, np.integer, np.floating)) and not isinstance(t, bool):
        return float(t)
    return time_seconds(t, run_start(result), "window")


def _horizon_steps(horizon: object, dt: float) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, float, np.number)):
        raise TypeError(f"horizons: must be numbers of seconds, got {horizon!r}")
    steps = float(horizon) / dt
    if not (
        math.isfinite(steps) and steps >= 1 - 1e-9 and abs(steps - round(steps)) < 1e-9 * steps
    ):
        raise ValueError(
            f"horizons: each must be a whole number of clock steps (dt {dt:g} s), got {horizon!r}"
        )
    return round(steps)


def market_facts(
    result: Result,
    *,
    instrument: str | None = None,
    window: Any = None,
    horizons: Sequence[float] = DEFAULT_HORIZONS,
    of: str = "price",
) -> pd.DataFrame:
    """The stylized facts of a run's markets: one row per (instrument, horizon in
    seconds), one column per fact of ``MARKET_FACTS``.

    window: None or ``"quiet"`` (the scenario's quiet window: ``quiet_window``,
    else before its first fair-value jump), ``"all"``, or ``(start, end)`` in
    seconds. instrument: one, or every instrument (None). horizons: return
    horizons in seconds, each a whole number of clock steps. of: ``"price"`` (the
    market), or ``"value"``: the facts of returns measured on the fair value's own
    path, the same window and horizons (the other facts NaN).
    """
    if not is_result(result):
        raise TypeError(f"result: must be a Result, got {type(result).__name__}")
    names = instrument_names(result)
    if instrument is not None and instrument not in names:
        raise ValueError(f"instrument: must be one of {names}, got {instrument!r}")
    if isinstance(horizons, (str, bytes)) or not isinstance(horizons, Sequence) or not horizons:
        raise ValueError(f"horizons: must be a non-empty list of seconds, got {horizons!r}")
    check_of(of)
    dt = result.scenario.clock.dt
    steps = [_horizon_steps(h, dt) for h in horizons]
    start, end = resolve_window(result, window)
    t = seconds_of(result.series.index, run_start(result))
    rows = (t >= start) & (t < end)
    records: dict[tuple[str, float], dict[str, float]] = {}
    for name in [instrument] if instrument is not None else names:
        # One instrument's block of the (instrument, field) columns: a DataFrame.
        frame = cast(pd.DataFrame, result.series[name]).loc[rows, list(FIELDS)]
        for k in steps:
            records[(name, k * dt)] = facts_of_frame(frame, k, dt, of=of)
    out = pd.DataFrame.from_dict(records, orient="index")
    out.index = pd.MultiIndex.from_tuples(list(records), names=["instrument", "horizon"])
    out.attrs["window"] = (start, end)
    return out
