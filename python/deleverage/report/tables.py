"""The tables of a report: headline metrics per instrument, for a page and for a terminal.

One source for both, so the figures a person reads after ``deleverage run``
are the ones the HTML page shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from deleverage.result import Result


def metrics_table(result: Result, *, at: float | str | None = None) -> pd.DataFrame:
    """``result.metrics(name, at=at)`` of every instrument: one row per metric, one column
    each (the columns' axis is named ``instrument``, as in ``analysis.summary(result).T``)."""
    columns = {inst.name: result.metrics(inst.name, at=at) for inst in result.scenario.instruments}
    table = pd.DataFrame(columns)
    table.columns.name = "instrument"
    return table


def _money(x: float) -> str:
    return f"{x:,.2f}" if math.isfinite(x) else "-"


def _percent(x: float) -> str:
    return f"{x:.2%}" if math.isfinite(x) else "-"


def _ratio(x: float) -> str:
    return f"{x:,.2f}x" if math.isfinite(x) else "-"


def _count(x: float) -> str:
    return f"{int(x):,}"


def _whole(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "-"


#: (metric, label on a terminal, formatter): the figures ``deleverage run`` prints.
HEADLINE: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("peak_price", "peak price", _money),
    ("final_price", "final price", _money),
    ("max_drawdown", "max drawdown", _percent),
    ("liquidations", "accounts liquidated", _count),
    ("liquidated_notional", "liquidated notional", _whole),
    ("min_depth_ratio", "worst depth / before", _ratio),
    ("max_spread_ratio", "widest spread / before", _ratio),
    ("adl_events", "ADL events", _count),
    ("adl_accounts", "accounts auto-deleveraged", _count),
    ("adl_notional", "ADL notional", _whole),
    ("bad_debt", "bad debt", _money),
)


def headline_text(result: Result, *, at: float | str | None = None) -> str:
    """The headline figures as an aligned text table, one column per instrument."""
    table = metrics_table(result, at=at)
    rows = {
        label: [fmt(float(table[name][key])) for name in table.columns]
        for key, label, fmt in HEADLINE
    }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(table.columns))
    return str(frame.to_string())


def episode_table(result: Result) -> pd.DataFrame | None:
    """The crash-day figures of a scenario that declares an episode (one column), else None."""
    if result.scenario.episode is None:
        return None
    from deleverage.analysis.episode import episode_metrics

    figures = episode_metrics(result)
    return pd.DataFrame({"value": pd.Series(figures, dtype=float)})


def episode_text(result: Result) -> str | None:
    """``episode_table`` as aligned text: fractions as percents, ratios as ratios."""
    table = episode_table(result)
    if table is None:
        return None
    lines = []
    for key, value in table["value"].items():
        assert isinstance(key, str)
        text = (
            _money(value)
            if key == "liquidated_notional"
            else (
                _ratio(value)
                if key.endswith(("_ratio", "_spike", "_over_peak"))
                else _percent(value)
            )
        )
        lines.append(f"{key:<34} {text:>12}")
    return "\n".join(lines)
