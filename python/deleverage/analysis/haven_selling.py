"""A safe haven sold for cash: how far it fell while its fair value held.

In a dash for cash, leveraged portfolios hit in one market sell what they
can sell in another; a haven whose value did not change falls with the
crash. ``haven_selling`` judges one ``Result`` over two windows of whole days
(``calm`` and ``stress``, half-open ``(first, end)`` day ranges, a day being
the scenario's episode day or 86,400 s; closes are each day's last trade):

- ``risk_drawdown``: the risk instrument's lowest close in the stress window
  over its highest close before that low (from the start of the run), minus 1;
  ``risk_worst_day``: its worst close-to-close return in the window;
- ``haven_premium_before``: the haven's close on the day before the window
  over its fair value then, minus 1;
- ``haven_fall``: its lowest close in the window over that close, minus 1,
  and ``haven_low_day``, the day of that low;
- ``haven_fair_change``: its fair value at that low over the fair value the
  day before the window, minus 1 (what the news did to it);
- ``haven_premium_min``: the lowest close over fair value in the window, minus 1,
  and ``haven_premium_min_day``, the day of that deepest discount (where the
  fair value itself falls, the price's low can come later than the selling's);
- ``correlation_calm`` and ``correlation_stress``: the correlation of the two
  instruments' log returns over ``return_hours`` within each window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from deleverage.analysis._common import check_int, instrument_name, is_result

if TYPE_CHECKING:
    from deleverage.result import Result

SECONDS_PER_DAY = 86_400.0


def _window(value: object, name: str, days: int, earliest: int) -> tuple[int, int]:
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(f"{name}: must be a (first, end) pair of days, got {value!r}")
    first = check_int(value[0], f"{name}[0]", earliest, days - 1)
    end = check_int(value[1], f"{name}[1]", first + 1, days)
    return first, end


def haven_selling(
    result: Result,
    haven: str,
    *,
    calm: tuple[int, int],
    stress: tuple[int, int],
    risk: str | None = None,
    return_hours: int = 1,
) -> dict[str, float]:
    """The figures of the module's docstring for ``haven`` against ``risk``
    (default: the scenario's first instrument)."""
    if not is_result(result):
        raise TypeError(f"result: must be a Result, got {type(result).__name__}")
    haven = instrument_name(result, haven, "haven")
    risk = instrument_name(result, risk, "risk")
    if risk == haven:
        raise ValueError(f"risk: must differ from haven, both are {haven!r}")
    scenario = result.scenario
    day = scenario.episode.day if scenario.episode is not None else SECONDS_PER_DAY
    per_day = round(day / scenario.clock.dt)
    days = result.steps_done // per_day
    if days < 2:
        raise ValueError(f"result: needs at least two whole days, ran {result.steps_done} steps")
    calm_first, calm_end = _window(calm, "calm", days, 0)
    # The stress window is measured from the close of the day before it.
    first, end = _window(stress, "stress", days, 1)
    hours = check_int(return_hours, "return_hours", 1, 24 * days)
    per_return = max(round(hours * 3600 / scenario.clock.dt), 1)

    s = result.series
    last = {i: s[(i, "last")].to_numpy()[: days * per_day] for i in (risk, haven)}
    closes = {i: p[per_day - 1 :: per_day] for i, p in last.items()}
    fair = s[(haven, "fair")].to_numpy()[per_day - 1 : days * per_day : per_day]

    rc, hc = closes[risk], closes[haven]
    low = first + int(np.argmin(rc[first:end]))
    daily = rc[first:end] / rc[first - 1 : end - 1] - 1.0
    haven_low = first + int(np.argmin(hc[first:end]))
    against_fair = hc[first:end] / fair[first:end]
    deepest = first + int(np.argmin(against_fair))

    def corr(a: int, b: int) -> float:
        x = np.diff(np.log(last[risk][a * per_day : b * per_day : per_return]))
        y = np.diff(np.log(last[haven][a * per_day : b * per_day : per_return]))
        if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
            return float("nan")
        return float(np.corrcoef(x, y)[0, 1])

    return {
        "risk_drawdown": float(rc[low] / rc[: low + 1].max() - 1.0),
        "risk_worst_day": float(daily.min()),
        "haven_premium_before": float(hc[first - 1] / fair[first - 1] - 1.0),
        "haven_fall": float(hc[haven_low] / hc[first - 1] - 1.0),
        "haven_low_day": float(haven_low),
        "haven_fair_change": float(fair[haven_low] / fair[first - 1] - 1.0),
        "haven_premium_min": float(against_fair.min() - 1.0),
        "haven_premium_min_day": float(deepest),
        "correlation_calm": corr(calm_first, calm_end),
        "correlation_stress": corr(first, end),
    }
