"""The world the dealer tests replay: one instrument, noise traders who send
market orders only (so every best quote is a dealer's), and the dealers under
test, with no volatility widening and no withdrawal, quoting around fair value."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from deleverage import MarginRule
from deleverage.scenario import (
    Clock,
    Distribution,
    Fundamental,
    InstrumentSpec,
    MarketMakerParams,
    NoiseParams,
    Population,
    Scenario,
)

TICK = 0.01
BASE = 2  # the dealers' half-spread, ticks
STEADY = Fundamental(volatility=0.2)  # a fair value with no news of its own


def plain_ladder(
    p: Any, m: dict[str, float], inventory: int, size: int, room: float, calm: int = 2**62
) -> list[tuple[int, int, int]]:
    """The plain model of one dealer's quotes (``p`` a ``_core.MarketMakerSpec``,
    ``m`` the market view's fields, ``room`` the inventory it may carry now,
    ``calm`` its steps in a row at or below its cover_max_volatility before
    this one): (side, price in ticks, lots), as ``_core.maker_quotes`` lists them."""
    half = p.base_spread_ticks + min(p.vol_spread_factor * m["step_sigma"], 0.005) * m["reference"]
    lean = -inventory / max(p.inventory_limit, 1)
    anchor = p.fair_weight * m["fair"] + (1.0 - p.fair_weight) * m["reference"]
    centre = anchor + lean * (p.inventory_skew * anchor if p.inventory_skew > 0.0 else half)
    inner = max(1.0, half, p.offset * centre)
    spacing = max(1.0, p.level_spacing * centre)
    out = []
    for level in range(p.levels):
        away = inner + spacing * level
        if inventory < room and p.sides != 2:  # 2: asks only
            out.append((0, max(1, math.floor(centre - away)), size))
        if inventory > -room and p.sides != 1:  # 1: bids only
            out.append((1, max(2, math.ceil(centre + away)), size))
    # A covering one-sided dealer closes all it holds with one last quote,
    # held back above its volatility limit and until it has been calm long enough.
    if 0.0 < p.cover_max_volatility < m.get("volatility", 0.0):
        return out
    if calm + 1 <= p.cover_calm_steps:
        return out
    if p.covers and p.sides == 2 and inventory < 0:
        out.append((0, max(1, math.floor(centre * (1.0 + p.cover_offset))), -inventory))
    if p.covers and p.sides == 1 and inventory > 0:
        out.append((1, max(2, math.ceil(centre * (1.0 - p.cover_offset))), inventory))
    return out


def plain_dealers(**changes: Any) -> MarketMakerParams:
    """Dealers BASE ticks wide around fair value that never widen nor withdraw."""
    base = MarketMakerParams(
        levels=3,
        base_spread_ticks=BASE,
        vol_spread_factor=0.0,
        depth_lots=Distribution.fixed(100_000.0),
        vol_withdraw=100.0,
        loss_withdraw=1.0,
        fair_weight=1.0,
    )
    return dataclasses.replace(base, **changes)


def dealer_world(
    name: str,
    dealers: MarketMakerParams,
    mood: NoiseParams,
    *,
    fundamental: Fundamental = STEADY,
    traders: int = 500,
    trader_activity: float = 120.0,
    dealer_accounts: int = 1,
    steps: int = 3000,
) -> Scenario:
    """``mood``: the noise traders' sentiment; their orders are market orders of
    1-10 lots whatever it says. The dealers' accounts come after the traders'."""
    instrument = InstrumentSpec(
        "X",
        100.0,
        tick_size=TICK,
        mark="mid",
        margin=MarginRule(initial_rate=0.01, maintenance_rate=0.004),
        fundamental=fundamental,
    )
    noise = dataclasses.replace(mood, order_size=Distribution.uniform(1, 10), limit_share=0.0)
    populations = (
        Population(
            "noise", "noise", traders, "X", Distribution.fixed(1e9), trader_activity, params=noise
        ),
        Population(
            "dealers",
            "market_maker",
            dealer_accounts,
            "X",
            Distribution.fixed(1e12),
            3600.0,
            "cross",
            dealers,
        ),
    )
    return Scenario(name, (instrument,), populations, clock=Clock(dt=1.0, steps=steps))
