"""The dash-for-cash-2020 preset's figures over seeds, as the tables in
docs/dash-for-cash-2020.md: each seed as is, with every cross-margined
portfolio split into isolated accounts (``cross_margin``), without the index
news (``news``), with every population at 1x (``leverage``), with dealers that
carry no value-at-risk budget (``dealer_budgets``), without the patient
funds (the last population, so every other account stays the same), and
without each of the scheduled changes (on 9 March the physical buyers short
of dollars, on 19 March the gold dealers' relief and the physical buyers'
dollars, on 23 March the patient funds' return), on the same seed.

Usage: python tools/calibration/dash_for_cash_2020.py [FRACTION] [SEEDS]
FRACTION scales the whole market (``Scenario.scaled``; 1, the default, is the
preset's own size); SEEDS is a count (from 0) or a comma list.
"""

from __future__ import annotations

import sys
import time

from deleverage.analysis import episode_metrics, haven_selling
from deleverage.counterfactuals import (
    cap_leverage,
    isolate_cross_margin,
    no_dealer_budgets,
    no_news,
    no_population_changes,
)
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

#: 17 February to 23 February, before the news; 9 March to the 23 March low.
CALM = (0, 7)
STRESS = (21, 35)
#: The physical buyers' changes: dollars short from 9 March (00:00), partly
#: back with the swap lines of 19 March (13:00).
NINTH, NINETEENTH = 21 * 288, 31 * 288 + 156

COLUMNS = (
    ("risk_drawdown", "index drawdown", "pct"),
    ("risk_worst_day", "worst day", "pct"),
    ("haven_premium_before", "gold vs value 8 Mar", "pct"),
    ("haven_fall", "gold fall", "pct"),
    ("haven_low_day", "low day", "day"),
    ("haven_fair_change", "gold fair", "pct"),
    ("haven_premium_min", "lowest close vs value", "pct"),
    ("haven_premium_min_day", "its day", "day"),
    ("correlation_calm", "corr calm", "r"),
    ("correlation_stress", "corr stress", "r"),
)


#: From ``episode_metrics``: the lowest hourly gap to value from 16 March, and
#: the hours until half of it is back.
EPISODE = (("overshoot", "lowest hour vs value", "pct"), ("recovery_hours", "half back", "hours"))


def _fmt(value: float, kind: str) -> str:
    if kind == "pct":
        return f"{100 * value:+.1f}%"
    if kind == "day":
        return f"{int(value)}"
    if kind == "hours":
        return "never" if value == float("inf") else ("-" if value != value else f"{value:.0f} h")
    return f"{value:+.2f}"


def main() -> None:
    fraction = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    arg = sys.argv[2] if len(sys.argv) > 2 else "4"
    seeds = [int(x) for x in arg.split(",")] if "," in arg else list(range(int(arg)))
    scenario = load_preset("dash-for-cash-2020")
    if fraction != 1.0:
        scenario = scenario.scaled(fraction)
    worlds = {
        "as is": scenario,
        "isolated": isolate_cross_margin(scenario),
        "no news": no_news(scenario),
        "1x": cap_leverage(scenario),
        "no budgets": no_dealer_budgets(scenario),
        "no patient funds": scenario.replace(populations=scenario.populations[:-1]),
        "no buyers 9 Mar": no_population_changes(scenario, ["gold_value"], steps=[NINTH]),
        "no relief 19 Mar": no_population_changes(scenario, ["gold_dealers"]),
        "no buyers 19 Mar": no_population_changes(scenario, ["gold_value"], steps=[NINETEENTH]),
        "no return 23 Mar": no_population_changes(scenario, ["patient_funds"]),
    }
    print(f"dash-for-cash-2020 at {scenario.total_accounts:,} accounts")
    labels = [label for _, label, _ in COLUMNS + EPISODE]
    print("| seed | world | " + " | ".join(labels) + " | wall |")
    print("|" + "---|" * (len(labels) + 3))
    for seed in seeds:
        for name, world in worlds.items():
            start = time.perf_counter()
            result = simulate(world, seed, progress=False)
            wall = time.perf_counter() - start
            m = haven_selling(result, "GOLD", calm=CALM, stress=STRESS)
            e = episode_metrics(result, "GOLD")
            cells = [_fmt(m[key], kind) for key, _, kind in COLUMNS]
            cells += [_fmt(e[key], kind) for key, _, kind in EPISODE]
            print(f"| {seed} | {name} | " + " | ".join(cells) + f" | {wall:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
