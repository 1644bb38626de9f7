"""Your own market: a book of a few thousand accounts and a recorded price path,
run with the default world's traders, then stress-tested (docs/data.md).

    python examples/own_market.py [FOLDER]

writes into FOLDER (default: ./own-market): book.parquet (3,000 accounts),
gold_path.csv (an hour of a gold price that falls 6% from minute 30),
scenario.toml (the default world following the path, with the book),
run/ (the saved run), stress.parquet, stress.png and the reverse stress test.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from deleverage.data import Depth, reverse_stress, stress
from deleverage.data.stress import describe
from deleverage.scenario import Fundamental, save_toml
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate


def write_book(path: Path, n: int = 3000, seed: int = 1) -> pd.DataFrame:
    """Longs and shorts in GOLD at 1x-12x, a tenth of them cross-margined, a third
    following the default world's speculators, the rest holding."""
    rng = np.random.default_rng(seed)
    lots = rng.integers(1, 40, n) * np.where(rng.random(n) < 0.7, 1, -1)
    entry = np.round(2000.0 * np.exp(rng.normal(0.0, 0.005, n)), 1)
    leverage = np.exp(rng.uniform(0.0, np.log(12.0), n))
    book = pd.DataFrame(
        {
            "id": rng.choice(10**9, n, replace=False),
            "cash": np.round(
                np.abs(lots) * entry / leverage + np.abs(lots) * np.abs(entry - 2000.0), 2
            ),
            "position.GOLD": lots,
            "entry_price.GOLD": entry,
            "mode": np.where(rng.random(n) < 0.1, "cross", "isolated"),
            "population": np.where(rng.random(n) < 1 / 3, "speculators", ""),
        }
    )
    book.to_parquet(path, index=False)
    return book


def write_path(path: Path, seed: int = 2) -> pd.DataFrame:
    """An hour of prices every 10 seconds: a random walk, then 6% down over ten minutes."""
    rng = np.random.default_rng(seed)
    seconds = np.arange(0, 3601, 10)
    log_price = np.cumsum(rng.normal(0.0, 0.0008, len(seconds)))
    log_price -= log_price[0]
    fall = np.clip((seconds - 1800) / 600, 0.0, 1.0) * np.log(0.94)
    frame = pd.DataFrame({"time": seconds, "price": np.round(2000.0 * np.exp(log_price + fall), 2)})
    frame.to_csv(path, index=False)
    return frame


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_book(folder / "book.parquet")
    write_path(folder / "gold_path.csv")
    world = load_preset("default-hour").replace(targets=(), quiet_window=())
    gold = world.instruments[0]
    # The path replaces the diffusion, its waypoints and its news (a jump could stay on top).
    fundamental = Fundamental(volatility=gold.fundamental.volatility, path="gold_path.csv")
    scenario = world.replace(
        instruments=(dataclasses.replace(gold, fundamental=fundamental),),
        accounts_file="book.parquet",
    )
    save_toml(scenario, folder / "scenario.toml")

    from deleverage.scenario import load_toml

    mine = load_toml(folder / "scenario.toml")  # file names relative to the TOML's folder
    result = simulate(mine, seed=1, account_states=True)
    result.save(folder / "run")
    log = result.liquidations
    print(f"run: {len(log)} closes, {log['id'].notna().sum()} of them the book's own accounts")

    shocks = [-0.02, -0.05, -0.08, -0.12, -0.16, -0.20]
    table = stress(world, folder / "book.parquet", shocks, depth=Depth(50, 400, 0.001))
    table.to_parquet(folder / "stress.parquet")
    import matplotlib

    matplotlib.use("Agg")
    table.plot().savefig(folder / "stress.png", dpi=110)
    print(table.table.set_index("shock").T.to_string(float_format=lambda x: f"{x:,.4g}"))
    depth = Depth(50, 400, 0.001)
    print(describe(reverse_stress(world, folder / "book.parquet", "fund", depth=depth)))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("own-market"))
