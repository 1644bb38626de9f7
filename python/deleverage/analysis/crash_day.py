"""The headline figures of a crash episode, as the press and the venues report them.

One instrument of a ``Result`` around a reference time ``at`` (the shock;
the scenario's first by default) to the end of the run, which the episode
presets place at the crash day's close:

- the price: the fall from the last price before ``at`` to the low after it
  and the return to the close (the last price of the run), with the fair
  value's return over the same span;
- liquidations after ``at``: notional (money) and the share of it on longs,
  accounts liquidated;
- open interest (lots) at the close over its value just before ``at``;
- depth within 1% of the mid (lots): its minimum after ``at`` and its median
  over the last ``tail`` of the run, each over the median before ``at``;
- the insurance fund before ``at``, its low after and at the close, the
  notional it took over; ADL
  events (liquidations the fund could not take, closed against opposite
  positions) and the opposite positions they closed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from deleverage.analysis._common import (
    Span,
    Time,
    as_time,
    first_shock_time,
    instrument_name,
    instrument_names,
    is_result,
    plain_time,
    result_time,
    span_steps,
)
from deleverage.analysis.drawdown import crash_depth
from deleverage.analysis.liquidity import liquidity_collapse
from deleverage.analysis.positions import open_interest_change

if TYPE_CHECKING:
    from deleverage.result import Result


@dataclass(frozen=True)
class CrashFigures:
    """One instrument's headline figures around ``at`` (fractions unless stated).

    before: the last trade price strictly before ``at``; low, low_time: the
    lowest trade price at or after it; low_fall: ``1 - low / before``.
    close: the last trade price of the run; close_return: ``close / before - 1``;
    fair_return: the fair value's return over the same span.
    liquidated_notional (money), long_share (of it, on long positions; NaN if
    nothing was liquidated), liquidated_accounts: after ``at``.
    open_interest_before, open_interest_after (lots), open_interest_ratio.
    depth_base (lots, median before ``at``), depth_worst_ratio (minimum after
    ``at`` over the base), depth_end_ratio (median over the run's last
    ``tail`` over the base).
    fund_before, fund_low, fund_end (money): the cash of the insurance fund
    that serves the instrument (the venue's, or its own);
    fund_equity_low (money): that fund's equity at its lowest after ``at``
    (its cash and the positions it took over, at the marks; under zero it
    ran dry, which is when a fund that counts its equity leaves takeovers to
    auto-deleveraging; NaN for a result saved before it was recorded);
    takeover_notional (money): positions the fund took over at the
    bankruptcy price after ``at`` (what the book did not take).
    adl_events: liquidations closed by auto-deleveraging; adl_victims: the
    opposite positions those closed.
    """

    instrument: str
    at: Any
    before: float
    low: float
    low_time: Any
    low_fall: float
    close: float
    close_return: float
    fair_return: float
    liquidated_notional: float
    long_share: float
    liquidated_accounts: int
    open_interest_before: float
    open_interest_after: float
    open_interest_ratio: float
    depth_base: float
    depth_worst_ratio: float
    depth_end_ratio: float
    fund_before: float
    fund_low: float
    fund_end: float
    fund_equity_low: float
    takeover_notional: float
    adl_events: int
    adl_victims: int

    def as_dict(self) -> dict[str, Any]:
        """The figures as a plain dict (a table row)."""
        return asdict(self)


def crash_figures(
    result: Result,
    *,
    instrument: str | None = None,
    at: Time | None = None,
    tail: Span = "10min",
) -> CrashFigures:
    """The headline figures of ``instrument`` (default: the first) from ``at``
    (seconds, or for a dated run a date-time; default: the run's event,
    ``Result.event()``) to the end of the run. ``at`` and ``low_time`` are given
    back as index labels: seconds, or UTC Timestamps for a dated run.

    tail: the span at the end of the run over which the closing depth is a
    median (an int number of steps or a Timedelta such as ``"10min"``).
    """
    if not is_result(result):
        raise TypeError(f"result: must be a Result, got {type(result).__name__}")
    name = instrument_name(result, instrument)
    s = result.series[name]
    when = first_shock_time(result) if at is None else result_time(result, at, "at")
    t = plain_time(as_time(s.index, when, "at"))
    n_tail = span_steps(s.index, tail, "tail")
    cd = crash_depth(result, t, instrument=name)
    after = s.index >= t
    last, fair = s["last"].to_numpy(), s["fair"].to_numpy()
    b = int(np.flatnonzero(~after)[-1])

    long_notional = float(s["liquidated_long_notional"].to_numpy()[after].sum())
    short_notional = float(s["liquidated_short_notional"].to_numpy()[after].sum())
    notional = long_notional + short_notional
    accounts = s["liquidated_long"].to_numpy()[after] + s["liquidated_short"].to_numpy()[after]

    oi = open_interest_change(result, t, instrument=name)
    depth = (s["depth_bid"] + s["depth_ask"]).to_numpy()
    lc = liquidity_collapse(result, None, t, instrument=name)
    end_depth = float(np.median(depth[-n_tail:]))

    fund = s["insurance_fund"].to_numpy()
    # NaN for a result saved before the engine recorded the fund's equity.
    equity = s["fund_equity"].to_numpy() if "fund_equity" in s else np.full(len(fund), math.nan)
    liq = result.liquidations
    victims, takeover = 0, 0.0
    if len(liq):
        mine = (liq["instrument"] == name) & (liq["time"] >= t)
        victims = int((mine & (liq["kind"] == "adl_victim")).sum())
        takeover = float(liq.loc[mine & (liq["kind"] == "takeover"), "notional"].sum())
    return CrashFigures(
        instrument=name,
        at=t,
        before=cd.before_price,
        low=cd.trough_price,
        low_time=plain_time(cd.trough_time),
        low_fall=cd.fall,
        close=float(last[-1]),
        close_return=float(last[-1] / last[b] - 1.0),
        fair_return=float(fair[-1] / fair[b] - 1.0),
        liquidated_notional=notional,
        long_share=long_notional / notional if notional > 0 else math.nan,
        liquidated_accounts=int(accounts.sum()),
        open_interest_before=oi.before,
        open_interest_after=oi.after,
        open_interest_ratio=oi.after / oi.before if oi.before > 0 else math.nan,
        depth_base=lc.depth_base,
        depth_worst_ratio=lc.depth_ratio,
        depth_end_ratio=end_depth / lc.depth_base if lc.depth_base > 0 else math.nan,
        fund_before=float(fund[b]),
        fund_low=float(fund[after].min()),
        fund_end=float(fund[-1]),
        fund_equity_low=float(equity[after].min()),
        takeover_notional=takeover,
        adl_events=int(s["adl"].to_numpy()[after].sum()),
        adl_victims=victims,
    )


def crash_table(result: Result, *, at: Time | None = None, tail: Span = "10min") -> pd.DataFrame:
    """``crash_figures`` of every instrument of ``result``, one row each."""
    if not is_result(result):
        raise TypeError(f"result: must be a Result, got {type(result).__name__}")
    rows = [
        crash_figures(result, instrument=n, at=at, tail=tail).as_dict()
        for n in instrument_names(result)
    ]
    return pd.DataFrame(rows).set_index("instrument")
