"""A recorded (or imagined) price path: a table of times and prices laid onto the clock.

The table (CSV or Parquet) has a ``time`` column and a ``price`` column (price
units, > 0). Times are seconds from the start of the run (numbers), or UTC
date-times (a dated run: they are measured from ``clock.start``; date-times
without a zone are taken as UTC). Times strictly increase, the first at or
before the start and the last at or after the clock's last step; the price at
each step ``t`` (time ``t * dt``) is the linear interpolation between the rows
around it, so a row at a step's time gives that step's price exactly.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from deleverage import _core
from deleverage.data.tables import DataFileError, PathLike, column, first_row, numbers, read_table

if TYPE_CHECKING:
    from deleverage.scenario import Scenario

__all__ = ["attach_paths", "path_on_clock", "price_path", "read_path"]


def _seconds(table: pa.Table, where: str, start: datetime.datetime | None) -> np.ndarray:
    col = column(table, "time", where)
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return numbers(table, "time", where)
    if col.null_count:
        row = first_row(np.asarray(col.is_null().to_numpy(zero_copy_only=False)))
        raise DataFileError(f"{where}: column 'time', row {row}: missing value")
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        times = pd.DatetimeIndex(col.to_pandas())
    elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = col.to_pandas()
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        bad = np.asarray(parsed.isna())
        if bad.any():
            row = first_row(bad)
            raise DataFileError(
                f"{where}: column 'time', row {row}: {text.iloc[row - 1]!r} is neither seconds "
                "nor a UTC date-time such as 2026-01-30T01:00:00Z"
            )
        times = pd.DatetimeIndex(parsed)
    else:
        raise DataFileError(
            f"{where}: column 'time' must hold seconds or UTC date-times, got {col.type}"
        )
    if start is None:
        raise DataFileError(
            f"{where}: column 'time' holds date-times, but the run is undated (no clock.start): "
            "give seconds from the start, or set clock.start"
        )
    if times.tz is None:
        times = times.tz_localize("UTC")
    origin = pd.Timestamp(start).tz_convert("UTC")
    return np.asarray((times - origin) / pd.Timedelta(seconds=1), dtype=np.float64)


def read_path(
    path: PathLike, *, start: datetime.datetime | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a path table, checked: (seconds from the start, prices)."""
    where = f"{str(path)!r}"
    table = read_table(path, "path")
    seconds = _seconds(table, where, start)
    prices = numbers(table, "price", where, missing_ok=True)
    if len(prices) == 0:
        raise DataFileError(f"{where}: the table has no rows")
    bad = ~np.isfinite(seconds)
    if bad.any():
        raise DataFileError(f"{where}: column 'time', row {first_row(bad)}: not a finite time")
    bad = np.isnan(prices)
    if bad.any():
        raise DataFileError(f"{where}: column 'price', row {first_row(bad)}: missing price")
    bad = ~((prices > 0) & (prices <= 1e15))
    if bad.any():
        row = first_row(bad)
        raise DataFileError(
            f"{where}: column 'price', row {row}: must be a price in (0, 1e15], "
            f"got {prices[row - 1]}"
        )
    steps = np.diff(seconds)
    bad = steps <= 0
    if bad.any():
        row = first_row(bad) + 1
        problem = "repeats" if steps[row - 2] == 0 else "comes before"
        raise DataFileError(
            f"{where}: column 'time', row {row}: {seconds[row - 1]:g} s {problem} the row before "
            f"({seconds[row - 2]:g} s); times must strictly increase"
        )
    return seconds, prices


def path_on_clock(
    path: PathLike, *, dt: float, steps: int, start: datetime.datetime | None = None
) -> np.ndarray:
    """The path's price at every step of the clock (float64, one per step)."""
    seconds, prices = read_path(path, start=start)
    last = (steps - 1) * dt
    if seconds[0] > 0.0 or seconds[-1] < last:
        raise DataFileError(
            f"{str(path)!r}: the path covers {seconds[0]:g} s to {seconds[-1]:g} s from the "
            f"start; the clock needs 0 s to {last:g} s (step {steps - 1}): the path is shorter "
            "than the clock"
        )
    clock = np.arange(steps, dtype=np.float64) * dt
    return np.ascontiguousarray(np.interp(clock, seconds, prices), dtype=np.float64)


def price_path(values: np.ndarray) -> _core.PricePath:
    """The engine's view of a path on the clock (no copy: it points into ``values``)."""
    return _core.PricePath(values)


def attach_paths(sim: _core.Simulation, scenario: Scenario) -> dict[str, np.ndarray]:
    """Lay each instrument's ``fundamental.path`` / ``index_path`` onto the clock and
    hand them to ``sim`` (before its run); returns the arrays by file name. A file
    named twice is read once."""
    clock = scenario.clock
    read: dict[str, np.ndarray] = {}

    def on_clock(name: str) -> _core.PricePath:
        if name not in read:
            read[name] = path_on_clock(name, dt=clock.dt, steps=clock.steps, start=clock.start)
        return _core.PricePath(read[name])

    for i, inst in enumerate(scenario.instruments):
        f = inst.fundamental
        if f.path is None and f.index_path is None:
            continue
        sim.follow_paths(
            i,
            fair=None if f.path is None else on_clock(f.path),
            index=None if f.index_path is None else on_clock(f.index_path),
        )
    return read
