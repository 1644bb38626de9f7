"""The scenario schema: validation messages, sampling, with_accounts, the exact TOML
round trip, TOML errors with their key paths, and the built-in presets."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deleverage.margin_rules import BASES, MAINTENANCE_KINDS, MARK_RULES, Instrument, MarginRule
from deleverage.scenario import (
    PARAMS_CLASSES,
    STRATEGIES,
    AllocatorParams,
    Clock,
    Distribution,
    Fundamental,
    HolderParams,
    InstrumentSpec,
    MarginChange,
    MarketMakerParams,
    NoiseParams,
    Policy,
    Population,
    Scenario,
    Shock,
    SpeculatorParams,
    ValueParams,
    VolatilityTrigger,
    Waypoint,
    from_toml_str,
    load_toml,
    save_toml,
    to_toml_str,
)
from deleverage.scenario.scenario import MIN_DT
from deleverage.scenario.toml_io import _decode_dataclass, _encode
from deleverage.scenarios import PRESETS, load_preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NAN = math.nan
INF = math.inf

# ---------------------------------------------------------------- helpers


def gold(**kw: Any) -> InstrumentSpec:
    return InstrumentSpec(**{"name": "GOLD", "start_price": 2000.0, "tick_size": 0.1, **kw})


def pop(name: str = "spec", strategy: str = "speculator", **kw: Any) -> Population:
    args: dict[str, Any] = {
        "name": name,
        "strategy": strategy,
        "accounts": 10,
        "instrument": "GOLD",
        "cash": Distribution.fixed(1000.0),
        **kw,
    }
    return Population(**args)


def world(**kw: Any) -> Scenario:
    args: dict[str, Any] = {
        "name": "w",
        "instruments": (gold(),),
        "populations": (pop(),),
        **kw,
    }
    return Scenario(**args)


# ---------------------------------------------------------------- field validation

# (factory, field the message must start with, exception type)
Case = tuple[Callable[[], object], str, type[Exception]]

CASES: dict[str, Case] = {
    # Distribution
    "dist-kind": (lambda: Distribution("gamma"), "kind", ValueError),  # type: ignore[arg-type]
    "dist-kind-type": (lambda: Distribution(3), "kind", TypeError),  # type: ignore[arg-type]
    "dist-fixed-nan": (lambda: Distribution.fixed(NAN), "value", ValueError),
    "dist-fixed-inf": (lambda: Distribution.fixed(INF), "value", ValueError),
    "dist-fixed-str": (lambda: Distribution.fixed("1"), "value", TypeError),  # type: ignore[arg-type]
    "dist-fixed-bool": (lambda: Distribution.fixed(True), "value", TypeError),
    "dist-fixed-median": (
        lambda: Distribution("fixed", value=1.0, median=2.0),
        "median",
        ValueError,
    ),
    "dist-uniform-order": (lambda: Distribution.uniform(2.0, 1.0), "high", ValueError),
    "dist-uniform-nan": (lambda: Distribution.uniform(NAN, 1.0), "low", ValueError),
    "dist-uniform-values": (
        lambda: Distribution("uniform", low=1.0, high=2.0, values=(1.0,)),
        "values",
        ValueError,
    ),
    "dist-uniform-sigma": (
        lambda: Distribution("uniform", low=1.0, high=2.0, sigma=1.0),
        "sigma",
        ValueError,
    ),
    "dist-lognormal-median0": (lambda: Distribution.lognormal(0.0, 0.1), "median", ValueError),
    "dist-lognormal-median-neg": (lambda: Distribution.lognormal(-1.0, 0.1), "median", ValueError),
    "dist-lognormal-sigma-neg": (lambda: Distribution.lognormal(1.0, -0.1), "sigma", ValueError),
    "dist-lognormal-sigma-big": (lambda: Distribution.lognormal(1.0, 11.0), "sigma", ValueError),
    "dist-lognormal-sigma-nan": (lambda: Distribution.lognormal(1.0, NAN), "sigma", ValueError),
    "dist-lognormal-value": (
        lambda: Distribution("lognormal", median=1.0, value=3.0),
        "value",
        ValueError,
    ),
    "dist-discrete-empty": (lambda: Distribution.discrete((), ()), "values", ValueError),
    "dist-discrete-len": (lambda: Distribution.discrete((1.0, 2.0), (1.0,)), "weights", ValueError),
    "dist-discrete-neg": (lambda: Distribution.discrete((1.0,), (-1.0,)), "weights[0]", ValueError),
    "dist-discrete-zero-sum": (
        lambda: Distribution.discrete((1.0,), (0.0,)),
        "weights",
        ValueError,
    ),
    "dist-discrete-nan": (lambda: Distribution.discrete((1.0, NAN)), "values[1]", ValueError),
    "dist-discrete-wnan": (lambda: Distribution.discrete((1.0,), (NAN,)), "weights[0]", ValueError),
    "dist-discrete-str": (
        lambda: Distribution("discrete", values="ab", weights=(1.0, 1.0)),  # type: ignore[arg-type]
        "values",
        TypeError,
    ),
    "dist-discrete-low": (
        lambda: Distribution("discrete", values=(1.0,), weights=(1.0,), low=-1.0),
        "low",
        ValueError,
    ),
    # Shock
    "shock-step-neg": (lambda: Shock(-1, "jump", -0.1), "step", ValueError),
    "shock-step-float": (lambda: Shock(1.5, "jump", -0.1), "step", TypeError),  # type: ignore[arg-type]
    "shock-step-bool": (lambda: Shock(True, "jump", -0.1), "step", TypeError),
    "shock-kind": (lambda: Shock(1, "crash", -0.1), "kind", ValueError),  # type: ignore[arg-type]
    "shock-value-nan": (lambda: Shock(1, "jump", NAN), "value", ValueError),
    "shock-jump-big": (lambda: Shock(1, "jump", 11.0), "value", ValueError),
    "shock-drift-big": (lambda: Shock(1, "drift", 6.0), "value", ValueError),
    "shock-vol-neg": (lambda: Shock(1, "volatility", -0.1), "value", ValueError),
    "shock-value-str": (lambda: Shock(1, "jump", "x"), "value", TypeError),  # type: ignore[arg-type]
    # Fundamental
    "fund-kind": (lambda: Fundamental(kind="gbm"), "kind", ValueError),  # type: ignore[arg-type]
    "fund-drift": (lambda: Fundamental(drift=6.0), "drift", ValueError),
    "fund-drift-nan": (lambda: Fundamental(drift=NAN), "drift", ValueError),
    "fund-vol-neg": (lambda: Fundamental(volatility=-0.1), "volatility", ValueError),
    "fund-vol-big": (lambda: Fundamental(volatility=5.1), "volatility", ValueError),
    "fund-vol-inf": (lambda: Fundamental(volatility=INF), "volatility", ValueError),
    "fund-reversion-gbm": (lambda: Fundamental(reversion=1.0), "reversion", ValueError),
    "fund-reversion-zero": (
        lambda: Fundamental(kind="mean_reverting", reversion=0.0),
        "reversion",
        ValueError,
    ),
    "fund-anchor-gbm": (lambda: Fundamental(anchor=100.0), "anchor", ValueError),
    "fund-anchor-zero": (
        lambda: Fundamental(kind="mean_reverting", reversion=1.0, anchor=0.0),
        "anchor",
        ValueError,
    ),
    "fund-anchor-nan": (
        lambda: Fundamental(kind="mean_reverting", reversion=1.0, anchor=NAN),
        "anchor",
        ValueError,
    ),
    "fund-shocks-unsorted": (
        lambda: Fundamental(shocks=(Shock(5, "jump", 0.1), Shock(4, "jump", 0.1))),
        "shocks",
        ValueError,
    ),
    "fund-shocks-dict": (
        lambda: Fundamental(shocks=({"step": 1},)),  # type: ignore[arg-type]
        "shocks[0]",
        TypeError,
    ),
    "fund-shocks-str": (lambda: Fundamental(shocks="x"), "shocks", TypeError),  # type: ignore[arg-type]
    # InstrumentSpec
    "inst-name": (lambda: gold(name=""), "name", ValueError),
    "inst-name-type": (lambda: gold(name=3), "name", TypeError),
    "inst-price-zero": (lambda: gold(start_price=0.0), "start_price", ValueError),
    "inst-price-neg": (lambda: gold(start_price=-1.0), "start_price", ValueError),
    "inst-price-nan": (lambda: gold(start_price=NAN), "start_price", ValueError),
    "inst-price-offtick": (lambda: gold(start_price=2000.05), "start_price", ValueError),
    "inst-price-toomanyticks": (
        lambda: gold(start_price=2.0**41, tick_size=1.0),
        "start_price",
        ValueError,
    ),
    "inst-price-subtick": (lambda: gold(start_price=0.04), "start_price", ValueError),
    "inst-tick-zero": (lambda: gold(tick_size=0.0), "tick_size", ValueError),
    "inst-tick-inf": (lambda: gold(tick_size=INF), "tick_size", ValueError),
    "inst-lot-neg": (lambda: gold(lot_size=-1.0), "lot_size", ValueError),
    "inst-lot-huge": (
        lambda: gold(tick_size=1e3, start_price=2e3, lot_size=1e9 + 1),
        "lot_size",
        ValueError,
    ),
    "inst-tickvalue": (
        lambda: gold(tick_size=1e6, start_price=2e6, lot_size=1e7),
        "lot_size",
        ValueError,
    ),
    "inst-margin": (lambda: gold(margin={"initial_rate": 0.1}), "margin", TypeError),
    "inst-mark": (lambda: gold(mark="close"), "mark", ValueError),
    "inst-fundamental": (lambda: gold(fundamental=None), "fundamental", TypeError),
    # SpeculatorParams
    "spec-fast": (lambda: SpeculatorParams(fast_horizon=0.0), "fast_horizon", ValueError),
    "spec-fast-nan": (lambda: SpeculatorParams(fast_horizon=NAN), "fast_horizon", ValueError),
    "spec-slow": (lambda: SpeculatorParams(slow_horizon=200.0), "slow_horizon", ValueError),
    "spec-equal": (
        lambda: SpeculatorParams(fast_horizon=60.0, slow_horizon=60.0),
        "slow_horizon",
        ValueError,
    ),
    "spec-threshold": (lambda: SpeculatorParams(threshold=-0.1), "threshold", ValueError),
    "spec-short": (lambda: SpeculatorParams(short_fraction=1.5), "short_fraction", ValueError),
    "spec-short-nan": (lambda: SpeculatorParams(short_fraction=NAN), "short_fraction", ValueError),
    "spec-trade-zero": (lambda: SpeculatorParams(trade_fraction=0.0), "trade_fraction", ValueError),
    "spec-trade-over": (lambda: SpeculatorParams(trade_fraction=1.5), "trade_fraction", ValueError),
    "spec-trade-nan": (lambda: SpeculatorParams(trade_fraction=NAN), "trade_fraction", ValueError),
    "spec-trade-text": (
        lambda: SpeculatorParams(trade_fraction="half"),  # type: ignore[arg-type]
        "trade_fraction",
        TypeError,
    ),
    "spec-threshold-nan": (lambda: SpeculatorParams(threshold=NAN), "threshold", ValueError),
    "spec-leverage-dist": (
        lambda: SpeculatorParams(target_leverage=Distribution.uniform(0.0, 2.0)),
        "target_leverage",
        ValueError,
    ),
    "spec-leverage-type": (
        lambda: SpeculatorParams(target_leverage=3.0),  # type: ignore[arg-type]
        "target_leverage",
        TypeError,
    ),
    "spec-max-leverage": (lambda: SpeculatorParams(max_leverage=0.5), "max_leverage", ValueError),
    # NoiseParams
    "noise-size": (
        lambda: NoiseParams(order_size=Distribution.fixed(0.0)),
        "order_size",
        ValueError,
    ),
    "noise-share": (lambda: NoiseParams(limit_share=1.5), "limit_share", ValueError),
    "noise-share-nan": (lambda: NoiseParams(limit_share=NAN), "limit_share", ValueError),
    "noise-offset": (lambda: NoiseParams(limit_offset_ticks=-1), "limit_offset_ticks", ValueError),
    "noise-offset-float": (
        lambda: NoiseParams(limit_offset_ticks=2.5),  # type: ignore[arg-type]
        "limit_offset_ticks",
        TypeError,
    ),
    # ValueParams
    "value-capital0": (lambda: ValueParams(capital_fraction=0.0), "capital_fraction", ValueError),
    "value-capital-big": (
        lambda: ValueParams(capital_fraction=1.1),
        "capital_fraction",
        ValueError,
    ),
    "value-aggr": (lambda: ValueParams(aggressiveness=0.0), "aggressiveness", ValueError),
    "value-side": (lambda: ValueParams(side="up"), "side", ValueError),  # type: ignore[arg-type]
    "value-aggr-inf": (lambda: ValueParams(aggressiveness=INF), "aggressiveness", ValueError),
    "value-volref": (lambda: ValueParams(vol_reference=0.0), "vol_reference", ValueError),
    "value-volexit": (lambda: ValueParams(vol_exit=0.2), "vol_exit", ValueError),
    "value-leverage": (lambda: ValueParams(leverage=0.9), "leverage", ValueError),
    "value-reach": (lambda: ValueParams(reach=1.5), "reach", ValueError),
    "value-reach-nan": (lambda: ValueParams(reach=NAN), "reach", ValueError),
    "value-band-negative": (lambda: ValueParams(band=-0.01), "band", ValueError),
    "value-band-big": (lambda: ValueParams(band=0.6), "band", ValueError),
    "value-band-nan": (lambda: ValueParams(band=NAN), "band", ValueError),
    "value-hold": (
        lambda: ValueParams(hold_when_out=1),  # type: ignore[arg-type]
        "hold_when_out",
        TypeError,
    ),
    # MarketMakerParams
    "mm-levels0": (lambda: MarketMakerParams(levels=0), "levels", ValueError),
    "mm-levels101": (lambda: MarketMakerParams(levels=101), "levels", ValueError),
    "mm-levels-float": (lambda: MarketMakerParams(levels=5.0), "levels", TypeError),  # type: ignore[arg-type]
    "mm-spread": (lambda: MarketMakerParams(base_spread_ticks=0), "base_spread_ticks", ValueError),
    "mm-depth": (
        lambda: MarketMakerParams(depth_lots=Distribution.fixed(-1.0)),
        "depth_lots",
        ValueError,
    ),
    "mm-volspread": (
        lambda: MarketMakerParams(vol_spread_factor=-1.0),
        "vol_spread_factor",
        ValueError,
    ),
    "mm-inventory": (lambda: MarketMakerParams(inventory_limit=0), "inventory_limit", ValueError),
    "mm-volwithdraw": (lambda: MarketMakerParams(vol_withdraw=0.0), "vol_withdraw", ValueError),
    "mm-loss0": (lambda: MarketMakerParams(loss_withdraw=0.0), "loss_withdraw", ValueError),
    "mm-loss-big": (lambda: MarketMakerParams(loss_withdraw=1.5), "loss_withdraw", ValueError),
    "mm-calm": (lambda: MarketMakerParams(calm_steps=0), "calm_steps", ValueError),
    # HolderParams
    "holder-slow": (lambda: HolderParams(slow_horizon=0.0), "slow_horizon", ValueError),
    "holder-dip0": (lambda: HolderParams(dip=0.0), "dip", ValueError),
    "holder-dip1": (lambda: HolderParams(dip=1.0), "dip", ValueError),
    "holder-budget0": (lambda: HolderParams(budget_fraction=0.0), "budget_fraction", ValueError),
    "holder-budget-nan": (lambda: HolderParams(budget_fraction=NAN), "budget_fraction", ValueError),
    "holder-anchor": (lambda: HolderParams(anchor="mid"), "anchor", ValueError),  # type: ignore[arg-type]
    "holder-anchor-int": (lambda: HolderParams(anchor=1), "anchor", TypeError),  # type: ignore[arg-type]
    "holder-maxvol": (lambda: HolderParams(max_volatility=-0.1), "max_volatility", ValueError),
    "holder-maxvol-big": (lambda: HolderParams(max_volatility=101.0), "max_volatility", ValueError),
    "holder-maxvol-nan": (lambda: HolderParams(max_volatility=NAN), "max_volatility", ValueError),
    "holder-leverage": (lambda: HolderParams(leverage=0.5), "leverage", ValueError),
    "holder-leverage-big": (lambda: HolderParams(leverage=2e4), "leverage", ValueError),
    "holder-leverage-nan": (lambda: HolderParams(leverage=NAN), "leverage", ValueError),
    # Population
    "pop-name": (lambda: pop(name=""), "name", ValueError),
    "pop-strategy": (lambda: pop(strategy="whale"), "strategy", ValueError),
    "pop-accounts0": (lambda: pop(accounts=0), "accounts", ValueError),
    "pop-accounts-big": (lambda: pop(accounts=100_000_001), "accounts", ValueError),
    "pop-accounts-float": (lambda: pop(accounts=10.0), "accounts", TypeError),
    "pop-instrument": (lambda: pop(instrument=""), "instrument", ValueError),
    "pop-cash-fixed": (lambda: pop(cash=Distribution.fixed(0.0)), "cash", ValueError),
    "pop-cash-uniform": (lambda: pop(cash=Distribution.uniform(0.0, 10.0)), "cash", ValueError),
    "pop-cash-discrete": (lambda: pop(cash=Distribution.discrete((5.0, -1.0))), "cash", ValueError),
    "pop-cash-type": (lambda: pop(cash=5.0), "cash", TypeError),
    "pop-activity0": (lambda: pop(activity=0.0), "activity", ValueError),
    "pop-activity-big": (lambda: pop(activity=3601.0), "activity", ValueError),
    "pop-activity-nan": (lambda: pop(activity=NAN), "activity", ValueError),
    "pop-mode": (lambda: pop(margin_mode="portfolio"), "margin_mode", ValueError),
    "pop-params-class": (lambda: pop(params=NoiseParams()), "params", TypeError),
    "pop-params-dict": (lambda: pop(params={}), "params", TypeError),
    # MarginChange, VolatilityTrigger, Policy
    "change-step": (lambda: MarginChange(-1, "GOLD", MarginRule()), "step", ValueError),
    "change-instrument": (lambda: MarginChange(1, "", MarginRule()), "instrument", ValueError),
    "change-margin": (lambda: MarginChange(1, "GOLD", {}), "margin", TypeError),  # type: ignore[arg-type]
    "trigger-window": (
        lambda: VolatilityTrigger("GOLD", 1, 1.0, MarginRule()),
        "window_steps",
        ValueError,
    ),
    "trigger-threshold": (
        lambda: VolatilityTrigger("GOLD", 60, 0.0, MarginRule()),
        "threshold",
        ValueError,
    ),
    "trigger-threshold-nan": (
        lambda: VolatilityTrigger("GOLD", 60, NAN, MarginRule()),
        "threshold",
        ValueError,
    ),
    "trigger-margin": (
        lambda: VolatilityTrigger("GOLD", 60, 1.0, None),  # type: ignore[arg-type]
        "margin",
        TypeError,
    ),
    "policy-unsorted": (
        lambda: Policy(
            margin_changes=(
                MarginChange(5, "GOLD", MarginRule()),
                MarginChange(1, "GOLD", MarginRule()),
            )
        ),
        "margin_changes",
        ValueError,
    ),
    "policy-change-type": (
        lambda: Policy(margin_changes=({},)),  # type: ignore[arg-type]
        "margin_changes[0]",
        TypeError,
    ),
    "policy-trigger-type": (
        lambda: Policy(volatility_triggers=(1,)),  # type: ignore[arg-type]
        "volatility_triggers[0]",
        TypeError,
    ),
    "policy-cap0": (
        lambda: Policy(max_liquidation_notional_per_step=0.0),
        "max_liquidation_notional_per_step",
        ValueError,
    ),
    "policy-cap-nan": (
        lambda: Policy(max_liquidation_notional_per_step=NAN),
        "max_liquidation_notional_per_step",
        ValueError,
    ),
    "policy-cap-neginf": (
        lambda: Policy(max_liquidation_notional_per_step=-INF),
        "max_liquidation_notional_per_step",
        ValueError,
    ),
    # Clock
    "clock-dt0": (lambda: Clock(dt=0.0), "dt", ValueError),
    "clock-dt-tiny": (lambda: Clock(dt=1e-300), "dt", ValueError),
    "clock-dt-big": (lambda: Clock(dt=86401.0), "dt", ValueError),
    "clock-dt-nan": (lambda: Clock(dt=NAN), "dt", ValueError),
    "clock-dt-inf": (lambda: Clock(dt=INF), "dt", ValueError),
    "clock-steps0": (lambda: Clock(steps=0), "steps", ValueError),
    "clock-steps-big": (lambda: Clock(steps=100_000_001), "steps", ValueError),
    "clock-steps-float": (lambda: Clock(steps=10.0), "steps", TypeError),  # type: ignore[arg-type]
    # Scenario
    "scen-name": (lambda: world(name=""), "name", ValueError),
    "scen-instruments-empty": (lambda: world(instruments=()), "instruments", ValueError),
    "scen-instruments-type": (lambda: world(instruments=(1,)), "instruments[0]", TypeError),
    "scen-populations-empty": (lambda: world(populations=()), "populations", ValueError),
    "scen-populations-type": (lambda: world(populations="ab"), "populations", TypeError),
    "scen-fund-neg": (lambda: world(insurance_fund=-1.0), "insurance_fund", ValueError),
    "scen-fund-nan": (lambda: world(insurance_fund=NAN), "insurance_fund", ValueError),
    "scen-fund-inf": (lambda: world(insurance_fund=INF), "insurance_fund", ValueError),
    "scen-adl": (lambda: world(adl=1), "adl", TypeError),
    "scen-description": (lambda: world(description=None), "description", TypeError),
    "scen-clock": (lambda: world(clock=None), "clock", TypeError),
    "scen-policy": (lambda: world(policy={}), "policy", TypeError),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_invalid_field_is_named(case: str) -> None:
    factory, field, exc = CASES[case]
    with pytest.raises(exc) as info:
        factory()
    assert type(info.value) is exc
    assert str(info.value).startswith(f"{field}:"), str(info.value)


def test_range_messages_show_the_range_and_the_value() -> None:
    with pytest.raises(ValueError, match=r"^activity: must be in \(0.0, 3600.0\], got 0.0$"):
        pop(activity=0.0)
    with pytest.raises(ValueError, match=r"^accounts: must be in \[1, 100000000\], got 0$"):
        pop(accounts=0)
    with pytest.raises(ValueError, match=r"^drift: must be finite, got nan$"):
        Fundamental(drift=NAN)


def test_defaults_construct() -> None:
    for cls in (
        SpeculatorParams,
        NoiseParams,
        ValueParams,
        MarketMakerParams,
        HolderParams,
        AllocatorParams,
        Fundamental,
        Policy,
        Clock,
    ):
        cls()
    assert Policy().max_liquidation_notional_per_step == INF
    assert Policy(max_liquidation_notional_per_step=1e9).max_liquidation_notional_per_step == 1e9


def test_values_are_normalised() -> None:
    d = Distribution.discrete([1, 2], [3, 1])
    assert d.values == (1.0, 2.0)
    assert d.weights == (3.0, 1.0)
    assert all(type(x) is float for x in d.values + d.weights)
    assert type(Distribution.uniform(1, 5).low) is float
    f = Fundamental(shocks=[Shock(1, "jump", -0.1)])  # type: ignore[arg-type]
    assert f.shocks == (Shock(1, "jump", -0.1),)
    assert type(pop(activity=2).activity) is float
    s = world(populations=[pop()], instruments=[gold()])
    assert isinstance(s.populations, tuple)
    assert isinstance(s.instruments, tuple)
    hash(s)


def test_params_default_by_strategy() -> None:
    for strategy, cls in PARAMS_CLASSES.items():
        p = pop(strategy=strategy)
        assert type(p.params) is cls
        assert p.params == cls()
    spec = SpeculatorParams(threshold=0.01)
    assert pop(params=spec).params is spec


def test_instrument_spec_properties() -> None:
    spec = InstrumentSpec("ES", start_price=5000.25, tick_size=0.25, lot_size=50.0)
    assert spec.start_ticks == 20001
    assert spec.tick_value == 12.5
    g = gold(margin=MarginRule(initial_rate=0.2), mark="mid")
    assert g.start_ticks == 20000
    assert g.to_instrument() == Instrument("GOLD", tick_value=0.1, rule=g.margin, mark="mid")
    assert Clock(dt=0.5, steps=7200).duration == 3600.0
    assert Fundamental(kind="mean_reverting", reversion=2.0).anchor_for(2000.0) == 2000.0
    assert (
        Fundamental(kind="mean_reverting", reversion=2.0, anchor=1900.0).anchor_for(2000.0)
        == 1900.0
    )


# ---------------------------------------------------------------- cross-field validation


def two_instruments(**kw: Any) -> Scenario:
    es = InstrumentSpec("ES", start_price=5000.0, tick_size=0.25)
    return world(instruments=(gold(), es), **kw)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: two_instruments(populations=(pop("a"), pop("b"), pop("c", instrument="BTC"))),
            "populations[2].instrument: unknown instrument 'BTC'; known: GOLD, ES",
        ),
        (
            lambda: world(instruments=(gold(), gold())),
            "instruments[1].name: duplicate instrument name 'GOLD'",
        ),
        (
            lambda: world(populations=(pop("a"), pop("a", strategy="noise"))),
            "populations[1].name: duplicate population name 'a'",
        ),
        (
            lambda: world(
                instruments=(gold(fundamental=Fundamental(shocks=(Shock(3600, "jump", -0.1),))),)
            ),
            "instruments[0].fundamental.shocks[0].step: must be < clock.steps (3600), got 3600",
        ),
        (
            lambda: world(
                policy=Policy(margin_changes=(MarginChange(4000, "GOLD", MarginRule()),))
            ),
            "policy.margin_changes[0].step: must be < clock.steps (3600), got 4000",
        ),
        (
            lambda: two_instruments(
                policy=Policy(
                    margin_changes=(
                        MarginChange(10, "GOLD", MarginRule()),
                        MarginChange(20, "NQ", MarginRule()),
                    )
                )
            ),
            "policy.margin_changes[1].instrument: unknown instrument 'NQ'; known: GOLD, ES",
        ),
        (
            lambda: world(
                policy=Policy(volatility_triggers=(VolatilityTrigger("X", 60, 1.0, MarginRule()),))
            ),
            "policy.volatility_triggers[0].instrument: unknown instrument 'X'; known: GOLD",
        ),
        (
            lambda: world(
                clock=Clock(steps=30),
                policy=Policy(
                    volatility_triggers=(VolatilityTrigger("GOLD", 60, 1.0, MarginRule()),)
                ),
            ),
            "policy.volatility_triggers[0].window_steps: must be <= clock.steps (30), got 60",
        ),
        (
            lambda: world(
                populations=(pop("a", accounts=60_000_000), pop("b", accounts=50_000_000))
            ),
            "populations: total accounts must be <= 100000000, got 110000000",
        ),
    ],
)
def test_cross_field_errors_name_the_path(build: Callable[[], Scenario], message: str) -> None:
    with pytest.raises(ValueError, match=r"^\S+: ") as info:
        build()
    assert str(info.value) == message


def test_replace_validates_and_lookup() -> None:
    s = two_instruments()
    assert s.replace(insurance_fund=5.0).insurance_fund == 5.0
    with pytest.raises(ValueError, match=r"^insurance_fund:"):
        s.replace(insurance_fund=-5.0)
    with pytest.raises(ValueError, match=r"^populations\[0\].instrument:"):
        s.replace(instruments=(s.instruments[1],))
    assert s.instrument("ES").tick_size == 0.25
    with pytest.raises(KeyError, match="known: GOLD, ES"):
        s.instrument("NQ")


# ---------------------------------------------------------------- distributions


def test_sample_fixed_and_uniform() -> None:
    rng = np.random.default_rng(1)
    x = Distribution.fixed(3.5).sample(rng, 1000)
    assert x.dtype == np.float64
    assert x.shape == (1000,)
    assert np.all(x == 3.5)
    u = Distribution.uniform(2.0, 15.0).sample(rng, 100_000)
    assert u.dtype == np.float64
    assert u.min() >= 2.0
    assert u.max() <= 15.0
    assert abs(u.mean() - 8.5) < 0.05
    assert np.all(Distribution.uniform(4.0, 4.0).sample(rng, 10) == 4.0)
    assert Distribution.fixed(1.0).sample(rng, 0).shape == (0,)
    with pytest.raises(ValueError, match=r"^n:"):
        Distribution.fixed(1.0).sample(rng, -1)


def test_sample_lognormal() -> None:
    d = Distribution.lognormal(10_000.0, 0.5)
    x = d.sample(np.random.default_rng(2), 200_000)
    assert x.dtype == np.float64
    assert np.all(x > 0)
    assert abs(np.median(x) / 10_000.0 - 1.0) < 0.01
    assert abs(x.mean() / d.mean() - 1.0) < 0.01
    assert np.all(Distribution.lognormal(7.0, 0.0).sample(np.random.default_rng(0), 5) == 7.0)


def test_sample_discrete() -> None:
    d = Distribution.discrete((1.0, 2.0, 5.0), (1.0, 0.0, 3.0))
    x = d.sample(np.random.default_rng(3), 100_000)
    assert x.dtype == np.float64
    assert set(np.unique(x)) <= {1.0, 5.0}
    assert abs(np.mean(x == 1.0) - 0.25) < 0.01
    assert abs(np.mean(x == 5.0) - 0.75) < 0.01
    assert d.weights == (1.0, 0.0, 3.0)  # stored as given


def test_means_exact() -> None:
    assert Distribution.fixed(2.5).mean() == 2.5
    assert Distribution.uniform(2.0, 15.0).mean() == 8.5
    assert Distribution.lognormal(100.0, 0.5).mean() == 100.0 * math.exp(0.125)
    assert Distribution.discrete((1.0, 5.0), (1.0, 3.0)).mean() == 4.0
    assert Distribution.discrete((2.0, 4.0)).mean() == 3.0


DISTS = [
    Distribution.fixed(3.0),
    Distribution.uniform(-1.0, 1.0),
    Distribution.lognormal(5.0, 1.5),
    Distribution.discrete((1.0, 2.0, 3.0), (0.2, 0.3, 0.5)),
]


@pytest.mark.parametrize("dist", DISTS, ids=lambda d: d.kind)
def test_sample_reproducible(dist: Distribution) -> None:
    a = dist.sample(np.random.default_rng(42), 1000)
    b = dist.sample(np.random.default_rng(42), 1000)
    assert np.array_equal(a, b)
    if dist.kind != "fixed":
        c = dist.sample(np.random.default_rng(43), 1000)
        assert not np.array_equal(a, c)


# ---------------------------------------------------------------- hypothesis strategies


def floats(lo: float = -1e300, hi: float = 1e300, **kw: Any) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, **kw)


names = st.text(min_size=1, max_size=8)
unit_open_lo = floats(0.0, 1.0, exclude_min=True)


@st.composite
def margin_rules(draw: st.DrawFn) -> MarginRule:
    maintenance = draw(st.sampled_from(MAINTENANCE_KINDS))
    kw: dict[str, Any] = {
        "initial_rate": draw(unit_open_lo),
        "maintenance": maintenance,
        "maintenance_rate": draw(floats(0.0, 1.0, exclude_max=True)),
        "amount_per_lot": draw(floats(0.0, 1e15)),
        # below 1, so that closeout_share * initial_rate < 1 whatever the initial rate
        "closeout_share": draw(floats(0.0, 1.0, exclude_min=True, exclude_max=True)),
        "basis": draw(st.sampled_from(BASES)),
        "liquidation_fee_rate": draw(floats(0.0, 0.1)),
        "negative_balance_protection": draw(st.booleans()),
        "maker_fee_rate": draw(floats(-0.01, 0.01)),
        "taker_fee_rate": draw(floats(-0.01, 0.01)),
    }
    if maintenance == "tiered":
        floors = sorted(
            draw(st.lists(floats(0.0, 1e18, exclude_min=True), unique=True, max_size=3))
        )
        rates = sorted(
            draw(
                st.lists(
                    floats(0.0, 1.0, exclude_max=True),
                    min_size=len(floors) + 1,
                    max_size=len(floors) + 1,
                )
            )
        )
        kw["tiers"] = tuple(zip([0.0, *floors], rates, strict=True))
        kw["partial_liquidation"] = draw(st.booleans())
    return MarginRule(**kw)


def distributions(positive: bool = False) -> st.SearchStrategy[Distribution]:
    lo = 0.0 if positive else -1e300
    value = floats(lo, 1e300, exclude_min=positive)
    fixed = st.builds(Distribution.fixed, value)
    uniform = st.tuples(value, value).map(lambda ab: Distribution.uniform(*sorted(ab)))
    lognormal = st.builds(
        Distribution.lognormal, floats(0.0, 1e300, exclude_min=True), floats(0.0, 10.0)
    )

    @st.composite
    def discrete(draw: st.DrawFn) -> Distribution:
        values = draw(st.lists(value, min_size=1, max_size=5))
        weights = draw(st.lists(floats(0.0, 1e6), min_size=len(values), max_size=len(values)))
        if sum(weights) == 0.0:
            weights[0] = 1.0
        return Distribution.discrete(values, weights)

    return st.one_of(fixed, uniform, lognormal, discrete())


def horizons() -> st.SearchStrategy[tuple[float, float]]:
    return st.lists(floats(0.0, 1e9, exclude_min=True), min_size=2, max_size=2, unique=True).map(
        lambda ab: (min(ab), max(ab))
    )


@st.composite
def speculator_params(draw: st.DrawFn) -> SpeculatorParams:
    fast, slow = draw(horizons())
    return SpeculatorParams(
        fast_horizon=fast,
        slow_horizon=slow,
        threshold=draw(floats(0.0, 1.0)),
        target_leverage=draw(distributions(positive=True)),
        max_leverage=draw(floats(1.0, 1e4)),
    )


@st.composite
def value_params(draw: st.DrawFn) -> ValueParams:
    ref, exit_ = draw(
        st.lists(floats(0.0, 100.0, exclude_min=True), min_size=2, max_size=2, unique=True).map(
            sorted
        )
    )
    return ValueParams(
        capital_fraction=draw(unit_open_lo),
        aggressiveness=draw(floats(0.0, 1e6, exclude_min=True)),
        vol_reference=ref,
        vol_exit=exit_,
        leverage=draw(floats(1.0, 1e4)),
    )


PARAMS_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "speculator": speculator_params(),
    "noise": st.builds(
        NoiseParams,
        order_size=distributions(positive=True),
        limit_share=floats(0.0, 1.0),
        limit_offset_ticks=st.integers(0, 1_000_000),
    ),
    "value": value_params(),
    "market_maker": st.builds(
        MarketMakerParams,
        levels=st.integers(1, 100),
        base_spread_ticks=st.integers(1, 1_000_000),
        depth_lots=distributions(positive=True),
        vol_spread_factor=floats(0.0, 1e6),
        inventory_limit=st.integers(1, 2**40),
        vol_withdraw=floats(0.0, 100.0, exclude_min=True),
        loss_withdraw=unit_open_lo,
        calm_steps=st.integers(1, 100_000_000),
    ),
    "holder": st.builds(
        HolderParams,
        slow_horizon=floats(0.0, 1e9, exclude_min=True),
        dip=floats(0.0, 1.0, exclude_min=True, exclude_max=True),
        budget_fraction=unit_open_lo,
        leverage=floats(1.0, 1e4),
    ),
    "allocator": st.builds(
        AllocatorParams,
        target_leverage=distributions(positive=True),
        max_leverage=floats(1.0, 1e4),
        vol_target=floats(0.0, 100.0),
        vol_horizon=floats(0.0, 1e9, exclude_min=True),
        rebalance_band=floats(0.0, 1.0),
    ),
}


@st.composite
def fundamentals(draw: st.DrawFn, steps: int) -> Fundamental:
    kind = draw(st.sampled_from(["lognormal", "mean_reverting"]))
    shocks = []
    for step in sorted(draw(st.lists(st.integers(0, steps - 1), max_size=4))):
        shock_kind: Any = draw(st.sampled_from(["jump", "drift", "volatility"]))
        value = draw(floats(0.0, 5.0) if shock_kind == "volatility" else floats(-5.0, 5.0))
        shocks.append(Shock(step, shock_kind, value))
    kw: dict[str, Any] = {
        "kind": kind,
        "drift": draw(floats(-5.0, 5.0)),
        "volatility": draw(floats(0.0, 5.0)),
        "shocks": tuple(shocks),
    }
    if kind == "mean_reverting":
        kw["reversion"] = draw(floats(0.0, 1e6, exclude_min=True))
        kw["anchor"] = draw(st.none() | floats(0.0, 1e15, exclude_min=True))
    return Fundamental(**kw)


@st.composite
def instrument_specs(draw: st.DrawFn, name: str, steps: int) -> InstrumentSpec:
    tick = draw(st.sampled_from([1e-4, 0.01, 0.1, 0.25, 0.5, 1.0, 5.0, 100.0]) | floats(1e-6, 1e3))
    ticks = draw(st.integers(1, min(2**40, int(1e15 / tick))))
    return InstrumentSpec(
        name=name,
        start_price=ticks * tick,
        tick_size=tick,
        lot_size=draw(floats(1e-6, 1e6)),
        margin=draw(margin_rules()),
        mark=draw(st.sampled_from(MARK_RULES)),
        fundamental=draw(fundamentals(steps)),
    )


@st.composite
def populations(draw: st.DrawFn, name: str, instruments: list[str]) -> Population:
    strategy: Any = draw(st.sampled_from(STRATEGIES))
    return Population(
        name=name,
        strategy=strategy,
        accounts=draw(st.integers(1, 1_000_000)),
        instrument=draw(st.sampled_from(instruments)),
        cash=draw(distributions(positive=True)),
        activity=draw(floats(0.0, 3600.0, exclude_min=True)),
        margin_mode=draw(st.sampled_from(["isolated", "cross"])),
        params=draw(st.none() | PARAMS_STRATEGIES[strategy]),
    )


@st.composite
def policies(draw: st.DrawFn, instruments: list[str], steps: int) -> Policy:
    changes = [
        MarginChange(step, draw(st.sampled_from(instruments)), draw(margin_rules()))
        for step in sorted(draw(st.lists(st.integers(0, steps - 1), max_size=3)))
    ]
    triggers: list[VolatilityTrigger] = []
    if steps >= 2:
        triggers = draw(
            st.lists(
                st.builds(
                    VolatilityTrigger,
                    st.sampled_from(instruments),
                    st.integers(2, steps),
                    floats(0.0, 100.0, exclude_min=True),
                    margin_rules(),
                ),
                max_size=2,
            )
        )
    cap = draw(st.just(INF) | floats(0.0, 1e300, exclude_min=True))
    return Policy(tuple(changes), tuple(triggers), cap)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    clock = Clock(
        dt=draw(floats(MIN_DT, 86400.0)),
        steps=draw(st.integers(1, 10) | st.integers(1, 100_000_000)),
    )
    inst_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    instruments = tuple(draw(instrument_specs(n, clock.steps)) for n in inst_names)
    pop_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    pops = tuple(draw(populations(n, inst_names)) for n in pop_names)
    return Scenario(
        name=draw(names),
        instruments=instruments,
        populations=pops,
        clock=clock,
        policy=draw(policies(inst_names, clock.steps)),
        insurance_fund=draw(floats(0.0, 1e18)),
        adl=draw(st.booleans()),
        description=draw(st.text(max_size=40)),
    )


# ---------------------------------------------------------------- TOML round trip

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenarios())
def test_toml_round_trip_string(s: Scenario) -> None:
    text = to_toml_str(s)
    back = from_toml_str(text)
    assert back == s
    assert repr(back) == repr(s)  # bit-exact floats, -0.0 included
    assert to_toml_str(back) == text


@settings(max_examples=25, deadline=None)
@given(scenarios())
def test_toml_round_trip_file(s: Scenario) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.toml")
        save_toml(s, path)
        assert load_toml(path) == s


@FAST
@given(distributions())
def test_distribution_round_trip(d: Distribution) -> None:
    table = tomllib.loads(tomli_w.dumps({"d": _encode(d)}))["d"]
    assert set(table) <= {"kind", "value", "low", "high", "median", "sigma", "values", "weights"}
    back = _decode_dataclass(Distribution, table, "d")
    assert back == d
    assert repr(back) == repr(d)


def test_round_trip_edge_values() -> None:
    rule = MarginRule(
        initial_rate=0.05,
        maintenance="tiered",
        tiers=((0.0, 0.004), (50_000.0, 0.01), (250_000.0, 0.025)),
        partial_liquidation=True,
    )
    s = world(
        instruments=(
            gold(
                margin=rule,
                fundamental=Fundamental(kind="mean_reverting", reversion=3.0, anchor=1950.5),
            ),
        ),
        populations=(pop(cash=Distribution.fixed(0.1 + 0.2)),),
        policy=Policy(max_liquidation_notional_per_step=INF),
        description='quotes " and \\ and\nnewlines, ünïcode',
    )
    text = to_toml_str(s)
    assert "max_liquidation_notional_per_step = inf" in text
    assert "0.30000000000000004" in text
    assert "anchor = 1950.5" in text
    back = from_toml_str(text)
    assert back == s
    assert back.instruments[0].margin.tiers == rule.tiers
    # None is left out and comes back as the default.
    plain = world()
    assert "anchor" not in to_toml_str(plain)
    assert from_toml_str(to_toml_str(plain)).instruments[0].fundamental.anchor is None


# ---------------------------------------------------------------- TOML errors


def default_doc() -> dict[str, Any]:
    return tomllib.loads(to_toml_str(load_preset("default-hour")))


def _set(doc: dict[str, Any], path: list[str | int], value: Any) -> None:
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()

TOML_ERRORS: list[tuple[list[str | int], Any, type[Exception], str]] = [
    (["populations", 0, "leverage"], 5.0, ValueError, "populations[0].leverage: unknown field"),
    (["extra"], 1, ValueError, "extra: unknown field"),
    (["clock", "tick"], 1, ValueError, "clock.tick: unknown field"),
    (
        ["instruments", 0, "margin", "foo"],
        1,
        ValueError,
        "instruments[0].margin.foo: unknown field",
    ),
    (
        ["instruments", 0, "fundamental", "shocks", 0, "size"],
        1,
        ValueError,
        "instruments[0].fundamental.shocks[0].size: unknown field",
    ),
    (
        ["populations", 0, "cash", "mean"],
        1.0,
        ValueError,
        "populations[0].cash.mean: unknown field",
    ),
    (
        ["populations", 0, "params", "levels"],
        3,
        ValueError,
        "populations[0].params.levels: unknown field",
    ),
    (
        ["populations", 0, "accounts"],
        "800",
        TypeError,
        "populations[0].accounts: expected an integer, got string",
    ),
    (["clock", "steps"], 1.5, TypeError, "clock.steps: expected an integer, got float"),
    (["clock", "dt"], "1", TypeError, "clock.dt: expected a number, got string"),
    (["clock", "dt"], True, TypeError, "clock.dt: expected a number, got boolean"),
    (["adl"], 1, TypeError, "adl: expected a boolean, got int"),
    (["name"], 3, TypeError, "name: expected a string, got int"),
    (["instruments"], {"name": "GOLD"}, TypeError, "instruments: expected an array, got table"),
    (["clock"], [1], TypeError, "clock: expected a table, got array"),
    (
        ["instruments", 0, "margin", "tiers"],
        "x",
        TypeError,
        "instruments[0].margin.tiers: expected an array, got string",
    ),
    (
        ["instruments", 0, "margin", "tiers"],
        [[0.0, 0.1, 0.2]],
        ValueError,
        "instruments[0].margin.tiers[0]: expected an array of 2 items, got 3",
    ),
    (
        ["instruments", 0, "margin", "tiers"],
        [[0.0, "a"]],
        TypeError,
        "instruments[0].margin.tiers[0][1]: expected a number, got string",
    ),
    (
        ["populations", 1, "cash"],
        5.0,
        TypeError,
        "populations[1].cash: expected a table, got float",
    ),
    (
        ["populations", 0, "strategy"],
        3,
        TypeError,
        "populations[0].strategy: expected one of speculator, noise",
    ),
    (
        ["populations", 0, "strategy"],
        "whale",
        ValueError,
        "populations[0].strategy: must be one of",
    ),
    (
        ["populations", 0, "margin_mode"],
        3,
        TypeError,
        "populations[0].margin_mode: expected one of isolated, cross (a string), got int",
    ),
    (
        ["instruments", 0, "fundamental", "shocks", 0, "step"],
        "a",
        TypeError,
        "instruments[0].fundamental.shocks[0].step: expected an integer",
    ),
    (
        ["populations", 1, "activity"],
        0.0,
        ValueError,
        "populations[1].activity: must be in (0.0, 3600.0], got 0.0",
    ),
    (
        ["instruments", 0, "margin", "maintenance_rate"],
        2.0,
        ValueError,
        "instruments[0].margin.maintenance_rate: must be in",
    ),
    (
        ["populations", 0, "params", "target_leverage", "low"],
        -1.0,
        ValueError,
        "populations[0].params.target_leverage: samples must be > 0",
    ),
    (
        ["populations", 0, "params", "target_leverage", "median"],
        2.0,
        ValueError,
        "populations[0].params.target_leverage.median: not used by a uniform distribution",
    ),
    (
        ["populations", 0, "accounts"],
        _DELETE,
        ValueError,
        "populations[0].accounts: missing required field",
    ),
    (["instruments"], _DELETE, ValueError, "instruments: missing required field"),
    (
        ["populations", 2, "instrument"],
        "BTC",
        ValueError,
        "populations[2].instrument: unknown instrument 'BTC'; known: GOLD",
    ),
    (
        ["policy", "margin_changes", 0, "step"],
        3600,
        ValueError,
        "policy.margin_changes[0].step: must be < clock.steps (3600), got 3600",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "exc", "message"),
    TOML_ERRORS,
    ids=[".".join(map(str, p)) + f"={v!r}"[:20] for p, v, _, _ in TOML_ERRORS],
)
def test_toml_errors_name_the_path(
    path: list[str | int], value: Any, exc: type[Exception], message: str
) -> None:
    doc = default_doc()
    _set(doc, path, value)
    text = tomli_w.dumps(doc)
    with pytest.raises(exc) as info:
        from_toml_str(text)
    assert type(info.value) is exc
    assert str(info.value).startswith(message), str(info.value)


def test_toml_params_class_follows_strategy() -> None:
    doc = default_doc()
    # The noise population's params table read as market-maker params is rejected...
    doc["populations"][1]["strategy"] = "market_maker"
    with pytest.raises(ValueError, match=r"^populations\[1\]\.params\.limit_share: unknown field"):
        from_toml_str(tomli_w.dumps(doc))
    # ...and without a params table the strategy's defaults are used.
    del doc["populations"][1]["params"]
    s = from_toml_str(tomli_w.dumps(doc))
    assert s.populations[1].params == MarketMakerParams()


def test_invalid_toml_syntax() -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        from_toml_str("name = ")


# ---------------------------------------------------------------- with_accounts


def test_with_accounts_default() -> None:
    s = load_preset("default-hour")
    for n in (10, 100, 1354, 5000, 1_000_000, 100_000_000):
        t = s.with_accounts(n)
        assert t.total_accounts == n
        mm = [p for p in t.populations if p.strategy == "market_maker"]
        assert [p.accounts for p in mm] == [4]
        assert all(p.accounts >= 1 for p in t.populations)
        assert [p.name for p in t.populations] == [p.name for p in s.populations]
    big = s.with_accounts(1_000_004)
    assert [p.accounts for p in big.populations] == [592_593, 296_296, 37_037, 4, 74_074]
    assert s.with_accounts(1354) == s
    with pytest.raises(ValueError, match=r"^n:"):
        s.with_accounts(7)  # 4 market makers + 4 other populations need 8
    assert [p.accounts for p in s.with_accounts(8).populations] == [1, 1, 1, 4, 1]
    with pytest.raises(ValueError, match=r"^n:"):
        s.with_accounts(0)
    with pytest.raises(TypeError, match=r"^n:"):
        s.with_accounts(10.0)  # type: ignore[arg-type]


def test_with_accounts_only_market_makers() -> None:
    s = world(populations=(pop(strategy="market_maker", accounts=3),))
    assert s.with_accounts(3) == s
    with pytest.raises(ValueError, match=r"^n:"):
        s.with_accounts(10)


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.integers(1, 100_000_000))
def test_with_accounts_property(s: Scenario, n: int) -> None:
    mm = sum(p.accounts for p in s.populations if p.strategy == "market_maker")
    others = [p for p in s.populations if p.strategy != "market_maker"]
    if not others and n == mm:
        assert s.with_accounts(n) == s
        return
    if not others or n - mm < len(others):
        with pytest.raises(ValueError, match=r"^n:"):
            s.with_accounts(n)
        return
    t = s.with_accounts(n)
    assert t.total_accounts == n
    total_before = sum(p.accounts for p in others)
    for old, new in zip(s.populations, t.populations, strict=True):
        assert new.accounts >= 1
        if old.strategy == "market_maker":
            assert new.accounts == old.accounts
        else:
            quota = (n - mm) * old.accounts / total_before
            # Largest remainders (plus the floor of one account): within len(others) of the quota.
            assert abs(new.accounts - quota) <= len(others)
        assert dataclasses.replace(old, accounts=new.accounts) == new


# ---------------------------------------------------------------- presets


def test_default_hour_preset() -> None:
    assert "default-hour" in PRESETS
    s = load_preset("default-hour")
    assert s.name == "default-hour"
    g = s.instrument("GOLD")
    assert (g.start_price, g.tick_size, g.lot_size, g.mark) == (2000.0, 0.1, 1.0, "median")
    assert g.start_ticks == 20_000
    assert g.margin == MarginRule(initial_rate=0.1, maintenance="percent", maintenance_rate=0.05)
    assert g.fundamental == Fundamental(
        volatility=0.19,
        shocks=(Shock(1800, "jump", -0.05),),
        vol_of_vol=0.75,
        vol_half_life=600.0,
        waypoints=(Waypoint(900, 2000.0), Waypoint(1799, 2004.0)),
    )
    assert s.clock == Clock(dt=1.0, steps=3600)
    assert s.insurance_fund == 1_000_000.0
    assert s.adl
    by_strategy = {p.strategy: p for p in s.populations}
    # Every strategy but the multi-asset allocators (dash-for-cash-2020 has them).
    assert set(by_strategy) == set(STRATEGIES) - {"allocator"}
    spec = by_strategy["speculator"]
    assert (spec.accounts, spec.cash, spec.activity) == (
        800,
        Distribution.lognormal(10_000.0, 0.5),
        6.0,
    )
    assert isinstance(spec.params, SpeculatorParams)
    assert spec.params.target_leverage == Distribution.uniform(2.0, 15.0)
    assert (by_strategy["noise"].accounts, by_strategy["noise"].cash) == (
        400,
        Distribution.fixed(5000.0),
    )
    assert by_strategy["noise"].activity == 20.0
    assert by_strategy["value"].cash == Distribution.lognormal(200_000.0, 0.3)
    assert (by_strategy["value"].accounts, by_strategy["value"].activity) == (50, 30.0)
    mm = by_strategy["market_maker"]
    assert (mm.accounts, mm.cash, mm.activity) == (4, Distribution.fixed(2_000_000.0), 3600.0)
    # Value traders out in the crash alone; dealers within 1% of value (docs/simulation.md).
    assert by_strategy["value"].params.vol_exit == 2.0
    assert (mm.params.basis_horizon, mm.params.max_basis) == (3600.0, 0.01)
    holder = by_strategy["holder"]
    assert (holder.accounts, holder.cash, holder.activity) == (
        100,
        Distribution.lognormal(50_000.0, 0.5),
        1.0,
    )
    assert s.total_accounts == 1354
    (change,) = s.policy.margin_changes
    assert (change.step, change.instrument) == (2400, "GOLD")
    assert change.margin.maintenance == "percent"
    assert change.margin.maintenance_rate == 0.08
    assert from_toml_str(to_toml_str(s)) == s


def test_default_preset_is_the_hours_world_after_eight_quiet_hours() -> None:
    # `default` is `default-hour` with its news eight hours later (27,000 s more), an
    # hour after the drop rather than half an hour, and the populations that hold a
    # price to its value over hours; nothing else differs.
    hour, day = load_preset("default-hour"), load_preset("default")
    later = 27_000
    assert day.name == "default"
    assert day.clock == Clock(dt=1.0, steps=1800 + later + 3600)
    assert day.quiet_window == (0.0, 1800.0 + later)
    g_hour, g = hour.instrument("GOLD"), day.instrument("GOLD")
    assert g.fundamental == dataclasses.replace(
        g_hour.fundamental,
        vol_of_vol=1.0,
        shocks=(Shock(1800 + later, "jump", -0.05),),
        waypoints=(Waypoint(900 + later, 2000.0), Waypoint(1799 + later, 2004.0)),
    )
    assert dataclasses.replace(g, fundamental=g_hour.fundamental) == g_hour
    (change,) = day.policy.margin_changes
    assert change == dataclasses.replace(hour.policy.margin_changes[0], step=2400 + later)
    by_name = {p.name: p for p in day.populations}
    spec = by_name["speculators"]
    assert spec.activity == 0.5  # a decision every two hours
    value = by_name["value"]
    assert value.cash == Distribution.lognormal(100_000_000.0, 0.3)
    assert (value.params.aggressiveness, value.params.vol_reference, value.params.vol_exit) == (
        30.0,
        1.0,
        3.0,
    )
    # The dealers: out at 300%, and any basis (eight quiet hours of big value funds hold it).
    hour_makers = next(p for p in hour.populations if p.name == "market_makers")
    assert by_name["market_makers"].params == dataclasses.replace(
        hour_makers.params, vol_withdraw=3.0, max_basis=math.inf
    )
    changed = {
        "speculators": dict(activity=spec.activity),
        "value": dict(cash=value.cash, params=value.params),
        "market_makers": dict(params=by_name["market_makers"].params),
    }
    assert day.populations == tuple(
        dataclasses.replace(p, **changed.get(p.name, {})) for p in hour.populations
    )
    assert day.total_accounts == hour.total_accounts == 1354
    assert from_toml_str(to_toml_str(day)) == day


def test_unknown_preset_lists_available() -> None:
    with pytest.raises(ValueError, match=r"unknown preset 'nope'; available: .*default"):
        load_preset("nope")


# ---------------------------------------------------------------- with_steps


def test_with_steps_drops_events_past_the_end() -> None:
    s = load_preset("default-day")
    t = s.with_steps(3600)
    assert t.clock.steps == 3600
    assert t.clock.dt == s.clock.dt
    assert t.instruments[0].fundamental.shocks == ()
    assert t.policy.margin_changes == ()
    assert t.populations == s.populations
    kept = s.with_steps(43_201)
    assert [x.step for x in kept.instruments[0].fundamental.shocks] == [43_200]
    assert kept.policy.margin_changes == ()
    assert s.with_steps(s.clock.steps) == s
    with pytest.raises(ValueError, match=r"^n: "):
        s.with_steps(0)


# ---------------------------------------------------------------- scaled


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.floats(1e-3, 1.0, allow_nan=False))
def test_scaled_property(s: Scenario, f: float) -> None:
    makers = [p for p in s.populations if p.strategy == "market_maker"]

    def underflows(d: Distribution) -> bool:
        try:
            return not d.scaled(f).is_positive()
        except ValueError:  # a lognormal's median that rounds to zero
            return True

    underflow = any(underflows(d) for p in makers for d in (p.cash, p.params.depth_lots))
    if underflow:  # a tiny size times f rounds to zero: a clear error, not a silent zero
        with pytest.raises(ValueError, match=r"^(cash|depth_lots):"):
            s.scaled(f)
        return
    t = s.scaled(f)
    assert t.insurance_fund == s.insurance_fund * f
    for old, new in zip(s.populations, t.populations, strict=True):
        if old.strategy == "market_maker":
            assert new.accounts == old.accounts
            # (a lognormal's mean can overflow a double; its scaled one may not)
            if math.isfinite(old.cash.mean()):
                assert new.cash.mean() == pytest.approx(old.cash.mean() * f, rel=1e-12)
            if math.isfinite(old.params.depth_lots.mean()):
                assert new.params.depth_lots.mean() == pytest.approx(
                    old.params.depth_lots.mean() * f, rel=1e-12
                )
            assert new.params.inventory_limit == max(1, round(old.params.inventory_limit * f))
        else:
            assert new.accounts == max(1, round(old.accounts * f))
            assert dataclasses.replace(old, accounts=new.accounts) == new


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.floats(1e-3, 1.0, allow_nan=False), st.integers(0, 5_000))
def test_scaled_keeps_small_populations_whole(s: Scenario, f: float, keep: int) -> None:
    """Populations under ``keep`` accounts (not makers, not noise traders) keep
    every account and a ``f``-th of each one's cash; the rest scale as before."""
    try:
        plain = s.scaled(f)
    except ValueError:  # a size that underflows: covered by test_scaled_property
        return
    try:
        t = s.scaled(f, keep_accounts_below=keep)
    except ValueError:  # a kept population's cash that underflows to zero: named
        with pytest.raises(ValueError, match=r"^cash:"):
            s.scaled(f, keep_accounts_below=keep)
        return
    assert t.insurance_fund == plain.insurance_fund
    for old, new, ref in zip(s.populations, t.populations, plain.populations, strict=True):
        whole = old.accounts < keep and old.strategy not in ("market_maker", "noise")
        if not whole:
            assert new == ref
            continue
        assert new.accounts == old.accounts
        if math.isfinite(old.cash.mean()):
            assert new.cash.mean() == pytest.approx(old.cash.mean() * f, rel=1e-12)
        assert dataclasses.replace(old, cash=new.cash) == new


def test_scaled_keeping_the_big_accounts_of_gold_2026() -> None:
    s = load_preset("gold-2026")
    t = s.scaled(0.05, keep_accounts_below=5_000)
    counts = {p.name: p.accounts for p in t.populations}
    # A few large traders keep their number; crowds and noise traders shrink.
    assert counts["hedgers"] == 750
    assert counts["patient_funds"] == 200
    assert counts["cfd_retail"] == 30_000
    assert counts["index_noise"] == 2_500
    full = {p.name: p for p in s.populations}
    for p in t.populations:  # every population's total cash is a twentieth of its own
        q = full[p.name]
        assert p.accounts * p.cash.mean() == pytest.approx(
            0.05 * q.accounts * q.cash.mean(), rel=0.02
        )
    assert s.scaled(0.05, keep_accounts_below=0) == s.scaled(0.05)
    for bad in (-1, 1.5, "10"):
        with pytest.raises((ValueError, TypeError), match=r"^keep_accounts_below:"):
            s.scaled(0.05, keep_accounts_below=bad)  # type: ignore[arg-type]


def test_scaled_errors_and_identity() -> None:
    s = load_preset("default-hour")
    assert s.scaled(1.0) == s
    for bad in (0.0, -1.0, NAN, INF, 1e4):
        with pytest.raises(ValueError, match=r"^fraction:"):
            s.scaled(bad)
    with pytest.raises(ValueError, match=r"^factor:"):
        Distribution.uniform(1.0, 2.0).scaled(0.0)
    d = Distribution.discrete([1.0, 4.0], [1.0, 3.0]).scaled(0.5)
    assert d == Distribution.discrete([0.5, 2.0], [1.0, 3.0])
