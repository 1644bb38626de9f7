"""Can the altcoin of crypto-cascade-2025 have shorts to squeeze? Per seed at full
size, its long share of the liquidated notional, open interest after over
before, the fall to its low and its widest gap to value after the 21:00
headline (outside the ten minutes after each of its two jumps, when the price
has not yet traded at the new value), in the preset and in worlds with a short
crowd on the altcoin.

Usage: python tools/calibration/crypto_altcoin_shorts.py [WORLD ...] [--seeds N]
WORLD is one of the names below (default: all); a full-size run takes about
3 s, the seeds run on two processes. docs/crypto-cascade-2025.md gives the
figures and what they say.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from deleverage.analysis import crash_table
from deleverage.scenario import Distribution, HolderParams, Population, Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

HEADLINE = 75_600.0  # 21:00, in seconds
JUMPS = (75_600, 78_300)  # the altcoin's headline and its 21:45 retrace, in steps
SETTLE = 600  # steps after a jump left out of the gap to value


def fast_crowd(
    accounts: int = 3_000,
    cash: float = 300.0,
    activity: float = 2.0,
    threshold: float = 0.006,
    leverage: float = 20.0,
    short_fraction: float = 1.0,
) -> Callable[[Scenario], Population]:
    """A symmetric fast momentum crowd on the altcoin, bitcoin's ``btc_fast`` moved over."""

    def make(preset: Scenario) -> Population:
        btc = next(p for p in preset.populations if p.name == "btc_fast")
        params = dataclasses.replace(
            btc.params,
            threshold=threshold,
            target_leverage=Distribution.uniform(2.0, leverage),
            max_leverage=25.0,
            short_fraction=short_fraction,
        )
        return dataclasses.replace(
            btc,
            name="alt_fast",
            instrument="ALT",
            accounts=accounts,
            cash=Distribution.lognormal(cash, 1.0),
            activity=activity,
            params=params,
        )

    return make


def dip_buyers(preset: Scenario) -> Population:
    """Holders who buy a fifth of their cash whenever the altcoin trades 10% under value."""
    btc = next(p for p in preset.populations if p.name == "btc_holders")
    params = HolderParams(slow_horizon=86_400.0, dip=0.1, budget_fraction=0.2, anchor="fair")
    return dataclasses.replace(
        btc,
        name="alt_holders",
        instrument="ALT",
        accounts=300,
        cash=Distribution.lognormal(50_000.0, 0.5),
        activity=2.0,
        params=params,
    )


#: The worlds: extra populations, appended after the preset's (so every account
#: of the preset keeps its draws).
WORLDS: dict[str, tuple[Callable[[Scenario], Population], ...]] = {
    "preset": (),
    "fast crowd": (fast_crowd(),),
    # The best of two searches (88 trials x 8 seeds at a tenth, finalists at a quarter).
    "searched crowd": (fast_crowd(1_373, 454.0, 1.18, 0.021, 10.2, 0.47),),
    "fast crowd + dip buyers": (fast_crowd(), dip_buyers),
}


def _world(name: str) -> Scenario:
    preset = load_preset("crypto-cascade-2025")
    extra = tuple(make(preset) for make in WORLDS[name])
    return preset.replace(populations=(*preset.populations, *extra))


def _figures(job: tuple[str, int]) -> tuple[float, float, float, float]:
    name, seed = job
    result = simulate(_world(name), seed, progress=False)
    row = crash_table(result, at=HEADLINE).loc["ALT"]
    s = result.series["ALT"]
    gaps = np.abs(s["last"].to_numpy() / s["fair"].to_numpy() - 1)
    settled = np.zeros(len(gaps), dtype=bool)
    settled[int(HEADLINE / result.scenario.clock.dt) :] = True
    for jump in JUMPS:
        settled[jump : jump + SETTLE] = False
    gap = float(np.nanmax(gaps[settled]))
    return (
        float(row["long_share"]),
        float(row["open_interest_ratio"]),
        float(row["low_fall"]),
        gap,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worlds", nargs="*", help=f"any of {', '.join(WORLDS)} (default: all)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds 0..N-1 (default: 8)")
    args = parser.parse_args()
    unknown = [w for w in args.worlds if w not in WORLDS]
    if unknown:
        parser.error(f"worlds: unknown {', '.join(unknown)}; known: {', '.join(WORLDS)}")
    names = args.worlds or list(WORLDS)
    print("| world | figure | " + " | ".join(f"seed {k}" for k in range(args.seeds)) + " |")
    print("|---|---|" + "---|" * args.seeds)
    labels = ("long share", "OI after/before", "fall to low", "widest settled gap to value")
    with ProcessPoolExecutor(2) as pool:
        for name in names:
            rows = list(pool.map(_figures, [(name, seed) for seed in range(args.seeds)]))
            for k, label in enumerate(labels):
                cells = " | ".join(f"{r[k]:.2f}" for r in rows)
                print(f"| {name} | {label} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
