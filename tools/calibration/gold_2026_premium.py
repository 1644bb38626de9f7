"""How gold-2026's premium gets to the 29th, per seed: its level at each close of
the last nine days before the news, how smoothly it moved there, and its largest
rise (a gap) and fall (a flush of the crowd) within an hour before the news,
beside the crash day.

Usage: python tools/calibration/gold_2026_premium.py [FRACTION] [SEEDS] [PATH=VALUE ...]
FRACTION scales the whole market (``Scenario.scaled``; 1 is the preset's own
size, the default 0.05 a twentieth); SEEDS is a count (from 0) or a comma list;
each PATH=VALUE changes one field of the scenario (VALUE read as TOML, as
``deleverage validate --set``). The seeds run on two processes.
docs/gold-2026.md ("What moves the premium within a seed") gives the figures.
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from deleverage.analysis import episode_metrics
from deleverage.cli import _parse_set
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths

DAYS = range(24, 33)  # the closes of 21-29 January; the news is at 01:00 on day 33
PER_DAY = 1440  # one-minute steps
PER_HOUR = 60


def premium_path(fraction: float, seed: int, changes: dict[str, Any]) -> dict[str, Any]:
    """One seed's premium figures (see the module's docstring)."""
    scenario = load_preset("gold-2026")
    if fraction != 1.0:
        scenario = scenario.scaled(fraction)
    if changes:
        scenario = apply_paths(scenario, changes)
    result = simulate(scenario, seed, progress=False)
    gold = result.series["GOLD"]
    gap = gold["last"].to_numpy() / gold["fair"].to_numpy() - 1.0
    closes = gap[PER_DAY - 1 :: PER_DAY]
    # Hourly means from the 21st to the news: their hour-to-hour changes say how
    # smoothly the premium moved (a few hundredths of a percent when it builds
    # steadily, about a percent when it gaps and collapses).
    start, news = DAYS.start * PER_DAY, 33 * PER_DAY + PER_HOUR
    hourly = gap[start:news].reshape(-1, PER_HOUR).mean(axis=1)
    changes_h = np.diff(hourly)
    worst, best = int(np.argmin(changes_h)), int(np.argmax(changes_h))
    metrics = episode_metrics(result)
    return {
        "seed": seed,
        "closes": [float(closes[d]) for d in DAYS],
        "jitter": float(np.std(changes_h)),
        "worst_hour": float(changes_h[worst]),
        "worst_day": (start + (worst + 1) * PER_HOUR) / PER_DAY,
        "best_hour": float(changes_h[best]),
        "crash_day": metrics["crash_day_return"],
    }


def _parse(argv: list[str]) -> tuple[float, list[int], dict[str, Any]]:
    fraction = float(argv[0]) if argv else 0.05
    arg = argv[1] if len(argv) > 1 else "8"
    seeds = [int(x) for x in arg.split(",")] if "," in arg else list(range(int(arg)))
    # PATH=VALUE read as `deleverage validate --set` reads it.
    return fraction, seeds, dict(_parse_set(argv[2:]))


def main() -> None:
    fraction, seeds, changes = _parse(sys.argv[1:])
    days = " | ".join(f"day {d}" for d in DAYS)
    print(f"| seed | {days} | hourly jitter | largest rise | worst hour (day) | crash day |")
    print("|" + "---|" * (len(DAYS) + 5))
    with ProcessPoolExecutor(2) as pool:
        rows = pool.map(premium_path, [fraction] * len(seeds), seeds, [changes] * len(seeds))
        for r in rows:
            cells = " | ".join(f"{100 * c:+.1f}%" for c in r["closes"])
            worst = f"{100 * r['worst_hour']:+.1f}% ({r['worst_day']:.2f})"
            print(
                f"| {r['seed']} | {cells} | {100 * r['jitter']:.2f}% | "
                f"{100 * r['best_hour']:+.1f}% | {worst} | "
                f"{100 * r['crash_day']:+.1f}% |",
                flush=True,
            )


if __name__ == "__main__":
    main()
