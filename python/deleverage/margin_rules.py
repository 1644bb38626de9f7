"""Margin configuration: instruments and their margin rules (docs/margin.md).

Frozen dataclasses, validated on construction; every error names the field
and the allowed range. The ranges are the engine's (``_core.LIMITS``, written
once in cpp/include/deleverage/limits.hpp).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from deleverage import _core

Maintenance = Literal["fixed", "percent", "tiered", "closeout"]
Basis = Literal["mark", "entry"]
MarkRule = Literal["last", "mid", "median"]

MAINTENANCE_KINDS: tuple[str, ...] = ("fixed", "percent", "tiered", "closeout")
BASES: tuple[str, ...] = ("mark", "entry")
MARK_RULES: tuple[str, ...] = ("last", "mid", "median")

#: Which position a margin call on an account holding several closes first
#: (docs/margin.md, "Close order").
CloseOrder = Literal["instrument", "most_liquid", "largest_loss", "pro_rata"]
CLOSE_ORDERS: tuple[str, ...] = ("instrument", "most_liquid", "largest_loss", "pro_rata")

#: The order a liquidation round takes its accounts in (docs/margin.md, "The
#: liquidation loop"): by account id, or the most distressed first.
LiquidationPriority = Literal["account", "margin_ratio"]
LIQUIDATION_PRIORITIES: tuple[str, ...] = ("account", "margin_ratio")


def _check_range(
    field: str,
    value: float,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{field}: must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{field}: must be finite, got {value}")
    below = value <= lo if lo_open else value < lo
    above = value >= hi if hi_open else value > hi
    if below or above:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{field}: must be in {left}{lo}, {hi}{right}, got {value}")


def _check_limit(field: str, value: float, limit: str | None = None) -> None:
    """`value` within the engine's limit for the margin rule's `limit` (default: `field`)."""
    lo, hi, lo_open, hi_open = _core.LIMITS[f"MarginRule.{limit or field}"]
    _check_range(field, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


def _check_bool(field: str, value: object) -> None:
    # "no" is truthy: only a real bool says yes or no.
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{field}: must be a bool (True or False), got {type(value).__name__}")


def _check_choice(field: str, value: str, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{field}: must be one of {', '.join(choices)}; got {value!r}")


@dataclass(frozen=True)
class MarginRule:
    """One instrument's margin rule: initial margin, maintenance, fees, close-out."""

    initial_rate: float = 0.1
    maintenance: Maintenance = "percent"
    maintenance_rate: float = 0.05
    amount_per_lot: float = 0.0
    tiers: tuple[tuple[float, float], ...] = ()
    closeout_share: float = 0.5
    basis: Basis = "mark"
    liquidation_fee_rate: float = 0.0
    negative_balance_protection: bool = False
    partial_liquidation: bool = False
    maker_fee_rate: float = 0.0
    taker_fee_rate: float = 0.0

    def __post_init__(self) -> None:
        _check_limit("initial_rate", self.initial_rate)
        _check_choice("maintenance", self.maintenance, MAINTENANCE_KINDS)
        _check_limit("maintenance_rate", self.maintenance_rate)
        _check_limit("amount_per_lot", self.amount_per_lot)
        _check_limit("closeout_share", self.closeout_share)
        _check_choice("basis", self.basis, BASES)
        _check_limit("liquidation_fee_rate", self.liquidation_fee_rate)
        _check_limit("maker_fee_rate", self.maker_fee_rate)
        _check_limit("taker_fee_rate", self.taker_fee_rate)
        _check_bool("negative_balance_protection", self.negative_balance_protection)
        _check_bool("partial_liquidation", self.partial_liquidation)
        object.__setattr__(
            self, "negative_balance_protection", bool(self.negative_balance_protection)
        )
        object.__setattr__(self, "partial_liquidation", bool(self.partial_liquidation))
        object.__setattr__(self, "tiers", _tiers_tuple(self.tiers))
        if self.maintenance == "tiered":
            _check_tiers(self.tiers)
        elif self.partial_liquidation:
            raise ValueError("partial_liquidation: needs maintenance='tiered'")
        if self.maintenance == "percent" and self.maintenance_rate >= 1.0:
            raise ValueError("maintenance_rate: must be in [0, 1) for percent maintenance")
        if self.maintenance == "closeout" and self.closeout_share * self.initial_rate >= 1.0:
            # Maintenance at the whole notional: a long's equity and margin move together,
            # so no price separates safe from liquidatable.
            raise ValueError(
                "closeout_share: closeout_share * initial_rate must be below 1 for closeout "
                f"maintenance, got {self.closeout_share} * {self.initial_rate}"
            )

    @classmethod
    def leverage_cap(cls, leverage: float, **kwargs: object) -> MarginRule:
        """A rule whose initial margin is a leverage cap (initial_rate = 1 / leverage)."""
        _check_range("leverage", leverage, 1.0, 1e6)
        return cls(initial_rate=1.0 / leverage, **kwargs)  # type: ignore[arg-type]

    def deductions(self) -> tuple[float, ...]:
        """Per-bracket deductions: d_k = d_{k-1} + floor_k * (rate_k - rate_{k-1})."""
        out = [0.0]
        for k in range(1, len(self.tiers)):
            floor, rate = self.tiers[k]
            out.append(out[-1] + floor * (rate - self.tiers[k - 1][1]))
        return tuple(out)


def _tiers_tuple(tiers: object) -> tuple[tuple[float, float], ...]:
    """(floor, rate) pairs as a tuple of float pairs; any other shape names the field."""
    if isinstance(tiers, (str, bytes)) or not isinstance(tiers, (tuple, list)):
        raise TypeError(
            f"tiers: must be a sequence of (floor, rate) pairs, got {type(tiers).__name__}"
        )
    out = []
    for k, pair in enumerate(tiers):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"tiers[{k}]: must be a (floor, rate) pair, got {pair!r}")
        _check_range(f"tiers[{k}].floor", pair[0], -math.inf, math.inf)
        _check_range(f"tiers[{k}].rate", pair[1], -math.inf, math.inf)
        out.append((float(pair[0]), float(pair[1])))
    return tuple(out)


def _check_tiers(tiers: tuple[tuple[float, float], ...]) -> None:
    if not tiers:
        raise ValueError(
            "tiers: at least one (floor, rate) bracket is needed for tiered maintenance"
        )
    for k, (floor, rate) in enumerate(tiers):
        _check_limit(f"tiers[{k}].floor", floor, "tiers.floor")
        _check_limit(f"tiers[{k}].rate", rate, "tiers.rate")
    if tiers[0][0] != 0.0:
        raise ValueError(
            f"tiers[0].floor: must be 0 (brackets start at zero notional), got {tiers[0][0]}"
        )
    for k in range(1, len(tiers)):
        if tiers[k][0] <= tiers[k - 1][0]:
            raise ValueError(
                f"tiers[{k}].floor: floors must be strictly increasing, "
                f"got {tiers[k][0]} after {tiers[k - 1][0]}"
            )
        if tiers[k][1] < tiers[k - 1][1]:
            raise ValueError(
                f"tiers[{k}].rate: rates must not decrease, "
                f"got {tiers[k][1]} after {tiers[k - 1][1]}"
            )


@dataclass(frozen=True)
class Instrument:
    """A traded instrument: its value per tick and lot, margin rule and mark-price rule."""

    name: str
    tick_value: float = 1.0
    rule: MarginRule = MarginRule()
    mark: MarkRule = "last"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name: must be a non-empty string")
        _check_range("tick_value", self.tick_value, 1e-12, 1e12)
        if not isinstance(self.rule, MarginRule):
            raise TypeError(f"rule: must be a MarginRule, got {type(self.rule).__name__}")
        _check_choice("mark", self.mark, MARK_RULES)
