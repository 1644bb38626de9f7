"""How a named figure reads on the page: by what its name says it is.

A table of figures mixes fractions (a drawdown), ratios (a spread over its
usual level), times in the run, durations, counts and money. Shown as raw
numbers, 0.1319 sits next to 280.98 and a crash happens at 76,074 s. Here
each figure is written by its kind, which its name gives:

- fractions (drawdowns, falls, returns, shares): percents, ``13.19%``;
- ratios (``*_ratio``, amplification, ``*_over_peak``, ``*_spike``): ``280.98x``;
- times in the run (``*_time``, ``returned_to``, ``at``): ``day 1 21:07:54``,
  or ``21:07:54`` in the first day; in a dated run (``start`` given, or the
  value a date-time) the UTC date-time, ``2025-10-10 21:07:54``;
- durations (``*_seconds``): ``1 h 23 min 29 s``;
- speeds (``drawdown_speed``): percent of the peak per hour;
- counts (accounts, events, liquidations, steps): whole numbers;
- money (the insurance fund, notionals, bad debt, equity): two decimals;
- anything else: a plain number (``format_number``).
"""

from __future__ import annotations

import datetime
import math
import numbers

import pandas as pd

__all__ = ["clock_time", "duration", "figure_kind", "format_figure"]

_FRACTIONS = {
    "max_drawdown",
    "worst_move",
    "crash_fall",
    "fair_fall",
    "excess_fall",
    "insurance_fund_drawdown",
    "low_fall",
    "long_share",
}
_RATIOS = {"shock_amplification"}
_COUNTS = {
    "liquidations",
    "accounts",
    "steps",
    "adl_events",
    "adl_accounts",
    "adl_victims",
    "bankrupt_accounts",
    "liquidated_accounts",
    "fund_takeover_accounts",
}


def figure_kind(key: str) -> str:
    """``fraction``, ``ratio``, ``time``, ``duration``, ``speed``, ``count``, ``money``
    or ``number``."""
    k = key.lower()
    if k in _COUNTS or k.endswith(("_events", "_accounts")):
        return "count"
    if k == "drawdown_speed":
        return "speed"
    if k.endswith("_seconds"):
        return "duration"
    if k.endswith("_time") or k in ("returned_to", "at", "time"):
        return "time"
    if k in _RATIOS:
        return "ratio"
    if k.endswith(("_ratio", "_over_peak", "_spike", "_amplification")):
        return "ratio"
    if k in _FRACTIONS or k.endswith(("_return", "_share", "_fall", "_drawdown")):
        return "fraction"
    if k.startswith(("close_vs_", "premium")):
        return "fraction"
    if k.startswith(("insurance_fund", "fund_")) or any(
        part in k for part in ("notional", "bad_debt", "equity")
    ):
        return "money"
    return "number"


def clock_time(seconds: float) -> str:
    """Seconds from the start of the run as ``HH:MM:SS`` (``day N HH:MM:SS`` after day 0)."""
    from deleverage.dates import time_text

    return time_text(seconds, None)


def duration(seconds: float) -> str:
    """``1 h 23 min 29 s``; ``45 s``; ``2 d 3 h``."""
    if not math.isfinite(seconds):
        return "-"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if days:
        return f"{days} d {h} h"
    if h:
        return f"{h} h {m} min {s} s"
    if m:
        return f"{m} min {s} s"
    return f"{s} s"


def format_figure(key: str, value: object, *, start: datetime.datetime | None = None) -> str:
    """``value`` written as the kind of figure ``key`` names (see the module's docstring);
    ``start``: a dated run's start, times (seconds from it) then read as date-times."""
    from deleverage.dates import time_text
    from deleverage.report.html import format_number

    if value is None or value is pd.NaT:
        return "-"
    if isinstance(value, datetime.datetime):  # a dated run's time (a Timestamp)
        return time_text(0.0, value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    v = float(value)
    if math.isnan(v):
        return "-"
    kind = figure_kind(key)
    if kind == "fraction":
        return f"{v:.2%}"
    if kind == "ratio":
        return f"{v:,.2f}x"
    if kind == "time":
        return clock_time(v) if start is None else time_text(v, start)
    if kind == "duration":
        return duration(v)
    if kind == "speed":
        return f"{v:.2%} per hour"
    if kind == "count":
        return f"{int(v):,}" if math.isfinite(v) else "-"
    if kind == "money" and math.isfinite(v):
        return f"{v:,.2f}"
    return format_number(v)
