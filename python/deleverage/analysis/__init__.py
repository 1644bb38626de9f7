"""Analysis of simulation results: how deep, how fast, how much is leverage.

Pure Python functions over pandas Series/DataFrames or a ``Result``; one
concept per module:

- ``drawdown``: maximum drawdown, its timing and speed, the worst move within
  a window, the crash depth around a shock and its excess over the news;
- ``amplification``: drawdown with the cascade over without (paired seeds,
  with a bootstrap interval), price move over fair-value move;
- ``liquidity``: spread and depth collapse and recovery time;
- ``history``: a move in daily volatilities and the earlier level it went back to;
- ``positions``: leverage and open interest before and after;
- ``correlation``: rolling and event-window correlation between instruments;
- ``episode``: the headline figures of a crash as the press reports them;
- ``haven_selling``: a safe haven sold for cash in another market's crash;
- ``attribution``: signed flow, Kyle's lambda, the share of a move due to forced selling;
- ``stylized``: fat tails, return and volatility autocorrelation;
- ``market_facts``: every stylized fact of a market in a window, at several
  horizons, beside its fair value's (what ``deleverage validate`` checks).

``summary(result)`` gathers the headline figures, one row per instrument.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from deleverage.analysis.amplification import (
    AmplificationSummary,
    amplification,
    bootstrap_mean,
    paired_amplification,
    shock_amplification,
)
from deleverage.analysis.attribution import (
    PriceImpact,
    forced_selling_attribution,
    price_impact,
    signed_flow,
)
from deleverage.analysis.correlation import (
    EventCorrelation,
    correlation_matrix,
    event_correlation,
    price_frame,
    rolling_correlation,
)
from deleverage.analysis.crash_day import CrashFigures, crash_figures, crash_table
from deleverage.analysis.drawdown import (
    CrashDepth,
    Drawdown,
    WorstMove,
    crash_depth,
    drawdown_series,
    max_drawdown,
    worst_move,
)
from deleverage.analysis.episode import episode_metrics
from deleverage.analysis.haven_selling import haven_selling
from deleverage.analysis.history import (
    HistoricMove,
    daily_volatility,
    how_historic,
    move_in_sigmas,
    returned_to,
)
from deleverage.analysis.liquidity import (
    LiquidityCollapse,
    Recovery,
    liquidity_collapse,
    liquidity_recovery,
)
from deleverage.analysis.market_facts import market_facts
from deleverage.analysis.positions import (
    BeforeAfter,
    before_after,
    leverage_change,
    open_interest_change,
)
from deleverage.analysis.stylized import (
    autocorrelation,
    excess_kurtosis,
    hill_tail_index,
    returns,
    stylized_facts,
)

if TYPE_CHECKING:
    from deleverage.result import Result

#: The simulation's year: 365 days of continuous trading (``fundamental.YEAR``).
SIM_DAYS_PER_YEAR = 365


def summary(
    result: Result,
    *,
    at: float | str | pd.Timestamp | None = None,
    tolerance: float = 0.25,
    hold: int = 60,
    window: int = 300,
    horizon: int = 10,
) -> pd.DataFrame:
    """The headline analysis figures of a run, one row per instrument.

    at: the reference time in seconds, or for a dated run a date-time (default: the
    run's event, ``Result.event()``). Times are index labels: seconds, or UTC
    Timestamps for a dated run (NaN, or NaT, where there is none).
    tolerance, hold: of the liquidity recovery (fraction, steps). window: of
    the worst move (steps). horizon: of the returns behind the stylized facts
    (steps). Columns (fractions unless stated):

    - max_drawdown, drawdown_peak_time, drawdown_trough_time (s),
      drawdown_speed (fraction per hour), worst_move (deepest fall within
      ``window`` steps);
    - crash_fall (from just before ``at`` to the low after), fair_fall (fair
      value over the same interval), excess_fall (``crash_fall - fair_fall``),
      shock_amplification (``crash_fall / fair_fall``), crash_trough_time (s);
    - spread_ratio, depth_ratio (peak spread and trough depth over their
      medians before ``at``), one_sided_seconds (an empty side of the book),
      recovery_seconds (after ``at``; NaN if liquidity never came back);
    - sigmas (the crash in daily volatilities of the fair value's own
      volatility, a simulated year being 365 days), returned_to (s; the last
      time before the shock the price was as low, NaN if never);
    - open_interest_after_over_peak (at the end over the peak before ``at``);
    - forced_share, forced_return, lam (attribution over the crash, only with
      a trade log; NaN otherwise);
    - excess_kurtosis, hill (of ``horizon``-step returns; NaN if too few).
    """
    from deleverage.analysis._common import (
        first_shock_time,
        instrument_names,
        is_result,
        plain_time,
        result_time,
    )

    if not is_result(result):
        raise TypeError(f"result: must be a Result, got {type(result).__name__}")
    t = first_shock_time(result) if at is None else result_time(result, at, "at")
    vols = {inst.name: inst.fundamental.volatility for inst in result.scenario.instruments}
    rows: dict[str, dict[str, Any]] = {}
    for name in instrument_names(result):
        dd = max_drawdown(result, instrument=name)
        wm = worst_move(result, window, instrument=name)
        cd = crash_depth(result, t, instrument=name)
        lc = liquidity_collapse(result, None, t, instrument=name)
        rec = liquidity_recovery(result, None, t, tolerance=tolerance, hold=hold, instrument=name)
        vol = vols.get(name, 0.0)
        sigmas = math.nan
        never: Any = math.nan if result.scenario.clock.start is None else pd.NaT
        back = never
        if vol > 0 and cd.trough_time > cd.before_time:
            hm = how_historic(
                result,
                cd.before_time,
                cd.trough_time,
                annual_vol=vol,
                periods=SIM_DAYS_PER_YEAR,
                instrument=name,
            )
            sigmas = hm.sigmas
            back = never if hm.returned_to is None else plain_time(hm.returned_to)
        oi = open_interest_change(result, t, instrument=name)
        forced: dict[str, float] = {"forced_share": math.nan, "forced_return": math.nan}
        forced["lam"] = math.nan
        if result.trades is not None and cd.trough_time > cd.before_time:
            att = forced_selling_attribution(result, start=cd.before_time, end=cd.trough_time)
            forced = {k: float(att[k][name]) for k in ("forced_share", "forced_return", "lam")}
        facts = stylized_facts(result.series[(name, "last")], horizon=horizon, lags=5)
        assert isinstance(facts, dict)
        rows[name] = {
            "max_drawdown": dd.depth,
            "drawdown_peak_time": dd.peak_time,
            "drawdown_trough_time": dd.trough_time,
            "drawdown_speed": dd.speed,
            "worst_move": wm.fall,
            "crash_fall": cd.fall,
            "fair_fall": cd.fair_fall,
            "excess_fall": cd.excess,
            "shock_amplification": cd.fall / cd.fair_fall if cd.fair_fall > 0 else math.nan,
            "crash_trough_time": cd.trough_time,
            "spread_ratio": lc.spread_ratio,
            "depth_ratio": lc.depth_ratio,
            "one_sided_seconds": lc.one_sided_seconds,
            "recovery_seconds": rec.seconds_after_shock,
            "sigmas": sigmas,
            "returned_to": back,
            "open_interest_after_over_peak": oi.after_over_peak,
            **forced,
            "excess_kurtosis": facts["excess_kurtosis"],
            "hill": facts["hill"],
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "instrument"
    return out


__all__ = [
    "SIM_DAYS_PER_YEAR",
    "AmplificationSummary",
    "BeforeAfter",
    "CrashDepth",
    "CrashFigures",
    "Drawdown",
    "EventCorrelation",
    "HistoricMove",
    "LiquidityCollapse",
    "PriceImpact",
    "Recovery",
    "WorstMove",
    "amplification",
    "autocorrelation",
    "before_after",
    "bootstrap_mean",
    "correlation_matrix",
    "crash_depth",
    "crash_figures",
    "crash_table",
    "daily_volatility",
    "drawdown_series",
    "episode_metrics",
    "event_correlation",
    "excess_kurtosis",
    "forced_selling_attribution",
    "haven_selling",
    "hill_tail_index",
    "how_historic",
    "leverage_change",
    "liquidity_collapse",
    "liquidity_recovery",
    "market_facts",
    "max_drawdown",
    "move_in_sigmas",
    "open_interest_change",
    "paired_amplification",
    "price_frame",
    "price_impact",
    "returned_to",
    "returns",
    "rolling_correlation",
    "shock_amplification",
    "signed_flow",
    "stylized_facts",
    "summary",
    "worst_move",
]
