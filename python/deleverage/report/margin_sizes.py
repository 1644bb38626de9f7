"""What a tiered margin rule asks of positions of different sizes.

A tiered rule charges ``notional * rate_k - deduction_k`` in bracket ``k``: its
effective rate (margin over notional) rises with the position. One number (the
first bracket's rate) hides what the large positions, which drive a cascade,
pay; the report draws the effective rate at a few representative sizes
instead: one inside each bracket (twice its floor, and half the second floor
for the first).
"""

from __future__ import annotations

import bisect

from deleverage.margin_rules import MarginRule

__all__ = ["effective_rate", "representative_sizes"]


def effective_rate(rule: MarginRule, notional: float) -> float:
    """Maintenance margin over notional for a position of ``notional`` (money, > 0)
    under a tiered rule (percent and closeout rules: their flat rate)."""
    if not notional > 0:
        raise ValueError(f"notional: must be > 0, got {notional}")
    if rule.maintenance == "tiered":
        floors = [floor for floor, _ in rule.tiers]
        k = bisect.bisect_right(floors, notional) - 1
        return (notional * rule.tiers[k][1] - rule.deductions()[k]) / notional
    if rule.maintenance == "percent":
        return rule.maintenance_rate
    if rule.maintenance == "closeout":
        return rule.initial_rate * rule.closeout_share
    raise ValueError("rule: a fixed rule's margin is per lot, it has no rate")


def representative_sizes(rule: MarginRule) -> list[float]:
    """One notional inside each bracket of a tiered rule (empty for other kinds)."""
    if rule.maintenance != "tiered" or len(rule.tiers) < 2:
        return []
    floors = [floor for floor, _ in rule.tiers]
    return [floors[1] / 2.0, *(2.0 * f for f in floors[1:])]
