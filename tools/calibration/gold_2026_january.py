"""Gold's own January in gold-2026, per seed: how its one-minute returns bounce
and in which state of the book. From the close of 31 December to 29 January
00:00 (where the window of bitcoin's and the index's facts ends), the lag-1
autocorrelation of one-minute returns of the last trade price (``market_facts``'
estimator), split into the parts each state of the book adds to it: a pair of
successive returns counts where a dealer of gold was out of the market at
either return's end, else where a side of the book was empty, else where both
were quoted. The parts add up to the whole. Beside it: how often each side of
the book was empty, the premium's low and high, the largest one-minute move
and the notional liquidated in the window.

Usage: python tools/calibration/gold_2026_january.py [FRACTION] [SEEDS] [PATH=VALUE ...]
with the arguments of gold_2026_premium.py (a twentieth and seeds 0-7 by
default; the changes are to the full-size market); the seeds run on two
processes.
docs/gold-2026.md ("Gold's own January, minute by minute") gives the figures.
"""

from __future__ import annotations

import importlib.util
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from deleverage.scenario import Scenario
from deleverage.simulate import simulate

INSTRUMENT = "GOLD"
#: The states of the book a pair of returns is counted in, in the order tried.
STATES = ("maker_out", "ask_empty", "bid_empty", "both_quoted")


def _premium_tool() -> Any:
    """gold_2026_premium.py beside this file: its world and argument parsing."""
    spec = importlib.util.spec_from_file_location(
        "gold_2026_premium", Path(__file__).with_name("gold_2026_premium.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def window(scenario: Scenario) -> tuple[float, float]:
    """``[start, end)`` seconds: from the close of the day before the episode's
    period (31 December) to the start of the day before the crash day (29 January)."""
    episode = scenario.episode
    assert episode is not None  # the preset declares its crash day
    return episode.period_start_day * episode.day, (episode.crash_day - 1) * episode.day


def makers(scenario: Scenario) -> int:
    """The accounts that quote gold: every market maker of the instrument."""
    return sum(
        p.accounts
        for p in scenario.populations
        if p.strategy == "market_maker" and p.instrument == INSTRUMENT
    )


def split(
    last: np.ndarray, out: np.ndarray, no_ask: np.ndarray, no_bid: np.ndarray
) -> tuple[float, dict[str, tuple[float, float]]]:
    """The lag-1 autocorrelation of the log returns of ``last`` and, for each of
    ``STATES``, the share of pairs of successive returns counted in it and the
    part of the autocorrelation they add. Pair k is returns k and k + 1, which
    end at steps k + 1 and k + 2; it counts in the first state whose flag
    (``out``, ``no_ask``, ``no_bid``, one a step) is set at either step."""
    r = np.diff(np.log(last))
    d = r - r.mean()
    products, denom = d[:-1] * d[1:], float(d @ d)
    state = np.full(len(products), len(STATES) - 1)
    for code, flag in reversed(list(enumerate((out, no_ask, no_bid)))):
        state[flag[1:-1] | flag[2:]] = code
    parts = {
        name: (float(np.mean(state == code)), float(products[state == code].sum()) / denom)
        for code, name in enumerate(STATES)
    }
    return float(products.sum()) / denom, parts


def january(fraction: float, seed: int, changes: dict[str, Any]) -> dict[str, Any]:
    """One seed's figures (see the module's docstring)."""
    scenario = _premium_tool().world(fraction, changes)
    result = simulate(scenario, seed, progress=False)
    start, end = window(scenario)
    gold = result.series[INSTRUMENT]
    t = np.arange(len(gold)) * scenario.clock.dt
    rows = (t >= start) & (t < end)
    last = gold["last"].to_numpy()[rows]
    fair = gold["fair"].to_numpy()[rows]
    bid = gold["best_bid"].to_numpy()[rows]
    ask = gold["best_ask"].to_numpy()[rows]
    out = gold["active_makers"].to_numpy()[rows] < makers(scenario)
    no_ask, no_bid = ~(np.isfinite(ask) & (ask > 0)), ~(np.isfinite(bid) & (bid > 0))

    acf, parts = split(last, out, no_ask, no_bid)
    liquidated = (
        gold["liquidated_long_notional"].to_numpy()[rows].sum()
        + gold["liquidated_short_notional"].to_numpy()[rows].sum()
    )
    premium = last / fair - 1.0
    return {
        "seed": seed,
        "window": (start, end),
        "acf_1": acf,
        "parts": parts,
        "ask_empty": float(np.mean(no_ask)),
        "bid_empty": float(np.mean(no_bid)),
        "maker_out": float(np.mean(out)),
        "premium_low": float(premium.min()),
        "premium_high": float(premium.max()),
        "largest_move": float(np.abs(np.diff(np.log(last))).max()),
        "liquidated": float(liquidated),
    }


def main() -> None:
    fraction, seeds, changes = _premium_tool()._parse(sys.argv[1:])
    head = ["seed", "lag-1, 1 min"]
    head += [f"{s.replace('_', ' ')}: share, part" for s in STATES]
    head += ["ask empty", "bid empty", "premium low / high", "largest move", "liquidated $M"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    with ProcessPoolExecutor(2) as pool:
        for r in pool.map(january, [fraction] * len(seeds), seeds, [changes] * len(seeds)):
            cells = [str(r["seed"]), f"{r['acf_1']:+.3f}"]
            cells += [f"{100 * share:.1f}%, {part:+.3f}" for share, part in r["parts"].values()]
            cells += [f"{100 * r['ask_empty']:.2f}%", f"{100 * r['bid_empty']:.2f}%"]
            cells += [f"{100 * r['premium_low']:+.1f}% / {100 * r['premium_high']:+.1f}%"]
            cells += [f"{100 * r['largest_move']:.1f}%", f"{r['liquidated'] / 1e6:,.0f}"]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
