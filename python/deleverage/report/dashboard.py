"""The dashboard: one PNG with the panels a person looks at first after a run.

Eight panels on a 4 x 2 grid, each answering one question:

1. price against fair value (the main instrument): how far did the market
   move past the news?
2. liquidations by side: long and short notional closed per time bin; when
   and how hard did the cascade hit?
3. spread and depth (two axes), per period the median and the 10-90% band
   on long runs (``liquidity_bands``): when did liquidity leave and come back?
4. aggregate leverage per population, with open interest (two axes): who
   was leveraged, and how much of the market was closed out? (a colour per
   population, distinct for 20: ``palette``)
5. the margin rate over time (``margin_timeline``): what the exchange asked
   for, and when (scheduled notices and volatility triggers marked); under a
   tiered rule, the effective rate at a few position sizes (``margin_sizes``);
6. the insurance fund, auto-deleveraging and bad debt (``risk_panel``);
7. the other instruments, prices normalised to 1 at the start; with one
   instrument, the headline figures in text instead;
8. the headline figures and the venue's answers in text.

The window the crash figures describe (``Result.event()``) is shaded on the
price panel. A dated run (``clock.start``) is drawn in seconds from its start
like any run, its time axes labelled with UTC dates (``date_axis``).

Drawn with matplotlib's Agg renderer on a ``Figure`` of its own (no pyplot, no
screen, no global state), so reports can be built in threads and on servers.
Lines are thinned with ``minmax_downsample``: a 43,200-step run draws as fast
as a 3,600-step one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from deleverage.report.downsample import bin_sums, minmax_downsample
from deleverage.report.liquidity_bands import period_quantiles
from deleverage.report.margin_sizes import effective_rate, representative_sizes
from deleverage.report.margin_timeline import margin_events, margin_timeline
from deleverage.report.palette import distinct_colors, line_styles
from deleverage.report.risk_panel import draw_risk_panel
from deleverage.report.tables import HEADLINE, metrics_table
from deleverage.report.time_units import TimeUnit, time_unit

if TYPE_CHECKING:
    from deleverage.result import Result

#: Figure size in inches and resolution: 1500 x 1600 pixels.
FIGSIZE = (15.0, 16.0)
DPI = 100
#: Bars in the liquidation panel.
LIQUIDATION_BINS = 120

LONG_COLOR = "#c0392b"
SHORT_COLOR = "#2471a3"
PRICE_COLOR = "#1b2631"
FAIR_COLOR = "#e67e22"


def _si(x: float, _pos: object = None) -> str:
    """A compact number for an axis: 1.2k, 3.4M, 5G."""
    a = abs(x)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{a / scale:.3g}{suffix}"
    return f"{a:.3g}"


def _duration(seconds: float) -> str:
    """A bin's width in words: 30 seconds, 12 minutes, 2.4 hours."""
    if seconds < 120:
        return f"{seconds:.3g} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.3g} minutes"
    return f"{seconds / 3600:.3g} hours"


def _line(ax: Axes, series: pd.Series, unit: TimeUnit, **kwargs: object) -> None:
    thin = minmax_downsample(series)
    ax.plot(thin.index.to_numpy() / unit.seconds, thin.to_numpy(), **kwargs)  # type: ignore[arg-type]


def _shock_lines(ax: Axes, result: Result, instrument: str, unit: TimeUnit) -> None:
    dt = result.scenario.clock.dt
    spec = result.scenario.instrument(instrument)
    for k, shock in enumerate(spec.fundamental.shocks):
        ax.axvline(
            shock.step * dt / unit.seconds,
            color="grey",
            linestyle=":",
            linewidth=1.0,
            label="scheduled shock" if k == 0 else None,
        )


def _price_panel(ax: Axes, result: Result, name: str, unit: TimeUnit) -> None:
    s = result.series[name]
    _line(ax, s["last"], unit, color=PRICE_COLOR, linewidth=0.9, label="last trade")
    _line(ax, s["fair"], unit, color=FAIR_COLOR, linewidth=1.4, label="fair value")
    _shock_lines(ax, result, name, unit)
    event = result.event()
    ax.axvspan(
        event.time / unit.seconds,
        max(event.end_time, event.time + result.scenario.clock.dt) / unit.seconds,
        color="#f5b7b1",
        alpha=0.45,
        label="the crash figures' window",
    )
    ax.set_title(f"{name}: price against fair value")
    ax.set_ylabel("price")
    ax.legend(loc="best", fontsize=8)


def _liquidation_panel(
    ax: Axes, result: Result, name: str, unit: TimeUnit, end: float, *, accounts: bool = False
) -> None:
    s = result.series[name]
    bins = max(1, min(LIQUIDATION_BINS, len(s)))
    edges = np.linspace(0.0, end, bins + 1)
    suffix = "" if accounts else "_notional"
    longs = bin_sums(s[f"liquidated_long{suffix}"], edges)
    shorts = bin_sums(s[f"liquidated_short{suffix}"], edges)
    left = edges[:-1] / unit.seconds
    width = np.diff(edges) / unit.seconds
    ax.bar(left, -longs, width=width, align="edge", color=LONG_COLOR, label="longs closed")
    ax.bar(left, shorts, width=width, align="edge", color=SHORT_COLOR, label="shorts closed")
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.yaxis.set_major_formatter(FuncFormatter(_si))
    what = "accounts liquidated" if accounts else "liquidated notional"
    ax.set_title(f"{name}: {what} by side (per {_duration(end / bins)})")
    ax.set_ylabel(f"{'accounts' if accounts else 'notional'} (longs down, shorts up)")
    if longs.any() or shorts.any():
        ax.legend(loc="best", fontsize=8)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.6, "no liquidations", transform=ax.transAxes, ha="center", va="center")


def _band(ax: Axes, series: pd.Series, unit: TimeUnit, color: str, label: str) -> bool:
    """The series' per-period median and 10-90% band; True if it was banded."""
    q = period_quantiles(series)
    t = q.index.to_numpy(dtype=np.float64) / unit.seconds
    banded = len(q) < len(series)
    if banded:
        ax.fill_between(t, q["low"], q["high"], step="post", color=color, alpha=0.25, lw=0)
    ax.step(t, q["median"], where="post", color=color, linewidth=1.1, label=label)
    return banded


def _liquidity_panel(ax: Axes, result: Result, name: str, unit: TimeUnit) -> None:
    s = result.series[name]
    spread = s["spread"]
    banded = _band(ax, spread, unit, "#7d3c98", "spread")
    positive = spread[spread > 0]
    if len(positive) and positive.max() / positive.min() > 30:
        ax.set_yscale("log")
    ax.set_ylabel("spread (price, purple)")
    depth_ax = ax.twinx()
    _band(depth_ax, s["depth_bid"] + s["depth_ask"], unit, "#138d75", "depth within 1%")
    depth_ax.set_ylim(bottom=0.0)
    depth_ax.set_ylabel("depth within 1% of mid (lots, green)")
    depth_ax.yaxis.set_major_formatter(FuncFormatter(_si))
    how = " (per period: median, 10-90% band)" if banded else ""
    ax.set_title(f"{name}: spread and depth{how}")


def _leverage_panel(ax: Axes, result: Result, name: str, unit: TimeUnit) -> None:
    lev = result.leverage
    colors = distinct_colors(len(lev.columns))
    styles = line_styles(len(lev.columns))
    for k, pop in enumerate(lev.columns):
        ax.plot(
            lev.index.to_numpy() / unit.seconds,
            lev[pop].to_numpy(),
            linewidth=1.1,
            color=colors[k],
            linestyle=styles[k],
            label=pop,
        )
    ax.set_ylabel("aggregate leverage (notional / equity)")
    oi_ax = ax.twinx()
    _line(
        oi_ax,
        result.series[(name, "open_interest")],
        unit,
        color="black",
        linestyle="--",
        linewidth=0.9,
        label=f"{name} open interest",
    )
    oi_ax.set_ylabel(f"{name} open interest (lots, dashed)")
    oi_ax.yaxis.set_major_formatter(FuncFormatter(_si))
    ax.set_title("leverage per population and open interest")
    if len(lev.columns):
        ax.legend(loc="upper left", fontsize=8, ncol=2)


def _margin_panel(ax: Axes, result: Result, unit: TimeUnit, end: float) -> None:
    names = [inst.name for inst in result.scenario.instruments]
    timelines = {n: margin_timeline(result, n) for n in names}
    main = timelines[names[0]]
    # Levels of different kinds are different quantities: draw those sharing the
    # main instrument's unit; when its own kind changes, its initial rate instead.
    mixed = main["unit"].nunique() > 1
    column = "initial_rate" if mixed else "level"
    shown_unit = "fraction of notional" if mixed else str(main["unit"].iloc[0])
    for n, tl in timelines.items():
        if n != names[0] and (tl["unit"].nunique() > 1 or tl["unit"].iloc[0] != shown_unit):
            continue
        if n != names[0] and len(tl) == 1 and len(names) > 4:
            continue  # many instruments: only those whose margin moved besides the main one
        times = np.append(tl.index.to_numpy(), end) / unit.seconds
        values = np.append(tl[column].to_numpy(), tl[column].iloc[-1])
        (line,) = ax.step(times, values, where="post", linewidth=1.6, label=n)
        for t, source, v in zip(
            tl.index[1:], tl["source"].iloc[1:], tl[column].iloc[1:], strict=True
        ):
            marker = "^" if source == "trigger" else "o"
            ax.plot(t / unit.seconds, v, marker=marker, color=line.get_color(), markersize=7)
    events = margin_events(
        result.scenario,
        names[0],
        result.info.get("trigger_times", [None] * len(result.scenario.policy.volatility_triggers)),
    )
    sizes = representative_sizes(events[0].rule)
    if sizes and not mixed and all(e.rule.maintenance == "tiered" for e in events):
        # A tiered rule: the effective rate of positions of several sizes, not only the
        # first bracket's.
        shades = distinct_colors(len(sizes) + 1)[1:]
        times = np.append([e.time for e in events], end) / unit.seconds
        for size, shade in zip(sizes, shades, strict=True):
            rates = [effective_rate(e.rule, size) for e in events]
            ax.step(
                times,
                [*rates, rates[-1]],
                where="post",
                linewidth=1.1,
                linestyle="--",
                color=shade,
                label=f"{names[0]}, a {_si(size)} position",
            )
    kinds = "/".join(sorted(set(main["maintenance"])))
    if shown_unit == "fraction of notional":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        what = "initial margin rate" if mixed else f"maintenance margin ({kinds})"
        ax.set_ylabel(f"{what}, % of notional")
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(_si))
        ax.set_ylabel("maintenance margin per lot (money)")
    ax.set_ylim(0.0, max(ax.get_ylim()[1], 0.0) * 1.1 or 1.0)  # headroom: a flat top line shows
    ax.set_title("margin over time (o scheduled notice, ^ volatility trigger)")
    ax.legend(loc="best", fontsize=8)


def _instruments_panel(ax: Axes, result: Result, unit: TimeUnit) -> None:
    for inst in result.scenario.instruments:
        last = result.series[(inst.name, "last")]
        valid = last.dropna()
        start = float(valid.iloc[0]) if len(valid) else math.nan
        if not start > 0:
            continue
        _line(ax, last / start, unit, linewidth=1.0, label=inst.name)
    ax.axhline(1.0, color="grey", linewidth=0.6)
    ax.set_title("all instruments, last price normalised to 1 at the start")
    ax.set_ylabel("price / start")
    ax.legend(loc="best", fontsize=8)


def _headline_panel(ax: Axes, result: Result) -> None:
    from deleverage.run_summary import event_text

    table = metrics_table(result)
    name = str(table.columns[0])
    r = result.risk()
    event = event_text(result).split(" (", 1)
    lines = [event[0], f"({event[1]}" if len(event) > 1 else "", ""]
    lines.append(f"{name}: headline figures")
    for key, label, fmt in HEADLINE:
        lines.append(f"  {label:<30}{fmt(float(table[name][key])):>18}")
    lines += [
        "",
        "the venue",
        f"  {'insurance fund: start':<30}{r.fund_start:>18,.2f}",
        f"  {'insurance fund: lowest':<30}{r.fund_low:>18,.2f}",
        f"  {'insurance fund: end':<30}{r.fund_end:>18,.2f}",
        f"  {'insurance fund: drawdown':<30}{r.fund_drawdown:>18.2%}",
        f"  {'bad debt, every instrument':<30}{r.bad_debt:>18,.2f}",
        f"  {'bankrupt accounts':<30}{r.bankrupt_accounts:>18,}",
    ]
    ax.axis("off")
    ax.text(0.0, 1.0, "\n".join(lines), family="monospace", va="top", fontsize=9)


def draw_dashboard(result: Result) -> Figure:
    """The dashboard of ``result`` as a matplotlib ``Figure`` (not yet saved)."""
    from deleverage.dates import run_start, undated_result

    start = run_start(result)  # a dated run: drawn in seconds, its ticks labelled with dates
    result = undated_result(result)
    scenario = result.scenario
    series = result.series
    dt = scenario.clock.dt
    end = float(series.index[-1]) + dt if len(series) else scenario.clock.duration
    unit = time_unit(end)
    name = scenario.instruments[0].name

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 2, sharex=False)
    _price_panel(axes[0, 0], result, name, unit)
    _liquidation_panel(axes[0, 1], result, name, unit, end)
    _liquidity_panel(axes[1, 0], result, name, unit)
    _leverage_panel(axes[1, 1], result, name, unit)
    _margin_panel(axes[2, 0], result, unit, end)
    draw_risk_panel(axes[2, 1], result, unit, end)
    if len(scenario.instruments) > 1:
        _instruments_panel(axes[3, 0], result, unit)
    else:
        _liquidation_panel(axes[3, 0], result, name, unit, end, accounts=True)
    _headline_panel(axes[3, 1], result)
    for ax in axes.ravel():
        if ax.axison:
            ax.set_xlim(0.0, end / unit.seconds)
            ax.set_xlabel(unit.label())
            if start is not None:
                from deleverage.report.date_axis import date_formatter, date_label, date_locator

                ax.xaxis.set_major_locator(date_locator(unit))
                ax.xaxis.set_major_formatter(date_formatter(start, unit))
                ax.set_xlabel(date_label(start, unit))
            ax.grid(True, alpha=0.3)
    partial = "" if result.complete else f" (stopped after {result.steps_done:,} steps)"
    fig.suptitle(
        f"{scenario.name}: seed {result.seed}, {scenario.total_accounts:,} accounts, "
        f"{scenario.clock.steps:,} steps of {dt:g} s{partial}",
        fontsize=14,
    )
    return fig


def write_dashboard(result: Result, path: str | Path) -> Path:
    """Draw the dashboard of ``result`` and save it as a PNG at ``path``."""
    out = Path(path)
    fig = draw_dashboard(result)
    fig.savefig(out, format="png", dpi=DPI)
    return out
