"""gold-2026 with its sellers of the premium moved, or without them: the worlds
of docs/gold-2026.md, "Sellers of the premium". Writes the world as a scenario
file that ``deleverage validate`` runs like the preset.

Usage: python tools/calibration/gold_2026_sellers.py OUT.toml [OFFSET] [LIMIT]
OFFSET is the least premium the four sellers offer at (relative; the preset's
0.03), LIMIT the ounces each may sell in all (the preset's 500,000).
``OFFSET = none`` writes the world before them: no sellers, and the crowd's
leverage up to 15 (3, 5, 8, 12 or 15), as the preset was.
Any other field: ``deleverage validate OUT.toml --set PATH=VALUE``.
"""

from __future__ import annotations

import sys

from deleverage.scenario import Scenario
from deleverage.scenario.toml_io import save_toml
from deleverage.scenarios import load_preset
from deleverage.sweeps.paths import apply_paths

#: The crowd's leverage before the sellers came: a 15x cohort 0.7-1.7% from a call.
LEVERAGE_BEFORE = {"kind": "discrete", "values": [3.0, 5.0, 8.0, 12.0, 15.0]}
LEVERAGE_BEFORE |= {"weights": [2.0, 3.0, 2.0, 2.0, 1.0]}


def world(offset: float | None = 0.03, limit: int = 500_000) -> Scenario:
    """The preset with its sellers from ``offset`` over fair value, each selling
    at most ``limit`` oz; ``offset=None``: the preset before the sellers."""
    preset = load_preset("gold-2026")
    if offset is None:
        before = apply_paths(
            preset, {"populations.cfd_retail.params.target_leverage": LEVERAGE_BEFORE}
        )
        kept = tuple(p for p in before.populations if p.name != "premium_sellers")
        return before.replace(populations=kept)
    return apply_paths(
        preset,
        {
            "populations.premium_sellers.params.offset": offset,
            "populations.premium_sellers.params.inventory_limit": limit,
        },
    )


def _parse(argv: list[str]) -> tuple[str, float | None, int]:
    if not argv or len(argv) > 3:
        raise ValueError("usage: gold_2026_sellers.py OUT.toml [OFFSET|none] [LIMIT]")
    offset: float | None = 0.03
    if len(argv) > 1:
        if argv[1] == "none":
            offset = None
        else:
            try:
                offset = float(argv[1])
            except ValueError:
                msg = f"OFFSET: expected a number in [0, 0.5] or 'none', got {argv[1]!r}"
                raise ValueError(msg) from None
    try:
        limit = int(argv[2]) if len(argv) > 2 else 500_000
    except ValueError:
        raise ValueError(f"LIMIT: expected a whole number of ounces, got {argv[2]!r}") from None
    return argv[0], offset, limit


def main(argv: list[str]) -> None:
    out, offset, limit = _parse(argv)
    save_toml(world(offset, limit), out)
    if offset is None:
        print(f"wrote {out}: gold-2026 before its sellers of the premium")
    else:
        print(f"wrote {out}: gold-2026 with four sellers of the premium from {offset:.2%}")


if __name__ == "__main__":
    main(sys.argv[1:])
