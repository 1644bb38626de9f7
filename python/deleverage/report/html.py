"""The report's page: ``index.html``, the dashboard with the tables behind it.

One self-contained file (inline CSS, no scripts, nothing fetched) next to
``dashboard.png``, which it shows by relative path, so the folder can be
zipped, mailed or served as it is. Everything taken from the scenario or the
result is escaped. The page holds no build time or host name: rebuilding the
report of a saved result gives the same bytes, which makes a report folder
easy to diff.
"""

from __future__ import annotations

import html
import math
import numbers
from typing import TYPE_CHECKING

import pandas as pd

from deleverage.report.tables import episode_table, metrics_table

if TYPE_CHECKING:
    from deleverage.result import Result

DASHBOARD_FILE = "dashboard.png"

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1540px; padding: 0 1em; color: #1b2631; }
h1 { margin-bottom: 0.2em; }
p.description { font-size: 1.1em; color: #444; margin-top: 0; }
p.meta, p.note { color: #555; }
img.dashboard { width: 100%; max-width: 1500px; border: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; }
td { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f6f7; text-align: left; }
""".strip()


def format_number(x: object) -> str:
    """A table cell: whole numbers with thousands separators, others to 6 significant
    digits (two decimals from a thousand up), NaN as "-"."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return str(x)
    v = float(x)
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.2f}"
    if abs(v) >= 1e-4:
        return f"{v:.6g}"
    return f"{v:.3e}"


def table_html(frame: pd.DataFrame, table_id: str) -> str:
    """``frame`` as an HTML table with formatted numbers and escaped text."""
    shown = frame.map(format_number)
    return str(shown.to_html(table_id=table_id, classes=table_id, border=0, escape=True))


def figures_html(
    frame: pd.DataFrame, table_id: str, *, by: str = "row", start: pd.Timestamp | None = None
) -> str:
    """``frame`` as an HTML table, each cell written as the kind of figure its row's
    name (``by="row"``) or its column's name (``by="column"``) says it is
    (``figure_format``): percents, ratios, clock times, durations, counts, money.
    ``start``: a dated run's start (times in seconds are shown as UTC date-times)."""
    from deleverage.report.figure_format import format_figure

    shown = frame.astype(object).copy()
    for r, row_key in enumerate(frame.index):
        for c, column_key in enumerate(frame.columns):
            key = str(row_key) if by == "row" else str(column_key)
            shown.iat[r, c] = format_figure(key, frame.iat[r, c], start=start)
    return str(shown.to_html(table_id=table_id, classes=table_id, border=0, escape=True))


def venue_table(result: Result) -> pd.DataFrame:
    """The venue's figures (one column): the insurance fund, ADL over every
    instrument, bad debt, bankrupt accounts."""
    r = result.risk()
    rows = {
        "insurance_fund_start": r.fund_start,
        "insurance_fund_low": r.fund_low,
        "insurance_fund_low_time": r.fund_low_time if r.fund_low < r.fund_start else math.nan,
        "insurance_fund_end": r.fund_end,
        "insurance_fund_drawdown": r.fund_drawdown,
        "adl_events": r.adl_events,
        "adl_accounts": r.adl_accounts,
        "adl_notional": r.adl_notional,
        "bad_debt": r.bad_debt,
        "bankrupt_accounts": r.bankrupt_accounts,
    }
    return pd.DataFrame({"value": pd.Series(rows, dtype=object)})


def analysis_table(result: Result) -> tuple[pd.DataFrame | None, str]:
    """``deleverage.analysis.summary(result)`` with figures as rows, or why there is none.

    A run too short for the analysis (a few steps, interrupted early) still
    gets its report, with the reason in place of the table.
    """
    from deleverage.analysis import summary

    try:
        return summary(result).T, ""
    except ValueError as err:
        return None, f"analysis unavailable for this run: {err}"


def render_html(result: Result, dashboard: str = DASHBOARD_FILE) -> str:
    """The report page of ``result``, showing the PNG at the relative path ``dashboard``."""
    scenario = result.scenario
    esc = html.escape
    from deleverage.dates import run_start
    from deleverage.risk import VENUE_KEYS
    from deleverage.run_summary import RUN_KEYS, event_text

    start = run_start(result)
    metrics = metrics_table(result)
    metrics = metrics.drop(index=[k for k in (*VENUE_KEYS, *RUN_KEYS) if k in metrics.index])
    analysis, why = analysis_table(result)
    episode = episode_table(result)
    accounts = result.accounts
    fired = [t for t in result.info.get("trigger_times", []) if t is not None]
    status = (
        "complete"
        if result.complete
        else f"stopped early: {result.steps_done:,} of {scenario.clock.steps:,} steps"
    )
    names = ", ".join(inst.name for inst in scenario.instruments)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(scenario.name)}, seed {result.seed}: deleverage report</title>",
        f"<style>\n{STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(scenario.name)}</h1>",
        f'<p class="description">{esc(scenario.description)}</p>' if scenario.description else "",
        f'<p class="meta">seed {result.seed} &middot; {scenario.total_accounts:,} accounts '
        f"&middot; {len(scenario.populations)} populations &middot; instruments: {esc(names)} "
        f"&middot; {scenario.clock.steps:,} steps of {scenario.clock.dt:g} s"
        + ("" if start is None else f" from {start:%Y-%m-%d %H:%M:%S} UTC")
        + f" ({status})</p>",
        f'<img class="dashboard" src="{esc(dashboard)}" '
        f'alt="dashboard of {esc(scenario.name)}, seed {result.seed}">',
        "<h2>Headline figures</h2>",
        f"<p>{esc(event_text(result))}.</p>",
        "<p>Per instrument (<code>Result.metrics</code>): depth and spread as ratios to "
        "their medians before the crash window; ADL and bad debt of that instrument's "
        "positions.</p>",
        figures_html(metrics, "metrics", start=start),
        "<h2>The venue: insurance fund, ADL and bad debt</h2>",
        "<p>From the engine's ledger (<code>Result.risk()</code>): the insurance fund's "
        "cash (its drawdown from its running peak), the auto-deleveraging closes and the "
        "accounts they reduced, the bad debt absorbed under negative-balance protection, "
        "and the accounts found bankrupt.</p>",
        figures_html(venue_table(result), "venue", start=start),
        "<p>By instrument (<code>Result.risk_table()</code>):</p>",
        figures_html(result.risk_table(), "risk", by="column", start=start),
        *(
            [
                "<h2>The crash day</h2>",
                "<p><code>deleverage.analysis.episode_metrics</code>, day by day as the "
                "scenario's episode declares: returns as percents, ratios to the days "
                "before (see docs/analysis.md).</p>",
                figures_html(episode, "episode", start=start),
            ]
            if episode is not None
            else []
        ),
        "<h2>Analysis</h2>",
        "<p><code>deleverage.analysis.summary</code>, measured around the crash window; "
        + (
            "times of day from the start of the run"
            if start is None
            else f"times as UTC date-times (the run starts {start:%Y-%m-%d %H:%M} UTC)"
        )
        + " (see docs/analysis.md).</p>",
        figures_html(analysis, "analysis", start=start)
        if analysis is not None
        else f"<p>{esc(why)}</p>",
        "<h2>Populations at the end</h2>",
        table_html(accounts, "populations"),
        "<h2>Run</h2>",
        f'<p class="note">{scenario.total_accounts:,} accounts, {result.steps_done:,} steps, '
        f"{result.wall_seconds:,.2f} s wall time; {result.messages:,} messages, "
        f"{result.decisions:,} decisions; {len(result.liquidations):,} closes in the "
        f"liquidation log; volatility triggers fired: {len(fired)} of "
        f"{len(scenario.policy.volatility_triggers)}; money conserved to "
        f"{result.conservation_error:.3g}.</p>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(p for p in parts if p)
