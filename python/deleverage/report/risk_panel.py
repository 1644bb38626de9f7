"""The venue's panel: the insurance fund, auto-deleveraging and bad debt over the run.

The funds' cash (the venue's and any instrument's own, together: they take
over what the book could not fill, collect the liquidation fees and pay for
takeovers below the bankruptcy price) and their equity (the cash and the
positions they took over, at the marks: where a fund runs dry), the bad
debt absorbed so far over every instrument, both in money on the left axis,
and the notional auto-deleveraged per period as bars on the right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from deleverage.report.downsample import bin_sums, minmax_downsample
from deleverage.risk import venue_fund

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from deleverage.report.time_units import TimeUnit
    from deleverage.result import Result

__all__ = ["ADL_BINS", "draw_risk_panel"]

ADL_BINS = 120
FUND_COLOR = "#1e8449"
DEBT_COLOR = "#922b21"
ADL_COLOR = "#b9770e"


def _signed(x: float) -> str:
    from deleverage.report.dashboard import _si

    return ("-" if x < 0 else "") + _si(x)


def draw_risk_panel(ax: Axes, result: Result, unit: TimeUnit, end: float) -> None:
    from matplotlib.ticker import FuncFormatter

    from deleverage.report.dashboard import _si

    names = [inst.name for inst in result.scenario.instruments]
    first = result.series[names[0]]
    # The cash hides a fund running dry (a takeover at the bankruptcy price leaves
    # it as it was); the equity, with what the fund took over, shows it.
    lines = (
        ("insurance_fund", "-", 1.4, "insurance fund"),
        ("fund_equity", "--", 1.0, "its equity (with what it took over)"),
    )
    fund_start = result.scenario.insurance_fund
    for column, style, width, label in lines:
        if not all(column in result.series[n] for n in names):
            continue  # a result saved before the engine recorded it
        start, money = venue_fund(
            result.scenario, [result.series[n][column].to_numpy() for n in names]
        )
        fund_start = start
        line = minmax_downsample(pd.Series(money, index=first.index))
        ax.plot(
            line.index.to_numpy() / unit.seconds,
            line.to_numpy(),
            color=FUND_COLOR,
            linestyle=style,
            linewidth=width,
            label=label,
        )
    ax.axhline(
        fund_start,
        color=FUND_COLOR,
        linestyle=":",
        linewidth=0.9,
        label="fund at the start",
    )
    columns = [result.series[n]["bad_debt"] for n in names if "bad_debt" in result.series[n]]
    if columns:
        debt = minmax_downsample(sum(columns[1:], columns[0]))
        ax.plot(
            debt.index.to_numpy() / unit.seconds,
            debt.to_numpy(),
            color=DEBT_COLOR,
            linewidth=1.4,
            label="bad debt so far",
        )
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: _signed(x)))
    ax.set_ylabel("money (fund, bad debt)")
    adl_ax = ax.twinx()
    bins = max(1, min(ADL_BINS, len(first)))
    edges = np.linspace(0.0, end, bins + 1)
    adl = np.zeros(bins)
    for n in names:
        s = result.series[n]
        if "adl_notional" in s:
            adl += bin_sums(s["adl_notional"], edges)
    adl_ax.bar(
        edges[:-1] / unit.seconds,
        adl,
        width=np.diff(edges) / unit.seconds,
        align="edge",
        color=ADL_COLOR,
        alpha=0.6,
        label="ADL notional",
    )
    adl_ax.yaxis.set_major_formatter(FuncFormatter(_si))
    adl_ax.set_ylabel("ADL notional per period (bars)")
    if not adl.any():
        adl_ax.set_yticks([])
    r = result.risk()
    ax.set_title(
        f"insurance fund, ADL, bad debt (low {_signed(r.fund_low)}; "
        f"ADL {r.adl_events:,}, {r.adl_accounts:,} accounts; bad debt {_signed(r.bad_debt)})",
        fontsize=10,
    )
    handles, labels = ax.get_legend_handles_labels()
    more, more_labels = adl_ax.get_legend_handles_labels()
    ax.legend(handles + more, labels + more_labels, loc="best", fontsize=8)
