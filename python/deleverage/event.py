"""Which event a run's crash figures describe.

A scenario may schedule many shocks (a small step at 01:00, the headline at
21:00); measuring the crash from the first of them reports a move that is not
the crash. The event is, in this order:

- ``at``: a time given by the user (seconds from the start of the run);
- ``episode``: the crash day the scenario declares (``[episode]``), from the
  start of that day;
- ``drawdown``: the window of the largest drawdown found in the run, over every
  instrument: from the step after its peak to its trough;
- ``middle``: a run without any fall is measured from its middle.

``crash_event`` works on plain arrays, so ``Result.metrics`` and a sweep's
``simulation_metrics`` (straight from the engine's records) find the same event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deleverage.dates import time_seconds

if TYPE_CHECKING:
    from deleverage.scenario import Scenario

__all__ = [
    "EVENT_SOURCES",
    "CrashEvent",
    "crash_event",
    "event_seconds",
    "largest_drawdown_window",
]

#: Where an event comes from, in the order they are looked for.
EVENT_SOURCES = ("at", "episode", "drawdown", "middle")


@dataclass(frozen=True)
class CrashEvent:
    """The event a run's figures are measured around.

    step: the first step of the event (the figures' "before" is the steps before
        it). end_step: the last step of its window (the trough of a drawdown;
        the run's last step otherwise). source: one of ``EVENT_SOURCES``.
    instrument: the instrument whose drawdown set the window (None otherwise).
    dt: seconds per step.
    """

    step: int
    end_step: int
    source: str
    instrument: str | None
    dt: float

    @property
    def time(self) -> float:
        """The event's start, seconds from the start of the run."""
        return float(self.step * self.dt)

    @property
    def end_time(self) -> float:
        """The end of its window, seconds from the start of the run."""
        return float(self.end_step * self.dt)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "time": self.time,
            "end_time": self.end_time,
            "instrument": self.instrument,
        }


def largest_drawdown_window(last: np.ndarray) -> tuple[int, int, float]:
    """(peak step, trough step, depth) of the largest fall from a running peak of
    ``last`` (the peak's last step before the trough); depth 0 when it never falls."""
    x = np.asarray(last, dtype=np.float64)
    if x.size == 0:
        return 0, 0, 0.0
    finite = np.where(np.isfinite(x), x, -np.inf)
    peak = np.maximum.accumulate(finite)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - x / peak, 0.0)
    dd = np.where(np.isfinite(dd), dd, 0.0)
    trough = int(np.argmax(dd))
    depth = float(dd[trough])
    if depth <= 0.0:
        return 0, 0, 0.0
    before = finite[: trough + 1]
    top = int(trough - np.argmax(before[::-1] == peak[trough]))
    return top, trough, depth


def event_seconds(at: object) -> float:
    """``at`` as seconds from the start of the run: a number of seconds, or a duration
    (``"21h"``, ``"1 days 21:00:00"``, ``"75600s"``, a ``Timedelta``)."""
    return time_seconds(at, None, "at")


def _at_step(at: object, dt: float, steps: int) -> int:
    t = event_seconds(at)
    if not math.isfinite(t):
        raise ValueError(f"at: must be finite, got {at!r}")
    end = dt * steps
    if not 0.0 < t < end:
        raise ValueError(f"at: must be in (0, {end:g}) seconds (inside the run), got {t:g}")
    return min(max(1, round(t / dt)), steps - 1)


def crash_event(
    scenario: Scenario,
    last: Mapping[str, np.ndarray],
    *,
    at: float | str | None = None,
) -> CrashEvent:
    """The event of a run of ``scenario`` whose last prices per instrument are ``last``
    (each array one value per step done).

    at: seconds from the start of the run, strictly inside it; overrides the rest.
    """
    dt = scenario.clock.dt
    steps = max((len(v) for v in last.values()), default=0)
    end = max(steps - 1, 0)
    if at is not None:
        if steps < 2:
            raise ValueError(f"at: the run has {steps} step(s); an event needs at least 2")
        return CrashEvent(_at_step(at, dt, steps), end, "at", None, dt)
    episode = scenario.episode
    if episode is not None:
        start = round(episode.crash_day * episode.day / dt)
        if 0 < start < steps:
            stop = min(round((episode.crash_day + 1) * episode.day / dt) - 1, end)
            return CrashEvent(start, stop, "episode", None, dt)
    best: tuple[float, int, int, str] | None = None
    for name, prices in last.items():
        top, trough, depth = largest_drawdown_window(prices)
        if depth > 0.0 and (best is None or depth > best[0]):
            best = (depth, top, trough, name)
    if best is not None:
        _, top, trough, name = best
        return CrashEvent(min(top + 1, end), trough, "drawdown", name, dt)
    return CrashEvent(max(steps // 2, 1) if steps > 1 else 0, end, "middle", None, dt)
