"""Date-times on the time axes of a dated run's figures.

The panels are drawn in units of time from the start of the run (minutes,
hours or days: ``time_units``); for a dated run (``clock.start``) each tick is
then labelled with its UTC date-time: ``Jan 30`` on an axis in days,
``Jan 30 01:00`` in hours, ``01:00`` in minutes (the date is in the axis'
label).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from deleverage.report.time_units import DAYS, HOURS, TimeUnit

__all__ = ["date_formatter", "date_label", "date_locator", "tick_text"]


def tick_text(x: float, start: pd.Timestamp, unit: TimeUnit) -> str:
    """The label of the tick ``x`` units after ``start``."""
    ts = start + pd.Timedelta(seconds=float(x) * unit.seconds)
    if unit == DAYS:
        return str(ts.strftime("%b %d" if ts.hour == ts.minute == 0 else "%b %d %H:%M"))
    if unit == HOURS:
        return str(ts.strftime("%b %d\n%H:%M"))
    return str(ts.strftime("%H:%M"))


def date_formatter(start: pd.Timestamp, unit: TimeUnit) -> FuncFormatter:
    """A matplotlib tick formatter writing ``tick_text``."""
    return FuncFormatter(lambda x, _pos: tick_text(x, start, unit))


def date_locator(unit: TimeUnit) -> MaxNLocator:
    """Ticks at round steps of the unit: 1, 2, 3, 6 or 12 hours; 1, 2, 5, 7 or 10 days."""
    steps = [1, 2, 3, 6, 10] if unit == HOURS else [1, 2, 5, 7, 10]
    return MaxNLocator(nbins=7, steps=steps, integer=True)


def date_label(start: pd.Timestamp, unit: TimeUnit) -> str:
    """The axis' label: the time zone, and the start's year (or its day, on an axis
    of minutes)."""
    if unit in (DAYS, HOURS):
        return f"date, UTC ({start:%Y})"
    return f"time of day, UTC (from {start:%Y-%m-%d %H:%M})"
