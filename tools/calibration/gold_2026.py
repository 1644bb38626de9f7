"""Calibration check of the draft gold-2026 world against docs' targets.

Usage: python tools/calibration/gold_2026.py [ACCOUNTS] [SEEDS]
(ACCOUNTS 0 keeps the draft's own size, about 1.15M accounts.)

Prints, per seed: January's return to the last close, gold's premium over fair
value at the close before the crash day, the crash day's close and low against
the prior close, the close against ten days earlier, the other instruments'
crash-day returns, the spread and depth at the worst point against their
pre-shock medians, and leverage and open interest at their peaks and at the end.
The draft is not a preset yet: its crash day is far too shallow.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from deleverage.scenario import load_toml
from deleverage.simulate import simulate

DAY = 1440  # one-minute steps
CRASH_DAY = slice(29 * DAY, 30 * DAY)
PRE_SHOCK = slice(40_000, 41_880)


def main() -> None:
    scenario = load_toml(Path(__file__).with_name("gold-2026-draft.toml"))
    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if accounts:
        scenario = scenario.with_accounts(accounts)
    for seed in range(int(sys.argv[2]) if len(sys.argv) > 2 else 1):
        start = time.perf_counter()
        r = simulate(scenario, seed, progress=False)
        wall = time.perf_counter() - start
        g = r.series["GOLD"]
        last, fair = g["last"].to_numpy(), g["fair"].to_numpy()
        closes, fair_closes = last[DAY - 1 :: DAY], fair[DAY - 1 :: DAY]
        print(
            f"seed {seed}, {scenario.total_accounts:,} accounts, {wall:.1f} s: "
            f"January {closes[-1] / last[0] - 1:+.3f}, "
            f"premium before {closes[-2] / fair_closes[-2] - 1:+.3f}, "
            f"crash day {closes[-1] / closes[-2] - 1:+.3f} "
            f"(low {last[CRASH_DAY].min() / closes[-2] - 1:+.3f}), "
            f"vs 10 days earlier {closes[-1] / closes[19] - 1:+.3f}"
        )
        for name in ("INDEX", "BTC"):
            c = r.series[name]["last"].to_numpy()[DAY - 1 :: DAY]
            print(f"  {name} crash day {c[-1] / c[-2] - 1:+.4f}")
        spread = g["spread"].to_numpy()
        depth = (g["depth_bid"] + g["depth_ask"]).to_numpy()
        print(
            f"  spread x{np.nanmax(spread[CRASH_DAY]) / np.nanmedian(spread[PRE_SHOCK]):.1f}, "
            f"depth x{np.nanmin(depth[CRASH_DAY]) / np.nanmedian(depth[PRE_SHOCK]):.2f}, "
            f"liquidations {r.metrics()['liquidations']:,}"
        )
        lev = r.leverage
        oi = g["open_interest"]
        print(
            "  leverage peak/end",
            {c: (round(lev[c].max(), 2), round(lev[c].iloc[-1], 2)) for c in lev.columns[:2]},
            f"open interest peak/end {oi.max():,.0f}/{oi.iloc[-1]:,.0f}",
        )


if __name__ == "__main__":
    main()
