"""How gold-2026's premium gets to the 29th, per seed: its level at each close of
the last nine days before the news, how smoothly it moved there, and its largest
rise (a gap) and fall (a flush of the crowd) within an hour before the news,
beside the crash day; and when the sellers of the premium had sold nine
tenths of what they may sell (their room gone), or "never".

Usage: python tools/calibration/gold_2026_premium.py [FRACTION] [SEEDS] [PATH=VALUE ...]
FRACTION scales the whole market (``Scenario.scaled``; 1 is the preset's own
size, the default 0.05 a twentieth); SEEDS is a count (from 0) or a comma list;
each PATH=VALUE changes one field of the full-size scenario before it is
scaled (VALUE read as TOML), as ``deleverage validate --set`` does. The seeds
run on two processes.
docs/gold-2026.md ("What moves the premium within a seed") gives the figures.
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from deleverage.analysis import episode_metrics
from deleverage.cli import _parse_set
from deleverage.dates import run_start
from deleverage.result import Result
from deleverage.scenario import Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths

#: Closes before the news that the table shows (21-29 January).
DAYS_BEFORE = 9

#: The population whose room the table follows, and the share of it that counts as full.
SELLERS = "premium_sellers"
FULL = 0.9


def world(fraction: float, changes: dict[str, Any]) -> Scenario:
    """The preset with ``changes`` at its full size, then scaled by ``fraction``,
    as ``deleverage validate --set ... --scale`` builds it (a dealer's inventory
    limit is given in full-size lots)."""
    scenario = load_preset("gold-2026")
    if changes:
        scenario = apply_paths(scenario, changes)
    return scenario if fraction == 1.0 else scenario.scaled(fraction)


def premium_path(fraction: float, seed: int, changes: dict[str, Any]) -> dict[str, Any]:
    """One seed's premium figures (see the module's docstring)."""
    scenario = world(fraction, changes)
    episode = scenario.episode
    assert episode is not None  # the preset declares its crash day
    per_day = round(episode.day / scenario.clock.dt)
    per_hour = round(3600.0 / scenario.clock.dt)
    days = range(episode.crash_day - DAYS_BEFORE, episode.crash_day)
    news = min(shock.step for shock in scenario.instrument("GOLD").fundamental.shocks)
    start = days.start * per_day
    hours = (news - start) // per_hour
    if hours < 2:
        raise ValueError(
            f"the news (step {news}) must come at least two hours after the close of day "
            f"{days.start - 1} (step {start - 1}) for the hourly figures"
        )
    sellers = [p for p in scenario.populations if p.name == SELLERS]
    result = simulate(scenario, seed, progress=False, trade_log=bool(sellers))
    gold = result.series["GOLD"]
    gap = gold["last"].to_numpy() / gold["fair"].to_numpy() - 1.0
    closes = gap[per_day - 1 :: per_day]
    # Hourly means from the first close shown to the news: their hour-to-hour
    # changes say how smoothly the premium moved (a few hundredths of a percent
    # when it builds steadily, about a percent when it gaps and collapses).
    hourly = gap[start : start + hours * per_hour].reshape(hours, per_hour).mean(axis=1)
    changes_h = np.diff(hourly)
    worst, best = int(np.argmin(changes_h)), int(np.argmax(changes_h))
    metrics = episode_metrics(result)
    return {
        "seed": seed,
        "days": list(days),
        "closes": [float(closes[d]) for d in days],
        "jitter": float(np.std(changes_h)),
        "worst_hour": float(changes_h[worst]),
        "worst_day": (start + (worst + 1) * per_hour) / per_day,
        "best_hour": float(changes_h[best]),
        "crash_day": metrics["crash_day_return"],
        "sellers_full": sellers_full(result, scenario) if sellers else None,
    }


def sellers_full(result: Result, scenario: Scenario) -> float | None:
    """The day (fractional, from the run's start) of the trade with which the
    sellers' net sales first reach ``FULL`` of their combined inventory limit;
    None if they never do."""
    (pop,) = [p for p in scenario.populations if p.name == SELLERS]
    first = sum(p.accounts for p in scenario.populations[: scenario.populations.index(pop)])
    trades = result.trades
    assert trades is not None  # asked for when the world has sellers
    assert scenario.episode is not None  # the preset declares its crash day
    gold = trades[trades["instrument"] == pop.instrument]
    qty = gold["qty"].to_numpy()
    seller, buyer = gold["seller"].to_numpy(), gold["buyer"].to_numpy()
    sold = np.where((seller >= first) & (seller < first + pop.accounts), qty, 0.0)
    bought = np.where((buyer >= first) & (buyer < first + pop.accounts), qty, 0.0)
    short = np.cumsum(sold - bought)
    full = np.flatnonzero(short >= FULL * pop.accounts * pop.params.inventory_limit)
    if full.size == 0:
        return None
    since = gold["time"].iloc[full[0]] - run_start(scenario)
    return since.total_seconds() / scenario.episode.day


def _parse(argv: list[str]) -> tuple[float, list[int], dict[str, Any]]:
    try:
        fraction = float(argv[0]) if argv else 0.05
    except ValueError:
        raise ValueError(f"FRACTION: must be a number in (0, 1000], got {argv[0]!r}") from None
    arg = argv[1] if len(argv) > 1 else "8"
    try:
        seeds = [int(x) for x in arg.split(",")] if "," in arg else list(range(int(arg)))
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise ValueError(f"SEEDS: must be a count >= 1 or a comma list of seeds >= 0, got {arg!r}")
    # PATH=VALUE read as `deleverage validate --set` reads it.
    return fraction, seeds, dict(_parse_set(argv[2:]))


def main() -> None:
    fraction, seeds, changes = _parse(sys.argv[1:])
    with ProcessPoolExecutor(2) as pool:
        rows = pool.map(premium_path, [fraction] * len(seeds), seeds, [changes] * len(seeds))
        for n, r in enumerate(rows):
            if n == 0:
                days = " | ".join(f"day {d}" for d in r["days"])
                tail = "hourly jitter | largest rise | worst hour (day) | crash day"
                tail += " | sellers full (day)"
                print(f"| seed | {days} | {tail} |")
                print("|" + "---|" * (len(r["days"]) + 6))
            cells = " | ".join(f"{100 * c:+.1f}%" for c in r["closes"])
            worst = f"{100 * r['worst_hour']:+.1f}% ({r['worst_day']:.2f})"
            full = "never" if r["sellers_full"] is None else f"{r['sellers_full']:.2f}"
            print(
                f"| {r['seed']} | {cells} | {100 * r['jitter']:.2f}% | "
                f"{100 * r['best_hour']:+.1f}% | {worst} | "
                f"{100 * r['crash_day']:+.1f}% | {full} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
