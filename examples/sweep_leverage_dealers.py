"""How much of the crash is leverage, and how much is dealers leaving?

Sweeps the speculators' leverage cap and the market makers' volatility
withdrawal limit over the `default-hour` preset (its 5% fair-value drop at the half
hour), several seeds per point, and plots the mean maximum drawdown against
both. Run it from anywhere:

    python examples/sweep_leverage_dealers.py [--seeds 8] [--workers 2] [--out DIR]

The table is printed; the plot is saved as ``sweep_leverage_dealers.png`` (or
``--plot PATH``) when matplotlib is installed (``pip install matplotlib``).
"""

from __future__ import annotations

import argparse
import sys

import deleverage
from deleverage.scenarios import load_preset

LEVERAGE = "populations.speculators.params.max_leverage"
WITHDRAW = "populations.market_makers.params.vol_withdraw"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", default=None, help="keep the Parquet rows in this directory")
    parser.add_argument("--plot", default="sweep_leverage_dealers.png")
    args = parser.parse_args()

    space = {
        LEVERAGE: [2.0, 5.0, 10.0, 20.0, 50.0],
        WITHDRAW: [0.25, 0.5, 1.0, 2.0],
    }
    table = deleverage.sweep(
        load_preset("default-hour"), space, seeds=args.seeds, workers=args.workers, out=args.out
    )
    info = table.attrs["sweep"]
    print(f"{info['runs']} runs, {info['failed']} failed, {info['wall_seconds']:.1f} s")
    ok = table[table["error"].isna()]
    drawdown = ok.groupby([WITHDRAW, LEVERAGE])["max_drawdown"].mean().unstack(LEVERAGE)
    print("mean max drawdown (rows: dealers' withdrawal volatility; columns: leverage cap)")
    print(drawdown.to_string(float_format=lambda x: f"{x:.2%}"))

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "matplotlib is not installed, so no plot was drawn (pip install matplotlib)",
            file=sys.stderr,
        )
        return 0
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for withdraw, row in drawdown.iterrows():
        ax.plot(row.index, 100 * row.to_numpy(), marker="o", label=f"dealers leave at {withdraw:g}")
    ax.set_xscale("log")
    ax.set_xticks(list(drawdown.columns), [f"{c:g}" for c in drawdown.columns])
    ax.minorticks_off()
    ax.set_xlabel("speculators' leverage cap")
    ax.set_ylabel(f"max drawdown, % (mean of {args.seeds} seeds)")
    ax.set_title("Default preset: drawdown against leverage and dealer withdrawal")
    ax.legend(title="annualised volatility")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    print(f"plot saved to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
