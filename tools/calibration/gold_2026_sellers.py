"""gold-2026 with sellers of the premium: producers' forward sales and physical
arbitrage, market makers who only offer, from a premium over other venues'
price up (docs/gold-2026.md, "Sellers of the premium"). Writes the world as a
scenario file that ``deleverage validate`` runs like the preset.

Usage: python tools/calibration/gold_2026_sellers.py OUT.toml [OFFSET] [LIMIT]
OFFSET is the least premium they sell at (relative; default 0.035), LIMIT the
ounces each of the four may sell in all (default 500,000: two million between
them); the crowd's leverage goes up to 12 (not 15), as in the page's table.
Any other field: ``deleverage validate OUT.toml --set PATH=VALUE``.
"""

from __future__ import annotations

import sys

from deleverage.scenario import Distribution, MarketMakerParams, Population, Scenario
from deleverage.scenario.toml_io import save_toml
from deleverage.scenarios import load_preset
from deleverage.sweeps.paths import apply_paths

#: The crowd's leverage without its 15x cohort (0.7-1.7% from a margin call).
LEVERAGE = {"kind": "discrete", "values": [3.0, 5.0, 8.0, 10.0, 12.0]}
LEVERAGE |= {"weights": [2.0, 3.0, 2.0, 2.0, 1.0]}


def sellers(offset: float, limit: int) -> Population:
    """Four sellers of the premium: asks only, from ``offset`` over fair value
    up in half-percent steps, 30,000-90,000 oz a level; never out in a storm.
    Their cash holds the margin and the losses of ``limit`` ounces short."""
    params = MarketMakerParams(
        sides="asks",
        offset=offset,
        level_spacing=0.005,
        levels=8,
        depth_lots=Distribution.uniform(30_000.0, 90_000.0),
        inventory_limit=limit,
        vol_withdraw=100.0,
        loss_withdraw=1.0,
        calm_steps=1,
        fair_weight=1.0,
        base_spread_ticks=1,
        vol_spread_factor=0.0,
    )
    cash = Distribution.fixed(20_000_000_000.0)
    return Population("premium_sellers", "market_maker", 4, "GOLD", cash, 60.0, "cross", params)


def world(offset: float = 0.035, limit: int = 500_000) -> Scenario:
    """The preset, its crowd's leverage up to 12, and the sellers last (every
    other population keeps its accounts and its draws)."""
    base = apply_paths(
        load_preset("gold-2026"), {"populations.cfd_retail.params.target_leverage": LEVERAGE}
    )
    return base.replace(populations=(*base.populations, sellers(offset, limit)))


def _parse(argv: list[str]) -> tuple[str, float, int]:
    if not argv or len(argv) > 3:
        raise ValueError("usage: gold_2026_sellers.py OUT.toml [OFFSET] [LIMIT]")
    try:
        offset = float(argv[1]) if len(argv) > 1 else 0.035
    except ValueError:
        raise ValueError(f"OFFSET: expected a number in [0, 0.5], got {argv[1]!r}") from None
    try:
        limit = int(argv[2]) if len(argv) > 2 else 500_000
    except ValueError:
        raise ValueError(f"LIMIT: expected a whole number of ounces, got {argv[2]!r}") from None
    return argv[0], offset, limit


def main(argv: list[str]) -> None:
    out, offset, limit = _parse(argv)
    save_toml(world(offset, limit), out)
    print(f"wrote {out}: gold-2026 with four sellers of the premium from {offset:.2%}")


if __name__ == "__main__":
    main(sys.argv[1:])
