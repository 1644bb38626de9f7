"""The one place the scenario's dataclasses become the engine's specs.

The engine's inputs are classes of the compiled module (``_core.SimulationSpec``,
``_core.PopulationSpec``, one ``_core.*Spec`` per strategy, ``_core.MarginRuleSpec``
...) built with keyword arguments: an unknown keyword is a TypeError, every
field is read back as a property, and choices are enums, never strings.
Each dataclass has one converter here; nothing crosses as a dict. Units
change on the way (horizons in seconds become per-step weights, waypoints'
prices their logs in the engine), so a converter is where a field's meaning
for the engine is written down.

To add a field: add it to the C++ struct and its ``.field(...)`` line in
``cpp/bindings/register_specs.cpp`` (and ``_core.pyi``), then pass it in the
converter of its dataclass below. ``tests/test_engine_spec.py`` fails until
every scenario field reaches the engine or is listed as Python-only there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from deleverage import _core
from deleverage.margin_rules import MarginRule
from deleverage.scenario import (
    QUOTE_SIDES,
    VALUE_SIDES,
    AllocatorParams,
    Fundamental,
    HolderParams,
    InstrumentSpec,
    MarginChange,
    MarketMakerParams,
    NoiseParams,
    Population,
    Scenario,
    Shock,
    SpeculatorParams,
    ValueParams,
    VolatilityTrigger,
    Waypoint,
)

if TYPE_CHECKING:
    from deleverage.data.join import AccountBlocks, SnapshotPart

StrategySpec = (
    _core.SpeculatorSpec
    | _core.NoiseSpec
    | _core.ValueSpec
    | _core.MarketMakerSpec
    | _core.HolderSpec
    | _core.AllocatorSpec
    | _core.HoldSpec
)


def alpha(horizon_seconds: float, dt: float) -> float:
    """Per-step weight of an exponential average over `horizon_seconds`."""
    return 2.0 / (max(horizon_seconds / dt, 1.0) + 1.0)


# ---- Margin ------------------------------------------------------------------------------


def margin_rule(rule: MarginRule) -> _core.MarginRuleSpec:
    """A margin rule as the engine holds it."""
    return _core.MarginRuleSpec(
        initial_rate=rule.initial_rate,
        maintenance=_core.Maintenance.__members__[rule.maintenance],
        maintenance_rate=rule.maintenance_rate,
        amount_per_lot=rule.amount_per_lot,
        tiers=list(rule.tiers),
        closeout_share=rule.closeout_share,
        basis=_core.MarginBasis.__members__[rule.basis],
        liquidation_fee_rate=rule.liquidation_fee_rate,
        negative_balance_protection=rule.negative_balance_protection,
        partial_liquidation=rule.partial_liquidation,
        maker_fee_rate=rule.maker_fee_rate,
        taker_fee_rate=rule.taker_fee_rate,
    )


def mark_rule(name: str) -> _core.MarkRule:
    """A mark-price rule by its name."""
    return _core.MarkRule.__members__[name]


def close_order(name: str) -> _core.CloseOrder:
    """A close order by its name."""
    return _core.CloseOrder.__members__[name]


# ---- Strategies --------------------------------------------------------------------------


def _speculator(p: SpeculatorParams, dt: float, names: Sequence[str]) -> _core.SpeculatorSpec:
    return _core.SpeculatorSpec(
        fast_alpha=alpha(p.fast_horizon, dt),
        slow_alpha=alpha(p.slow_horizon, dt),
        threshold=p.threshold,
        max_leverage=p.max_leverage,
        short_fraction=p.short_fraction,
        trade_fraction=p.trade_fraction,
        vol_target=p.vol_target,
        vol_alpha=alpha(p.vol_horizon, dt) if p.vol_horizon > 0 else 0.0,
    )


def _noise(p: NoiseParams, dt: float, names: Sequence[str]) -> _core.NoiseSpec:
    return _core.NoiseSpec(
        limit_share=p.limit_share,
        limit_offset_ticks=p.limit_offset_ticks,
        sentiment_persistence=p.sentiment_persistence,
        sentiment_volatility=p.sentiment_volatility,
        sentiment_position=p.sentiment_position,
    )


def _value(p: ValueParams, dt: float, names: Sequence[str]) -> _core.ValueSpec:
    return _core.ValueSpec(
        capital_fraction=p.capital_fraction,
        aggressiveness=p.aggressiveness,
        vol_reference=p.vol_reference,
        vol_exit=p.vol_exit,
        leverage=p.leverage,
        reach=p.reach,
        band=p.band,
        schedule=p.schedule,
        hold_when_out=p.hold_when_out,
        hold_to_fair=p.hold_to_fair,
        hold_through_storm=p.hold_through_storm,
        calm_steps=round(p.calm_after / dt),
        side=VALUE_SIDES.index(p.side),
        vol_alpha=alpha(p.vol_horizon, dt) if p.vol_horizon > 0 else 0.0,
        stress_instruments=[names.index(x) for x in p.stress_instruments],
    )


def _market_maker(p: MarketMakerParams, dt: float, names: Sequence[str]) -> _core.MarketMakerSpec:
    return _core.MarketMakerSpec(
        levels=p.levels,
        base_spread_ticks=p.base_spread_ticks,
        vol_spread_factor=p.vol_spread_factor,
        inventory_limit=p.inventory_limit,
        vol_withdraw=p.vol_withdraw,
        loss_withdraw=p.loss_withdraw,
        calm_steps=p.calm_steps,
        fair_weight=p.fair_weight,
        basis_alpha=alpha(p.basis_horizon, dt) if p.basis_horizon > 0 else 0.0,
        basis_out_alpha=alpha(p.basis_out_horizon, dt) if p.basis_out_horizon > 0 else 0.0,
        max_basis=min(p.max_basis, 1e300),
        inventory_skew=p.inventory_skew,
        stress_instruments=[names.index(x) for x in p.stress_instruments],
        var_volatility=p.var_volatility,
        var_alpha=alpha(p.var_horizon, dt) if p.var_horizon > 0 else 0.0,
        sides=QUOTE_SIDES.index(p.sides),
        offset=p.offset,
        level_spacing=p.level_spacing,
        covers=p.covers,
        cover_offset=p.cover_offset,
        cover_max_volatility=p.cover_max_volatility,
        cover_calm_steps=round(p.cover_calm_after / dt),
        flow_alpha=alpha(p.flow_horizon, dt) if p.flow_horizon > 0 else 0.0,
        flow_depth=p.flow_depth,
        robust_volatility=p.robust_volatility,
    )


def _holder(p: HolderParams, dt: float, names: Sequence[str]) -> _core.HolderSpec:
    return _core.HolderSpec(
        slow_alpha=alpha(p.slow_horizon, dt),
        dip=p.dip,
        budget_fraction=p.budget_fraction,
        anchor_fair=p.anchor == "fair",
        max_volatility=p.max_volatility,
        leverage=p.leverage,
    )


def _allocator(p: AllocatorParams, dt: float, names: Sequence[str]) -> _core.AllocatorSpec:
    return _core.AllocatorSpec(
        max_leverage=p.max_leverage,
        slow_alpha=alpha(p.vol_horizon, dt),
        vol_target=p.vol_target,
        rebalance_band=p.rebalance_band,
    )


@dataclass(frozen=True)
class StrategyEntry:
    """How a strategy's parameters reach the engine: the converter of its
    dataclass, and the distribution (a field of it) each account's own
    parameter is drawn from (None: the engine reads no per-account parameter)."""

    convert: Callable[[Any, float, Sequence[str]], StrategySpec]
    account_param: str | None


#: One entry per strategy parameter class.
STRATEGIES: dict[type, StrategyEntry] = {
    SpeculatorParams: StrategyEntry(_speculator, "target_leverage"),
    NoiseParams: StrategyEntry(_noise, "order_size"),
    ValueParams: StrategyEntry(_value, None),
    MarketMakerParams: StrategyEntry(_market_maker, "depth_lots"),
    HolderParams: StrategyEntry(_holder, None),
    AllocatorParams: StrategyEntry(_allocator, "target_leverage"),
}


def strategy_spec(params: object, dt: float, names: Sequence[str]) -> StrategySpec:
    """A strategy's parameters as the engine's struct of that strategy."""
    return STRATEGIES[type(params)].convert(params, dt, names)


def population(
    pop: Population, first: int, names: Sequence[str], dt: float, count: int | None = None
) -> _core.PopulationSpec:
    """A population as the engine's spec; its accounts start at id `first` (`count`
    of them: by default the population's own number, and then they start as its
    ``opening`` says; a snapshot's block of `count` accounts that follow it holds
    what the file says)."""
    instruments = [names.index(x) for x in pop.traded]
    return _core.PopulationSpec(
        first=first,
        count=pop.accounts if count is None else count,
        instrument=instruments[0],
        instruments=instruments,
        budget_shares=list(pop.budget_shares),
        activity=min(1.0, pop.activity * dt / 3600.0),
        params=strategy_spec(pop.params, dt, names),
        open_at_target=count is None and pop.opening == "target",
    )


# ---- Fair values and policy --------------------------------------------------------------


def shock(s: Shock) -> _core.ShockSpec:
    return _core.ShockSpec(step=s.step, kind=_core.ShockKind.__members__[s.kind], value=s.value)


def waypoint(w: Waypoint) -> _core.WaypointSpec:
    return _core.WaypointSpec(step=w.step, price=w.price)


def fundamental(f: Fundamental, start_price: float) -> _core.FundamentalSpec:
    """An instrument's fair-value process, starting at `start_price`."""
    return _core.FundamentalSpec(
        start=start_price,
        drift=f.drift,
        volatility=f.volatility,
        mean_reverting=f.kind == "mean_reverting",
        reversion=f.reversion,
        anchor=f.anchor_for(start_price),
        vol_of_vol=f.vol_of_vol,
        vol_half_life=f.vol_half_life,
        news_share=f.news_share,
        news_rate=f.news_rate,
        shocks=[shock(s) for s in f.shocks],
        waypoints=[waypoint(w) for w in f.waypoints],
    )


def margin_change(c: MarginChange, names: Sequence[str]) -> _core.MarginChangeSpec:
    return _core.MarginChangeSpec(
        step=c.step, instrument=names.index(c.instrument), rule=margin_rule(c.margin)
    )


def population_changes(
    scenario: Scenario, extra_follows: Sequence[int | None] = ()
) -> list[_core.PopulationChangeSpec]:
    """Every population's scheduled changes, each with the whole parameter struct
    in force from its step, sorted by step (engine populations in order within a
    step). `extra_follows`: the scenario population each extra engine population
    (a snapshot's block, after the scenario's own) follows, or None; a block
    that follows a population changes with it."""
    names = [inst.name for inst in scenario.instruments]
    dt = scenario.clock.dt
    engine_index: list[list[int]] = [[p] for p in range(len(scenario.populations))]
    for j, k in enumerate(extra_follows):
        if k is not None:
            engine_index[k].append(len(scenario.populations) + j)
    out = [
        (step, e, activity, params)
        for p, pop in enumerate(scenario.populations)
        for step, activity, params in pop.schedule()
        for e in engine_index[p]
    ]
    out.sort(key=lambda c: (c[0], c[1]))
    return [
        _core.PopulationChangeSpec(
            step=step,
            population=p,
            activity=min(1.0, activity * dt / 3600.0),
            params=strategy_spec(params, dt, names),
        )
        for step, p, activity, params in out
    ]


def volatility_trigger(t: VolatilityTrigger, names: Sequence[str]) -> _core.VolatilityTriggerSpec:
    return _core.VolatilityTriggerSpec(
        instrument=names.index(t.instrument),
        window_steps=float(t.window_steps),
        threshold=t.threshold,
        rule=margin_rule(t.margin),
    )


# ---- The whole run -----------------------------------------------------------------------

#: Each leverage sample visits every account: at most this many samples a run,
#: and at most LEVERAGE_VISITS account visits in all (at least 20 samples).
LEVERAGE_SAMPLES = 500
LEVERAGE_VISITS = 1e9

#: The longest margin call, in checks (the engine counts them in 32 bits).
MAX_MARGIN_CALL_CHECKS = 2**32 - 1

#: The most money one account may start with: its positions in lots and its money
#: stay far from where int64 or double arithmetic loses them.
MAX_ACCOUNT_CASH = 1e15


def leverage_every(scenario: Scenario) -> int:
    """Steps between samples of each population's aggregate leverage."""
    samples = min(LEVERAGE_SAMPLES, max(20, int(LEVERAGE_VISITS / scenario.total_accounts)))
    return max(1, scenario.clock.steps // samples)


def loadings(correlation: tuple[tuple[float, ...], ...]) -> list[float]:
    """B with B B^T = correlation, row-major ([] for independent instruments).

    Cholesky when the matrix is positive definite (so the first instrument's
    shocks are the same draws as without correlation); otherwise the symmetric
    square root from the eigen decomposition.
    """
    if not correlation:
        return []
    c = np.array(correlation, dtype=np.float64)
    try:
        b = np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(c)
        b = v @ np.diag(np.sqrt(np.clip(w, 0.0, None))) @ v.T
    return [float(x) for x in b.ravel()]


def engine_settings(scenario: Scenario) -> _core.EngineSettings:
    """The margin engine's settings of a scenario."""
    return _core.EngineSettings(
        insurance_fund=scenario.insurance_fund,
        instrument_funds=instrument_funds(scenario),
        adl=scenario.adl,
        max_liquidation_notional=scenario.policy.max_liquidation_notional_per_step,
        close_order=close_order(scenario.close_order),
        liquidity=[inst.liquidity for inst in scenario.instruments],
        liquidate_at_market=scenario.liquidation_orders == "market",
        fund_equity=scenario.fund_covers == "equity",
        liquidation_capacity=liquidation_capacity(scenario),
        margin_ratio_order=scenario.liquidation_priority == "margin_ratio",
        margin_call_checks=margin_call_checks(scenario),
        close_out_ratio=scenario.policy.close_out_ratio,
    )


def margin_call_checks(scenario: Scenario) -> int:
    """A margin call's length in checks (one a step), rounded up to whole steps."""
    grace = scenario.policy.margin_call_grace
    # A call longer than any run (1e8 steps) never ends in one: the engine's
    # 32-bit count holds every call a run can see end.
    return min(math.ceil(grace / scenario.clock.dt), MAX_MARGIN_CALL_CHECKS)


def instrument_funds(scenario: Scenario) -> list[float | None]:
    """Each instrument's own insurance fund (None: it shares the venue's); []
    when none has one."""
    funds = [inst.insurance_fund for inst in scenario.instruments]
    return funds if any(f is not None for f in funds) else []


def liquidation_capacity(scenario: Scenario) -> list[float]:
    """Each instrument's liquidation capacity per step ([] when none has one:
    the engine then keeps no count per instrument)."""
    caps = [inst.liquidation_capacity for inst in scenario.instruments]
    return caps if any(math.isfinite(c) for c in caps) else []


def simulation_spec(
    scenario: Scenario,
    seed: int,
    *,
    trade_log: bool = False,
    extra_populations: Sequence[_core.PopulationSpec] = (),
    extra_follows: Sequence[int | None] = (),
) -> _core.SimulationSpec:
    """The clock's spec of a scenario run with `seed`; `extra_populations` (a
    snapshot's blocks of accounts) follow the scenario's own, each following the
    scenario population `extra_follows` names (None: none)."""
    names = [inst.name for inst in scenario.instruments]
    dt = scenario.clock.dt
    policy = scenario.policy
    pops = []
    first = 0
    for pop in scenario.populations:
        pops.append(population(pop, first, names, dt))
        first += pop.accounts
    return _core.SimulationSpec(
        dt=dt,
        steps=scenario.clock.steps,
        seed=seed,
        leverage_every=leverage_every(scenario),
        volatility_window=max(10.0, 300.0 / dt),
        trade_log=bool(trade_log),
        count_resting_fills=scenario.order_from == "current",
        requote_together=scenario.requote == "together",
        fund_unwind_share=(
            1.0 - 2.0 ** (-dt / policy.fund_unwind_half_life)
            if policy.fund_unwind_half_life > 0
            else 0.0
        ),
        fund_unwind_band=policy.fund_unwind_band,
        loadings=loadings(scenario.correlation),
        fundamentals=[fundamental(i.fundamental, i.start_price) for i in scenario.instruments],
        tick_size=[inst.tick_size for inst in scenario.instruments],
        start_ticks=[inst.start_ticks for inst in scenario.instruments],
        mark_rules=[mark_rule(inst.mark) for inst in scenario.instruments],
        populations=[*pops, *extra_populations],
        margin_changes=[margin_change(c, names) for c in policy.margin_changes],
        population_changes=population_changes(scenario, extra_follows),
        triggers=[volatility_trigger(t, names) for t in policy.volatility_triggers],
    )


@dataclass(frozen=True)
class Accounts:
    """Every account's column, in account order."""

    cash: npt.NDArray[np.float64]
    instrument: npt.NDArray[np.uint16]
    mode: npt.NDArray[np.uint8]
    population: npt.NDArray[np.uint16]
    param: npt.NDArray[np.float64]


def accounts(scenario: Scenario, seed: int, extra: int = 0) -> Accounts:
    """The accounts of a run: cash and each strategy's per-account parameter drawn
    from the population's distributions, one generator per population seeded
    from (`seed`, its index), so adding a population never reshuffles another.
    With room for `extra` accounts after them (zeros, for a snapshot's to fill)."""
    names = [inst.name for inst in scenario.instruments]
    total = scenario.total_accounts + extra
    out = Accounts(
        cash=np.zeros(total),
        instrument=np.zeros(total, dtype=np.uint16),
        mode=np.zeros(total, dtype=np.uint8),
        population=np.zeros(total, dtype=np.uint16),
        param=np.zeros(total),
    )
    first = 0
    for k, pop in enumerate(scenario.populations):
        rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
        n = pop.accounts
        at = slice(first, first + n)
        drawn = pop.cash.sample(rng, n)
        largest = float(drawn.max()) if n else 0.0
        if not largest <= MAX_ACCOUNT_CASH:  # also NaN or inf
            raise ValueError(
                f"populations[{k}].cash: each account's cash must be <= {MAX_ACCOUNT_CASH:g} "
                f"(money), got a sample of {largest:.6g}"
            )
        out.cash[at] = drawn
        del drawn
        field = STRATEGIES[type(pop.params)].account_param
        if field:
            out.param[at] = getattr(pop.params, field).sample(rng, n)
        out.instrument[at] = names.index(pop.instrument)
        out.mode[at] = 1 if pop.margin_mode == "cross" else 0
        out.population[at] = k
        first += n
    return out


@dataclass(frozen=True)
class EngineInput:
    """Everything the engine is built from for one run."""

    spec: _core.SimulationSpec
    settings: _core.EngineSettings
    tick_values: list[float]
    rules: list[_core.MarginRuleSpec]
    accounts: Accounts
    #: The engine's blocks of accounts when a snapshot joins the generated ones
    #: (None: the scenario's populations alone).
    blocks: AccountBlocks | None = None


def engine_input(
    scenario: Scenario, seed: int, *, trade_log: bool = False, snapshot: SnapshotPart | None = None
) -> EngineInput:
    """The engine's input for `scenario` run with `seed`; with a `snapshot` of accounts
    (``deleverage.data.join``) its accounts are the snapshot part's: the generated
    ones, then the snapshot's."""
    instruments: tuple[InstrumentSpec, ...] = scenario.instruments
    drawn = accounts(scenario, seed) if snapshot is None else snapshot.accounts
    return EngineInput(
        spec=simulation_spec(
            scenario,
            seed,
            trade_log=trade_log,
            extra_populations=() if snapshot is None else snapshot.specs,
            extra_follows=() if snapshot is None else snapshot.follows,
        ),
        settings=engine_settings(scenario),
        tick_values=[inst.tick_value for inst in instruments],
        rules=[margin_rule(inst.margin) for inst in instruments],
        accounts=drawn,
        blocks=None if snapshot is None else snapshot.blocks,
    )


def simulation(data: EngineInput) -> _core.Simulation:
    """The compiled simulation of an engine input (not yet run)."""
    a = data.accounts
    return _core.Simulation(
        data.spec,
        data.settings,
        data.tick_values,
        data.rules,
        cash=a.cash,
        instrument=a.instrument,
        mode=a.mode,
        population=a.population,
        param=a.param,
    )
