"""A replayed crash judged the way the market reported it: day by day.

For a result whose scenario declares an ``Episode`` (the crash day, the day the
period starts, how many days to look back), ``episode_metrics`` gives the
figures a desk would quote the evening after, for the scenario's first
instrument unless told otherwise (closes are the last trade price at each
day's last step):

- ``<period>_return``: the crash day's close over the period's opening (the
  prior day's close, or the start price for day 0), minus 1;
- ``premium_before``: the close before the crash day over fair value then, minus 1;
- ``crash_day_return``, ``crash_day_low_return``: the crash day's close and
  its lowest trade over the prior close, minus 1;
- ``close_vs_<n>d_earlier``: the crash day's close over the close n days before;
- ``close_vs_fair``: the crash day's close over fair value then, minus 1;
- ``liquidated_notional`` (money) and ``long_share``: forced closes on the
  crash day (the instrument's, as ``Result.metrics``); ``liquidation_spike``:
  that notional over the largest of any earlier day (inf when none);
- ``max_spread_ratio``, ``min_depth_ratio``: the crash day's widest spread and
  thinnest depth within 1% of the mid over their medians on the n days before;
- ``<label>_crash_day_return`` for every other instrument, labelled by its
  ``asset_class`` (or its lower-cased name);
- ``leverage_after_over_peak``: the leveraged crowd's pooled leverage (the
  speculator and allocator populations', else every population but the makers') at the
  episode's end over its peak until then; ``open_interest_after_over_peak`` likewise;
- the overshoot and the recovery, on hourly averages of the gap ``last / fair
  - 1`` (a sustained discount, not one trade): ``overshoot``, the lowest hour's
  gap from the crash day's open to the episode's end (negative when forced
  selling held the price below value); ``recovery_hours``, the hours from the
  start of that hour until an hour's gap is back within half of that discount,
  followed to the end of the run (NaN when no hour averaged below value, inf
  when it had not come back by the end); ``end_vs_fair``, the last price over
  fair value at the episode's end, minus 1.

The episode's end is the close of ``Episode.end_day``, or the end of the run
when that is 0 or the run stopped before it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from deleverage.analysis._common import instrument_name, is_result
from deleverage.dates import run_start, seconds_of

if TYPE_CHECKING:
    from deleverage.result import Result
    from deleverage.scenario import Scenario

#: The strategies whose pooled leverage is the crowd's.
LEVERAGED_CROWD = ("speculator", "allocator")


def episode_metric_names(scenario: Scenario, instrument: str | None = None) -> list[str]:
    """The keys ``episode_metrics`` gives for ``scenario`` (which must declare an episode),
    in order, without running it."""
    episode = scenario.episode
    if episode is None:
        raise ValueError(f"scenario: {scenario.name!r} declares no episode")
    name = instrument or scenario.instruments[0].name
    names = [
        f"{episode.period_name}_return",
        "premium_before",
        "crash_day_return",
        "crash_day_low_return",
        f"close_vs_{episode.lookback_days}d_earlier",
        "close_vs_fair",
        "liquidated_notional",
        "long_share",
        "liquidation_spike",
        "max_spread_ratio",
        "min_depth_ratio",
    ]
    names += [
        f"{spec.asset_class or spec.name.lower()}_crash_day_return"
        for spec in scenario.instruments
        if spec.name != name
    ]
    return [
        *names,
        "leverage_after_over_peak",
        "open_interest_after_over_peak",
        "overshoot",
        "recovery_hours",
        "end_vs_fair",
    ]


def episode_metrics(result: Result, instrument: str | None = None) -> dict[str, float]:
    """The crash-day headline figures of ``result`` (see the module's docstring)."""
    if not is_result(result):
        raise TypeError(f"result: must be a Result, got {type(result).__name__}")
    scenario = result.scenario
    episode = scenario.episode
    if episode is None:
        raise ValueError(f"result: scenario {scenario.name!r} declares no episode")
    name = instrument_name(result, instrument)
    per_day = round(episode.day / scenario.clock.dt)
    crash, start, back = episode.crash_day, episode.period_start_day, episode.lookback_days
    if result.steps_done < (crash + 1) * per_day:
        raise ValueError(
            f"result: the run stopped at step {result.steps_done}, before the crash day's "
            f"close (step {(crash + 1) * per_day - 1})"
        )

    def closes(inst: str) -> np.ndarray:
        return result.series[(inst, "last")].to_numpy()[per_day - 1 :: per_day]

    s = result.series[name]
    last, fair = s["last"].to_numpy(), s["fair"].to_numpy()
    close, fair_close = closes(name), fair[per_day - 1 :: per_day]
    opening = close[start - 1] if start > 0 else scenario.instrument(name).start_price
    day = slice(crash * per_day, (crash + 1) * per_day)
    before = slice((crash - back) * per_day, crash * per_day)

    liq = result.liquidations
    daily_notional: np.ndarray = np.zeros(crash + 1)
    long_notional = notional = 0.0
    if len(liq):
        seconds = pd.Series(seconds_of(liq["time"], run_start(result)), index=liq.index)
        days = (seconds // episode.day).astype(int)
        mine = (liq["instrument"] == name) & (liq["kind"] != "adl_victim") & (days <= crash)
        daily_notional = np.bincount(
            days[mine].to_numpy(), weights=liq.loc[mine, "notional"].to_numpy(), minlength=crash + 1
        )
        # The crash day's total and its longs summed alike, so a day of longs only
        # gives a share of exactly 1 (bincount and a pairwise sum round differently).
        on_day = (mine & (days == crash)).to_numpy()
        day_notional = liq["notional"].to_numpy()[on_day]
        notional = float(np.sum(day_notional))
        long_notional = float(
            np.sum(np.where(liq["side"].to_numpy()[on_day] == "long", day_notional, 0.0))
        )
    earlier = float(daily_notional[:crash].max()) if crash > 0 else 0.0

    spread = s["spread"].to_numpy()
    depth = (s["depth_bid"] + s["depth_ask"]).to_numpy()
    metrics: dict[str, float] = {
        f"{episode.period_name}_return": float(close[crash] / opening - 1.0),
        "premium_before": float(close[crash - 1] / fair_close[crash - 1] - 1.0),
        "crash_day_return": float(close[crash] / close[crash - 1] - 1.0),
        "crash_day_low_return": float(np.min(last[day]) / close[crash - 1] - 1.0),
        f"close_vs_{back}d_earlier": float(close[crash] / close[crash - back] - 1.0),
        "close_vs_fair": float(close[crash] / fair_close[crash] - 1.0),
        "liquidated_notional": notional,
        "long_share": long_notional / notional if notional > 0 else math.nan,
        "liquidation_spike": notional / earlier if earlier > 0 else math.inf,
        "max_spread_ratio": _ratio(np.nanmax(spread[day]), np.nanmedian(spread[before])),
        "min_depth_ratio": _ratio(np.nanmin(depth[day]), np.nanmedian(depth[before])),
    }
    for spec in scenario.instruments:
        if spec.name == name:
            continue
        label = spec.asset_class or spec.name.lower()
        c = closes(spec.name)
        metrics[f"{label}_crash_day_return"] = float(c[crash] / c[crash - 1] - 1.0)
    # The aftermath ends at the close of end_day (or where the run does).
    end = len(last) if episode.end_day == 0 else min(len(last), (episode.end_day + 1) * per_day)
    crowd = [p.name for p in scenario.populations if p.strategy in LEVERAGED_CROWD] or None
    leverage = result.aggregate_leverage(crowd)
    sampled = seconds_of(leverage.index, run_start(result)) <= end * scenario.clock.dt
    pooled = leverage.to_numpy()[sampled]
    metrics["leverage_after_over_peak"] = (
        _ratio(pooled[-1], np.max(pooled)) if len(pooled) else math.nan
    )
    oi = s["open_interest"].to_numpy()[:end]
    metrics["open_interest_after_over_peak"] = _ratio(oi[-1], np.max(oi))
    metrics |= _overshoot(
        last[crash * per_day :], fair[crash * per_day :], scenario.clock.dt, end - crash * per_day
    )
    return metrics


def _overshoot(last: np.ndarray, fair: np.ndarray, dt: float, search: int) -> dict[str, float]:
    """The deepest hourly discount to fair value of ``last`` in its first ``search`` steps,
    and how long half of it took to go (looked for to the end of ``last``)."""
    gap = last / fair - 1.0
    per_hour = max(1, round(3600.0 / dt))
    hours = len(gap) // per_hour
    hourly = gap[: hours * per_hour].reshape(hours, per_hour).mean(axis=1) if hours else gap[:1]
    # The hours that start inside the aftermath (at least one, as without an end day).
    searched = max(1, min(len(hourly), -(-search // per_hour)))
    low = int(np.argmin(hourly[:searched]))
    recovery = math.nan
    if hourly[low] < 0.0:
        back = np.flatnonzero(hourly[low:] >= 0.5 * hourly[low])
        recovery = back[0] * per_hour * dt / 3600.0 if len(back) else math.inf
    return {
        "overshoot": float(hourly[low]),
        "recovery_hours": recovery,
        "end_vs_fair": float(gap[search - 1]),
    }


def _ratio(a: float, b: float) -> float:
    """a / b, NaN when b is not a positive number."""
    return float(a / b) if b > 0 else math.nan
