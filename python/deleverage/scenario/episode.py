"""The episode a scenario replays: which day is the crash, for its headline figures.

A replay of a historical crash is judged day by day, as the market reported it:
the crash day's fall from the prior close and its intraday low, the close
against the level some days earlier, the period's gain into it. ``Episode``
names those days; ``deleverage.analysis.episode_metrics`` computes the figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deleverage.scenario.distributions import check_float, check_int, check_str, set_field

_KEY = re.compile(r"[a-z][a-z0-9_]*")
#: The longest day a scenario may declare (seconds): a week.
MAX_DAY = 7 * 86400.0


@dataclass(frozen=True)
class Episode:
    """Days of ``day`` seconds counted from the start of the run (day 0).

    ``crash_day`` (>= 1): the day of the crash. ``period_start_day`` (in
    [0, crash_day)): the day the period's return is measured from (from the
    prior day's close, or the start price for day 0), reported as
    ``<period_name>_return`` (``period_name``: lower-case letters, digits and
    underscores, starting with a letter). ``lookback_days`` (in [1,
    crash_day]): the close is compared with the close that many days before
    (``close_vs_<n>d_earlier``), and the spread and depth with their medians
    over those days before the crash day. ``end_day`` (0, or in [crash_day,
    the run's whole days)): the day whose close ends the episode's aftermath,
    where the crowd's leverage and open interest after the flush are read and
    up to which the overshoot is looked for; the recovery from it is followed
    to the end of the run, so a run that goes on past ``end_day`` can show a
    recovery slower than the aftermath. 0: the run's last day. ``day``
    (seconds, in (0, one week], a whole number of clock steps; checked by the
    scenario).
    """

    crash_day: int
    period_start_day: int = 0
    period_name: str = "period"
    lookback_days: int = 10
    end_day: int = 0
    day: float = 86400.0

    def __post_init__(self) -> None:
        crash = check_int("crash_day", self.crash_day, 1, 10**8)
        set_field(self, "crash_day", crash)
        set_field(
            self,
            "period_start_day",
            check_int("period_start_day", self.period_start_day, 0, crash - 1),
        )
        name = check_str("period_name", self.period_name)
        if not _KEY.fullmatch(name):
            raise ValueError(
                "period_name: must be lower-case letters, digits and underscores starting with "
                f"a letter, got {name!r}"
            )
        set_field(self, "lookback_days", check_int("lookback_days", self.lookback_days, 1, crash))
        end = check_int("end_day", self.end_day, 0, 10**8)
        if 0 < end < crash:
            raise ValueError(
                f"end_day: must be 0 (the run's last day) or in [crash_day ({crash}), "
                f"{10**8}], got {end}"
            )
        set_field(self, "end_day", end)
        set_field(self, "day", check_float("day", self.day, 0.0, MAX_DAY, lo_open=True))
