"""Is the overshoot the cascade's? A preset's overshoot below fair value and its
recovery per seed, as is and in its counterfactual worlds (the same seeds).

Usage: python tools/calibration/overshoot.py PRESET [INSTRUMENT] [FRACTION] [SEEDS]
INSTRUMENT defaults to the preset's first; FRACTION scales the market
(``Scenario.scaled``); SEEDS is a count (from 0) or a comma list. Prints one
Markdown row per world and seed: the premium before the crash day, the crash
day's return, the overshoot (the lowest price over fair value from the crash
day's open, minus 1), the hours half of it took to go, and the gap at the end.
"""

from __future__ import annotations

import math
import sys

from deleverage.analysis import episode_metrics
from deleverage.counterfactuals.factors import cap_leverage, no_news, steady_dealers
from deleverage.scenario.toml_io import load_toml
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

WORLDS = (
    ("as is", lambda s: s),
    ("no news", no_news),
    ("every population at 1x", cap_leverage),
    ("dealers never withdraw", steady_dealers),
)


def _hours(value: float) -> str:
    if math.isnan(value):
        return "no discount"
    return "not by the end" if math.isinf(value) else f"{value:.1f} h"


def main() -> None:
    preset = sys.argv[1] if len(sys.argv) > 1 else "gold-2026"
    base = load_toml(preset) if preset.endswith(".toml") else load_preset(preset)
    instrument = sys.argv[2] if len(sys.argv) > 2 else base.instruments[0].name
    fraction = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    arg = sys.argv[4] if len(sys.argv) > 4 else "4"
    seeds = [int(x) for x in arg.split(",")] if "," in arg else list(range(int(arg)))
    if fraction != 1.0:
        base = base.scaled(fraction)
    print(f"{preset} at {base.total_accounts:,} accounts, {instrument}")
    print("| world | seed | premium before | crash day | overshoot | half back | end vs fair |")
    print("|---|---|---|---|---|---|---|")
    for label, world in WORLDS:
        scenario = world(base)
        for seed in seeds:
            m = episode_metrics(simulate(scenario, seed, progress=False), instrument)
            print(
                f"| {label} | {seed} | {100 * m['premium_before']:+.1f}% "
                f"| {100 * m['crash_day_return']:+.1f}% | {100 * m['overshoot']:+.2f}% "
                f"| {_hours(m['recovery_hours'])} | {100 * m['end_vs_fair']:+.2f}% |",
                flush=True,
            )


if __name__ == "__main__":
    main()
