"""The exchange's policy during a run: scheduled margin changes, volatility-triggered
margin hikes, and a cap on the notional liquidated per step."""

from __future__ import annotations

import math
from dataclasses import dataclass

from deleverage.margin_rules import MarginRule
from deleverage.scenario.distributions import (
    check_float,
    check_instance,
    check_int,
    check_sequence,
    check_str,
    set_field,
)
from deleverage.scenario.fundamental import MAX_STEPS


@dataclass(frozen=True)
class MarginChange:
    """A scheduled exchange notice: from ``step`` (>= 0) on, ``instrument`` uses ``margin``."""

    step: int
    instrument: str
    margin: MarginRule

    def __post_init__(self) -> None:
        set_field(self, "step", check_int("step", self.step, 0, MAX_STEPS - 1))
        check_str("instrument", self.instrument)
        check_instance("margin", self.margin, MarginRule)


@dataclass(frozen=True)
class VolatilityTrigger:
    """Raise ``instrument``'s margin to ``margin`` when the annualised realized
    volatility of its mark over the last ``window_steps`` steps (2..1e8) passes
    ``threshold`` (annualised, in (0, 100])."""

    instrument: str
    window_steps: int
    threshold: float
    margin: MarginRule

    def __post_init__(self) -> None:
        check_str("instrument", self.instrument)
        set_field(self, "window_steps", check_int("window_steps", self.window_steps, 2, MAX_STEPS))
        set_field(
            self, "threshold", check_float("threshold", self.threshold, 0.0, 100.0, lo_open=True)
        )
        check_instance("margin", self.margin, MarginRule)


@dataclass(frozen=True)
class Policy:
    """The exchange's rules over a run.

    ``margin_changes`` are sorted by step. ``max_liquidation_notional_per_step``
    (money, > 0; ``inf`` for no cap) bounds the notional the liquidation loop
    closes in one step; the rest waits for the next step.

    ``fund_unwind_half_life`` (seconds, in [0, 1e9]; 0, the default, keeps
    today's rule: the fund holds what it takes over): the insurance fund sells
    the positions it took over from liquidations (the lots the book could not
    take) back through the book, as market orders of the share
    ``1 - 2**(-dt / half_life)`` of what it holds each step (at least a lot), so
    half of it is gone in about a half-life. A venue's liquidation desk works a
    defaulted book off over hours; the forced selling goes on after the cascade.
    ``fund_unwind_band`` (relative, in [0, 1); 0, the default: market orders)
    bounds those orders' price: the fund sells at most that far under the
    index (buys at most that far over it), immediate-or-cancel, and what the
    book cannot take within the band waits for the next step. A liquidation
    desk works its limits against other venues' prices; it does not sell an
    empty book down to nothing while the dealers are away.

    ``margin_call_grace`` (seconds, in [0, 1e9]; 0, the default: liquidated at
    the first check that finds it under its maintenance margin, as a venue's
    liquidation engine does): a margin call. An account found under its
    maintenance margin is called, and liquidated only if it is still under
    when the call has run (rounded up to whole steps); a step that finds it
    above answers the call. A futures broker gives its client until the next
    morning to post margin; a dip that comes back within the call closes
    nobody. ``close_out_ratio`` (in [0, 1]; 0, the default): during a call,
    an account whose equity falls to this share of its maintenance margin or
    under is closed at once (0: once its equity is gone).
    """

    margin_changes: tuple[MarginChange, ...] = ()
    volatility_triggers: tuple[VolatilityTrigger, ...] = ()
    max_liquidation_notional_per_step: float = math.inf
    fund_unwind_half_life: float = 0.0
    fund_unwind_band: float = 0.0
    margin_call_grace: float = 0.0
    close_out_ratio: float = 0.0

    def __post_init__(self) -> None:
        changes = check_sequence("margin_changes", self.margin_changes)
        for i, c in enumerate(changes):
            check_instance(f"margin_changes[{i}]", c, MarginChange)
            if i and c.step < changes[i - 1].step:
                raise ValueError(
                    f"margin_changes: must be sorted by step, got step {c.step} after "
                    f"{changes[i - 1].step} (margin_changes[{i}])"
                )
        set_field(self, "margin_changes", changes)
        triggers = check_sequence("volatility_triggers", self.volatility_triggers)
        for i, t in enumerate(triggers):
            check_instance(f"volatility_triggers[{i}]", t, VolatilityTrigger)
        set_field(self, "volatility_triggers", triggers)
        set_field(
            self,
            "max_liquidation_notional_per_step",
            check_float(
                "max_liquidation_notional_per_step",
                self.max_liquidation_notional_per_step,
                0.0,
                math.inf,
                lo_open=True,
                allow_inf=True,
            ),
        )
        set_field(
            self,
            "fund_unwind_half_life",
            check_float("fund_unwind_half_life", self.fund_unwind_half_life, 0.0, 1e9),
        )
        set_field(
            self,
            "fund_unwind_band",
            check_float("fund_unwind_band", self.fund_unwind_band, 0.0, 1.0, hi_open=True),
        )
        set_field(
            self,
            "margin_call_grace",
            check_float("margin_call_grace", self.margin_call_grace, 0.0, 1e9),
        )
        set_field(
            self, "close_out_ratio", check_float("close_out_ratio", self.close_out_ratio, 0.0, 1.0)
        )
