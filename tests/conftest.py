"""Worlds many tests build: the default-hour preset stripped of what a test chooses itself.

Scenarios are frozen, so a session-scoped world is shared safely; a test changes
its copy with ``replace``, ``with_steps`` or ``with_accounts``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import pytest

from deleverage.scenario import MarketMakerParams, Scenario, ValueParams
from deleverage.scenarios import load_preset

DIFFUSION_SIGMA = 0.3  # per year


@pytest.fixture(scope="session")
def bare_hour() -> Scenario:
    """The default-hour preset without its quiet window and calibration targets."""
    return load_preset("default-hour").replace(targets=(), quiet_window=())


@pytest.fixture(scope="session")
def stormy_hour(bare_hour: Scenario) -> Scenario:
    """The bare default-hour world with storms on both sides of its drop, for tests of
    what value traders do in and after a storm: they step out at 80% volatility (the
    preset's at 200%, in the crash alone) and the dealers quote any basis this book
    trades at (the preset's within 1% of value), so the price can stay off value."""
    pops = []
    for p in bare_hour.populations:
        if isinstance(p.params, ValueParams):
            p = dataclasses.replace(p, params=dataclasses.replace(p.params, vol_exit=0.8))
        elif isinstance(p.params, MarketMakerParams):
            p = dataclasses.replace(p, params=dataclasses.replace(p.params, max_basis=math.inf))
        pops.append(p)
    return bare_hour.replace(populations=tuple(pops))


@pytest.fixture(scope="session")
def diffusion_world(bare_hour: Scenario) -> Callable[..., Scenario]:
    """``diffusion_world(steps, **fundamental)``: the bare default-hour world with 60 accounts,
    no margin changes, and GOLD's fair value a plain diffusion of ``DIFFUSION_SIGMA``
    (no news, no waypoints, constant volatility) unless ``fundamental`` says otherwise."""
    base = bare_hour.with_accounts(60)
    plain: dict[str, Any] = {
        "volatility": DIFFUSION_SIGMA,
        "shocks": (),
        "vol_of_vol": 0.0,
        "waypoints": (),
    }

    def make(steps: int, **fundamental: Any) -> Scenario:
        gold = base.instruments[0]
        f = dataclasses.replace(gold.fundamental, **(plain | fundamental))
        return base.replace(
            instruments=(dataclasses.replace(gold, fundamental=f),),
            policy=dataclasses.replace(base.policy, margin_changes=()),
            clock=dataclasses.replace(base.clock, steps=steps),
        )

    return make
