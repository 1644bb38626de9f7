"""Does leverage cause fat tails and clustered volatility?

Sweeps the funds' leverage cap lambda_max over the ``leverage-cycle`` preset
with ``deleverage.sweep``, the same seeds at every cap (common random
numbers), and measures each run's one-minute returns with
``deleverage.analysis.stylized_facts``: excess kurtosis, the Hill tail index,
the autocorrelation of absolute returns (mean over lags 1-10), the lag-one
autocorrelation of the returns themselves (a trend shows there), volatility, and
how many funds were liquidated. The funds' slope beta (target leverage per
unit of mispricing) stays at the preset's 2,000: each point moves ``leverage``
and ``aggressiveness = beta / leverage`` together, so only the cap changes.
Run it from anywhere:

    python examples/sweep_leverage_cycle.py [--seeds 8] [--workers 2] [--out DIR]

It prints the mean of each measure per cap, then every run.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import deleverage
from deleverage.analysis import stylized_facts
from deleverage.scenarios import load_preset
from deleverage.sweeps import series_path

LEVERAGE = "populations.funds.params.leverage"
AGGRESSIVENESS = "populations.funds.params.aggressiveness"
#: The funds' target leverage per unit of relative mispricing.
BETA = 2000.0
CAPS = (1.0, 2.0, 5.0, 10.0, 20.0)
#: Returns over this many one-second steps.
HORIZON = 60


def cap_points(caps: tuple[float, ...] = CAPS, beta: float = BETA) -> pd.DataFrame:
    """The sweep's table of points: each cap with the aggressiveness that keeps beta fixed."""
    return pd.DataFrame({LEVERAGE: list(caps), AGGRESSIVENESS: [beta / c for c in caps]})


def run_facts(series: pd.DataFrame, instrument: str = "ASSET") -> dict[str, float]:
    """The stylized facts of one run's one-minute returns (its stored per-step series)."""
    facts = stylized_facts(series[f"{instrument}.last"], horizon=HORIZON, lags=10)
    return {
        "excess_kurtosis": facts["excess_kurtosis"],
        "hill": facts["hill"],
        "abs_acf": float(facts["abs_acf"].mean()),
        "acf_1": float(facts["acf"].iloc[0]),
        "volatility": facts["volatility"],
    }


def sweep_caps(
    seeds: list[int], out: Path, workers: int | None = None, caps: tuple[float, ...] = CAPS
) -> pd.DataFrame:
    """One row per run: the cap, the seed, the stylized facts and the liquidations."""
    table = deleverage.sweep(
        load_preset("leverage-cycle"),
        cap_points(caps),
        seeds=seeds,
        out=str(out),
        series=True,
        workers=workers,
        progress=False,
    )
    failed = table[table["error"].notna()]
    if len(failed):
        raise RuntimeError(f"{len(failed)} runs failed, first: {failed['error'].iloc[0]}")
    facts = [run_facts(pd.read_parquet(series_path(out, int(run)))) for run in table["run"]]
    rows = pd.concat([table[[LEVERAGE, "seed", "liquidations"]], pd.DataFrame(facts)], axis=1)
    return rows.rename(columns={LEVERAGE: "lambda_max", "liquidations": "liquidated"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds 0..N-1 at every cap")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", default=None, help="keep the Parquet rows and series here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "leverage-cycle"
        rows = sweep_caps(list(range(args.seeds)), out, args.workers)
    pd.set_option("display.width", 120)
    means = rows.drop(columns="seed").groupby("lambda_max").mean()
    means["wiped_out_runs"] = rows.groupby("lambda_max")["liquidated"].apply(
        lambda x: int(np.sum(x > 0))
    )
    print(f"mean over seeds 0-{args.seeds - 1} of one-minute returns, per leverage cap")
    print(means.to_string(float_format=lambda x: f"{x:.3g}"))
    print()
    print(rows.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
