"""The unit of a figure's time axis, chosen by the run's length.

Runs last from minutes to weeks: "3600 s" or "0.04 days" are both harder to
read than "60 min". The unit is the largest in which the run spans at least
three of them, so an axis has a few round ticks: minutes up to three hours,
hours up to three days, days beyond.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TimeUnit:
    """Seconds per unit and its name on an axis."""

    seconds: float
    name: str

    def label(self) -> str:
        return f"time ({self.name})"


MINUTES = TimeUnit(60.0, "minutes")
HOURS = TimeUnit(3600.0, "hours")
DAYS = TimeUnit(86400.0, "days")


def time_unit(duration_seconds: float) -> TimeUnit:
    """The axis unit for a run of ``duration_seconds``."""
    if duration_seconds < 0:
        raise ValueError(f"duration_seconds: must be >= 0, got {duration_seconds}")
    if duration_seconds > 3 * DAYS.seconds:
        return DAYS
    if duration_seconds > 3 * HOURS.seconds:
        return HOURS
    return MINUTES
