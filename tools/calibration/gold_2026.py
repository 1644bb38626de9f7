"""The gold-2026 preset's crash-day figures over seeds, as the table in docs/gold-2026.md.

Usage: python tools/calibration/gold_2026.py [FRACTION] [SEEDS]
FRACTION scales the whole market (``Scenario.scaled``; 1, the default, is the
preset's own 1.01M accounts); SEEDS is a count (from 0) or a comma list.
Prints one Markdown row per seed and the run's wall time.
"""

from __future__ import annotations

import sys
import time

from deleverage.analysis import episode_metrics
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

COLUMNS = (
    ("january_return", "Jan", "pct"),
    ("premium_before", "premium 29th", "pct"),
    ("crash_day_return", "crash day", "pct"),
    ("crash_day_low_return", "low", "pct"),
    ("close_vs_10d_earlier", "vs 10 d", "pct"),
    ("close_vs_fair", "vs fair", "pct"),
    ("liquidated_notional", "liquidated $bn", "bn"),
    ("long_share", "longs", "pct0"),
    ("liquidation_spike", "spike", "x"),
    ("max_spread_ratio", "spread", "x"),
    ("min_depth_ratio", "depth", "x2"),
    ("equity_index_crash_day_return", "index", "pct"),
    ("crypto_crash_day_return", "bitcoin", "pct"),
    ("leverage_after_over_peak", "leverage", "x2"),
    ("open_interest_after_over_peak", "OI", "x2"),
)


def _fmt(value: float, kind: str) -> str:
    if kind == "pct":
        return f"{100 * value:+.1f}%"
    if kind == "pct0":
        return f"{100 * value:.0f}%"
    if kind == "bn":
        return f"{value / 1e9:,.1f}"
    if kind == "x2":
        return f"{value:.2f}"
    return f"{value:.1f}x"


def main() -> None:
    fraction = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    arg = sys.argv[2] if len(sys.argv) > 2 else "4"
    seeds = [int(x) for x in arg.split(",")] if "," in arg else list(range(int(arg)))
    scenario = load_preset("gold-2026")
    if fraction != 1.0:
        scenario = scenario.scaled(fraction)
    print(f"gold-2026 at {scenario.total_accounts:,} accounts")
    print("| seed | " + " | ".join(label for _, label, _ in COLUMNS) + " | wall |")
    print("|" + "---|" * (len(COLUMNS) + 2))
    for seed in seeds:
        start = time.perf_counter()
        result = simulate(scenario, seed, progress=False)
        wall = time.perf_counter() - start
        m = episode_metrics(result)
        cells = [_fmt(m[key], kind) for key, _, kind in COLUMNS]
        print(f"| {seed} | " + " | ".join(cells) + f" | {wall:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
