"""Shared input checks and conversions of the analysis functions.

Time: a series is indexed either by simulation time (a numeric index in
seconds, as ``Result.series``) or by calendar time (a ``DatetimeIndex``, e.g.
daily closes). Points in time are given and returned as index labels; spans
(windows, hold periods) as an ``int`` number of steps or as a
``pandas.Timedelta`` (or a string it parses, such as ``"5min"``); durations are
returned as float seconds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard, overload

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from deleverage.result import Result

#: A span of time: an int number of steps, or a Timedelta (or a string it parses).
Span: TypeAlias = "int | pd.Timedelta | str"
#: A point in time: a number of seconds (simulation) or a Timestamp (calendar).
Time: TypeAlias = "float | int | pd.Timestamp | str"


def is_result(x: object) -> TypeGuard[Result]:
    """True for a ``deleverage.result.Result`` (imported lazily: no engine needed)."""
    from deleverage.result import Result

    return isinstance(x, Result)


def instrument_name(result: Result, instrument: str | None, name: str = "instrument") -> str:
    """The instrument to analyse: ``instrument`` or the result's first one."""
    names = instrument_names(result)
    if instrument is None:
        return names[0]
    if instrument not in names:
        raise ValueError(f"{name}: must be one of {names}, got {instrument!r}")
    return instrument


def instrument_names(result: Result) -> list[str]:
    """The instruments of a result, in scenario order."""
    return [str(n) for n in result.series.columns.get_level_values(0).unique()]


def field_of(result: Result, instrument: str | None, field: str) -> pd.Series:
    """One per-step field of one instrument of a result, named after the field."""
    inst = instrument_name(result, instrument)
    fields = list(result.series[inst].columns)
    if field not in fields:
        raise ValueError(f"field: must be one of {fields}, got {field!r}")
    return result.series[(inst, field)].rename(field)


def first_shock_time(result: Result) -> Any:
    """Time of the run's event (``Result.event()``): the scenario's episode, else the
    start of the largest drawdown's window (see ``deleverage.event``); an index label
    of the result's series (seconds, or a UTC Timestamp for a dated run)."""
    from deleverage.dates import run_start, time_label

    return time_label(result.event().time, run_start(result))


def result_time(result: Result, t: object, name: str) -> Any:
    """A time given for ``result`` as a label of its series: ``t`` itself for an
    undated run (seconds), a UTC Timestamp for a dated one, which takes seconds
    from its start, a duration (``"21h"``) or a date-time (``"2026-01-30 01:00"``)."""
    from deleverage.dates import run_start, time_label, time_seconds

    start = run_start(result)
    if t is None or start is None:
        return t
    return time_label(time_seconds(t, start, name), start)


def plain_time(label: Any) -> Any:
    """An index label as a plain value: a float for seconds, a Timestamp as it is."""
    if isinstance(label, (int, float, np.integer, np.floating)) and not isinstance(label, bool):
        return float(label)
    return label


def _check_index(index: pd.Index, name: str) -> None:
    if not (isinstance(index, pd.DatetimeIndex) or pd.api.types.is_numeric_dtype(index.dtype)):
        raise TypeError(
            f"{name}: index must be numeric (seconds) or a DatetimeIndex, got {index.dtype}"
        )
    if not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError(f"{name}: index must be strictly increasing")


def as_series(
    x: object,
    name: str,
    *,
    positive: bool = False,
    min_len: int = 1,
    allow_nan: bool = False,
) -> pd.Series:
    """``x`` checked as a numeric pandas Series on a time index (a float copy).

    positive: every (non-NaN) value must be > 0 (prices). allow_nan: NaN values
    are kept (e.g. a spread while a side of the book is empty); otherwise NaN is
    rejected. Infinite values are always rejected.
    """
    if not isinstance(x, pd.Series):
        raise TypeError(f"{name}: must be a pandas Series, got {type(x).__name__}")
    if not (pd.api.types.is_numeric_dtype(x.dtype) and not pd.api.types.is_bool_dtype(x.dtype)):
        raise TypeError(f"{name}: must hold numbers, got dtype {x.dtype}")
    if len(x) < min_len:
        raise ValueError(f"{name}: needs at least {min_len} values, got {len(x)}")
    _check_index(x.index, name)
    s = x.astype(np.float64)
    v = s.to_numpy()
    nan = np.isnan(v)
    if nan.any() and not allow_nan:
        raise ValueError(f"{name}: must not contain NaN ({int(nan.sum())} NaN values)")
    if np.isinf(v).any():
        raise ValueError(f"{name}: must be finite, got an infinite value")
    if nan.all():
        raise ValueError(f"{name}: every value is NaN")
    if positive and np.any(v[~nan] <= 0):
        raise ValueError(f"{name}: prices must be > 0, got minimum {np.nanmin(v)}")
    return s


def as_frame(x: object, name: str, *, positive: bool = False, min_len: int = 1) -> pd.DataFrame:
    """``x`` checked as a numeric DataFrame on a time index, one column per instrument."""
    if not isinstance(x, pd.DataFrame):
        raise TypeError(f"{name}: must be a pandas DataFrame, got {type(x).__name__}")
    if x.shape[1] == 0:
        raise ValueError(f"{name}: has no columns")
    for c in x.columns:
        as_series(x[c], f"{name}[{c!r}]", positive=positive, min_len=min_len)
    return x.astype(np.float64)


def same_index(a: pd.Series | pd.DataFrame, b: pd.Series | pd.DataFrame, names: str) -> None:
    """Raise unless ``a`` and ``b`` share exactly the same index."""
    if not a.index.equals(b.index):
        raise ValueError(
            f"{names}: must share the same index (lengths {len(a)} and {len(b)}; "
            "align them first, e.g. with .reindex or .loc)"
        )


def elapsed_seconds(index: pd.Index, start: Any, end: Any) -> float:
    """Seconds from ``start`` to ``end`` (two labels of ``index``)."""
    if isinstance(index, pd.DatetimeIndex):
        return float((pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(seconds=1))
    return float(end) - float(start)


def as_time(index: pd.Index, t: object, name: str) -> Any:
    """A point in time comparable with ``index``, checked to lie within its range."""
    if isinstance(index, pd.DatetimeIndex):
        try:
            ts = pd.Timestamp(t)  # type: ignore[arg-type]  # anything else raises TypeError, reported below
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}: must be a timestamp for a DatetimeIndex, got {t!r}") from exc
        if index.tz is not None and ts.tz is None:
            ts = ts.tz_localize(index.tz)
        value: Any = ts
    else:
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name}: must be a number of seconds, got {t!r}")
        value = float(t)
        if not math.isfinite(value):
            raise ValueError(f"{name}: must be finite, got {t!r}")
    if not index[0] <= value <= index[-1]:
        raise ValueError(
            f"{name}: must lie within the series, [{index[0]}, {index[-1]}], got {t!r}"
        )
    return value


def span_steps(index: pd.Index, span: object, name: str, *, minimum: int = 1) -> int:
    """A span as a number of steps of ``index``.

    An int is a number of steps; a Timedelta (or a string it parses) is turned
    into steps with the index's median spacing (exact on a regular grid). The
    result must be at least ``minimum`` and less than the series' length.
    """
    n = len(index)
    if isinstance(span, bool):
        raise TypeError(f"{name}: must be an int number of steps or a Timedelta, got {span!r}")
    if isinstance(span, (int, np.integer)):
        steps = int(span)
    elif isinstance(span, (pd.Timedelta, str)):
        try:
            td = pd.Timedelta(span)
        except ValueError as exc:
            raise ValueError(f"{name}: not a time span: {span!r}") from exc
        if n < 2:
            raise ValueError(f"{name}: the series is too short to measure its spacing")
        seconds = td / pd.Timedelta(seconds=1)
        spacing = float(np.median(np.diff(_seconds(index))))
        steps = round(seconds / spacing)
    else:
        raise TypeError(
            f"{name}: must be an int number of steps or a Timedelta such as '5min', "
            f"got {type(span).__name__} {span!r}"
        )
    if steps < minimum:
        raise ValueError(f"{name}: must be at least {minimum} step(s), got {span!r} ({steps})")
    if steps >= n:
        raise ValueError(
            f"{name}: must be shorter than the series ({n} steps), got {span!r} ({steps} steps)"
        )
    return steps


def _seconds(index: pd.Index) -> np.ndarray:
    """The index as float seconds (from the epoch for a DatetimeIndex)."""
    if isinstance(index, pd.DatetimeIndex):
        return np.asarray(
            (index - pd.Timestamp(0, tz=index.tz)) / pd.Timedelta(seconds=1), dtype=np.float64
        )
    return np.asarray(index, dtype=np.float64)


def check_fraction(
    value: object, name: str, lo: float, hi: float, *, lo_open: bool = True, hi_open: bool = False
) -> float:
    """A float in the interval (lo, hi] (openness set by the flags)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: must be a number, got {type(value).__name__}")
    v = float(value)
    ok_lo = v > lo if lo_open else v >= lo
    ok_hi = v < hi if hi_open else v <= hi
    if not (math.isfinite(v) and ok_lo and ok_hi):
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{name}: must be in {left}{lo}, {hi}{right}, got {value!r}")
    return v


def check_int(value: object, name: str, lo: int, hi: int | None = None) -> int:
    """An int in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: must be an int, got {type(value).__name__}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name}: must be {rng}, got {value!r}")
    return v


@overload
def log_returns(prices: pd.Series, horizon: int = 1) -> pd.Series: ...
@overload
def log_returns(prices: pd.DataFrame, horizon: int = 1) -> pd.DataFrame: ...
def log_returns(prices: pd.Series | pd.DataFrame, horizon: int = 1) -> pd.Series | pd.DataFrame:
    """Non-overlapping log returns over ``horizon`` steps: ``ln(p[t] / p[t - horizon])``.

    Prices are sampled every ``horizon`` steps from the first; each return is
    labelled with the time it ends. Over a horizon longer than a step, the
    bounce of trade prices between bid and ask mostly cancels.
    """
    sampled = prices.iloc[::horizon]
    # numpy's stubs type a ufunc's result as an ndarray; on a pandas object it is that object.
    logged: pd.Series | pd.DataFrame = np.log(sampled)  # type: ignore[assignment]
    return logged.diff().iloc[1:]


def median_spacing(index: pd.Index) -> float:
    """The median time between observations, in seconds (NaN for fewer than two)."""
    if len(index) < 2:
        return math.nan
    return float(np.median(np.diff(_seconds(index))))
