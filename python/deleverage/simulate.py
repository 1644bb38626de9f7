"""Run a scenario: ``simulate(scenario, seed) -> Result``.

The scenario is turned into the engine's plain description here (accounts
drawn from each population's distributions with a generator seeded from
``seed``, horizons turned into per-step weights), then the whole run executes
in C++ without the GIL.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from deleverage import _core
from deleverage.data.join import AccountBlocks, snapshot_part
from deleverage.data.paths import attach_paths
from deleverage.result import Result
from deleverage.scenario import (
    AllocatorParams,
    HolderParams,
    MarketMakerParams,
    NoiseParams,
    Scenario,
    SpeculatorParams,
    ValueParams,
)

log = logging.getLogger(__name__)

STRATEGY_PARAM = {
    "speculator": "target_leverage",
    "allocator": "target_leverage",
    "noise": "order_size",
    "market_maker": "depth_lots",
}


def _alpha(horizon_seconds: float, dt: float) -> float:
    """Per-step weight of an exponential average over `horizon_seconds`."""
    return 2.0 / (max(horizon_seconds / dt, 1.0) + 1.0)


def _population_spec(pop: Any, first: int, names: list[str], dt: float) -> dict[str, Any]:
    instruments = [names.index(x) for x in pop.traded]
    spec: dict[str, Any] = {
        "strategy": pop.strategy,
        "first": first,
        "count": pop.accounts,
        "instrument": instruments[0],
        "instruments": instruments,
        "activity": min(1.0, pop.activity * dt / 3600.0),
    }
    p = pop.params
    if isinstance(p, SpeculatorParams):
        spec |= {
            "fast_alpha": _alpha(p.fast_horizon, dt),
            "slow_alpha": _alpha(p.slow_horizon, dt),
            "threshold": p.threshold,
            "max_leverage": p.max_leverage,
            "short_fraction": p.short_fraction,
        }
    elif isinstance(p, NoiseParams):
        spec |= {
            "limit_share": p.limit_share,
            "limit_offset_ticks": p.limit_offset_ticks,
            "sentiment_persistence": p.sentiment_persistence,
            "sentiment_volatility": p.sentiment_volatility,
        }
    elif isinstance(p, ValueParams):
        spec |= {
            "capital_fraction": p.capital_fraction,
            "aggressiveness": p.aggressiveness,
            "vol_reference": p.vol_reference,
            "vol_exit": p.vol_exit,
            "leverage": p.leverage,
            "reach": p.reach,
            "hold_when_out": p.hold_when_out,
            "hold_to_fair": p.hold_to_fair,
            "calm_steps": round(p.calm_after / dt),
        }
    elif isinstance(p, MarketMakerParams):
        spec |= {
            "levels": p.levels,
            "base_spread_ticks": p.base_spread_ticks,
            "vol_spread_factor": p.vol_spread_factor,
            "inventory_limit": p.inventory_limit,
            "vol_withdraw": p.vol_withdraw,
            "loss_withdraw": p.loss_withdraw,
            "calm_steps": p.calm_steps,
            "fair_weight": p.fair_weight,
            "basis_alpha": _alpha(p.basis_horizon, dt) if p.basis_horizon > 0 else 0.0,
            "max_basis": min(p.max_basis, 1e300),
            "stress_instruments": [names.index(x) for x in p.stress_instruments],
        }
    elif isinstance(p, AllocatorParams):
        spec |= {
            "max_leverage": p.max_leverage,
            "slow_alpha": _alpha(p.vol_horizon, dt),
            "vol_target": p.vol_target,
            "rebalance_band": p.rebalance_band,
        }
    elif isinstance(p, HolderParams):
        spec |= {
            "holder_alpha": _alpha(p.slow_horizon, dt),
            "dip": p.dip,
            "budget_fraction": p.budget_fraction,
        }
    return spec


#: Each leverage sample visits every account: at most this many samples a run,
#: and at most LEVERAGE_VISITS account visits in all (at least 20 samples).
LEVERAGE_SAMPLES = 500
LEVERAGE_VISITS = 1e9


def _leverage_every(scenario: Scenario) -> int:
    """Steps between samples of each population's aggregate leverage."""
    samples = min(LEVERAGE_SAMPLES, max(20, int(LEVERAGE_VISITS / scenario.total_accounts)))
    return max(1, scenario.clock.steps // samples)


def _loadings(correlation: tuple[tuple[float, ...], ...]) -> list[float]:
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


#: The most money one account may start with: its positions in lots and its money
#: stay far from where int64 or double arithmetic loses them.
MAX_ACCOUNT_CASH = 1e15


def build(
    scenario: Scenario, seed: int, *, trade_log: bool = False
) -> tuple[_core.Simulation, dict[str, Any]]:
    """The engine's simulation for a scenario and seed (not yet run)."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ValueError(f"seed: must be an integer in 0..2**63-1, got {seed!r}")
    seed = int(seed)
    names = [inst.name for inst in scenario.instruments]
    dt = scenario.clock.dt
    cash, param, instrument, mode, population, pops = [], [], [], [], [], []
    first = 0
    for k, pop in enumerate(scenario.populations):
        # One generator per population: adding a population never reshuffles another.
        rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
        n = pop.accounts
        drawn = pop.cash.sample(rng, n)
        largest = float(drawn.max()) if n else 0.0
        if not largest <= MAX_ACCOUNT_CASH:  # also NaN or inf
            raise ValueError(
                f"populations[{k}].cash: each account's cash must be <= {MAX_ACCOUNT_CASH:g} "
                f"(money), got a sample of {largest:.6g}"
            )
        cash.append(drawn)
        field = STRATEGY_PARAM.get(pop.strategy)
        param.append(getattr(pop.params, field).sample(rng, n) if field else np.zeros(n))
        i = names.index(pop.instrument)
        instrument.append(np.full(n, i, dtype=np.uint16))
        mode.append(np.full(n, 1 if pop.margin_mode == "cross" else 0, dtype=np.uint8))
        population.append(np.full(n, k, dtype=np.uint16))
        pops.append(_population_spec(pop, first, names, dt))
        first += n
    # A snapshot of accounts joins after the generated ones (deleverage.data.join).
    joined = snapshot_part(scenario, seed, first, STRATEGY_PARAM, _population_spec)
    if joined is not None:
        cash.append(joined.cash)
        param.append(joined.param)
        instrument.append(joined.instrument)
        mode.append(joined.mode)
        population.append(joined.population)
        pops.extend(joined.specs)

    fundamentals = []
    for inst in scenario.instruments:
        f = inst.fundamental
        fundamentals.append(
            {
                "start": inst.start_price,
                "drift": f.drift,
                "volatility": f.volatility,
                "mean_reverting": f.kind == "mean_reverting",
                "reversion": f.reversion,
                "anchor": f.anchor if f.anchor is not None else inst.start_price,
                "vol_of_vol": f.vol_of_vol,
                "vol_half_life": f.vol_half_life,
                "shocks": [(s.step, s.kind, s.value) for s in f.shocks],
                "waypoints": [(w.step, w.price) for w in f.waypoints],
            }
        )
    policy = scenario.policy
    spec = {
        "dt": dt,
        "steps": scenario.clock.steps,
        "seed": seed,
        "leverage_every": _leverage_every(scenario),
        "volatility_window": max(10.0, 300.0 / dt),
        "trade_log": bool(trade_log),
        "fund_unwind_share": (
            1.0 - 2.0 ** (-dt / policy.fund_unwind_half_life)
            if policy.fund_unwind_half_life > 0
            else 0.0
        ),
        "loadings": _loadings(scenario.correlation),
        "close_order": scenario.close_order,
        "liquidation_orders": scenario.liquidation_orders,
        "liquidity": [inst.liquidity for inst in scenario.instruments],
        "fundamentals": fundamentals,
        "tick_size": [inst.tick_size for inst in scenario.instruments],
        "start_ticks": [inst.start_ticks for inst in scenario.instruments],
        "mark_rules": [inst.mark for inst in scenario.instruments],
        "populations": pops,
        "margin_changes": [
            (c.step, names.index(c.instrument), asdict(c.margin)) for c in policy.margin_changes
        ],
        "triggers": [
            (names.index(t.instrument), float(t.window_steps), t.threshold, asdict(t.margin))
            for t in policy.volatility_triggers
        ],
    }
    sim = _core.Simulation(
        spec,
        [inst.tick_value for inst in scenario.instruments],
        [asdict(inst.margin) for inst in scenario.instruments],
        insurance_fund=scenario.insurance_fund,
        adl=scenario.adl,
        max_liquidation_notional=policy.max_liquidation_notional_per_step,
        cash=np.concatenate(cash),
        instrument=np.concatenate(instrument),
        mode=np.concatenate(mode),
        population=np.concatenate(population),
        param=np.concatenate(param),
    )
    # Recorded paths: bound structs, after the spec (deleverage.data).
    attach_paths(sim, scenario)
    if joined is not None:
        sim.open_positions(first, joined.position(), joined.entry_ticks(scenario))
    spec["blocks"] = AccountBlocks.generated(scenario) if joined is None else joined.blocks
    return sim, spec


def simulate(
    scenario: Scenario,
    seed: int = 0,
    *,
    progress: bool | None = None,
    keep_partial: bool = False,
    trade_log: bool = False,
    account_states: bool = False,
) -> Result:
    """Run `scenario` with `seed`; the same scenario and seed give bit-identical results.

    progress: a progress bar (tqdm) on runs longer than a second; None shows it
    only on a terminal. On Ctrl-C the run stops between steps and raises
    KeyboardInterrupt, unless keep_partial is true: then the steps done so far
    come back as a partial Result. trade_log: keep every trade (``Result.trades``);
    a day at a million accounts makes tens of millions of them. account_states: keep
    every account's final state (``Result.account_states``, see
    ``deleverage.account_states``).
    """
    start = time.perf_counter()
    if not isinstance(trade_log, bool):
        raise TypeError(f"trade_log: must be a bool, got {type(trade_log).__name__}")
    if not isinstance(account_states, bool):
        raise TypeError(f"account_states: must be a bool, got {type(account_states).__name__}")
    sim, spec = build(scenario, seed, trade_log=trade_log)
    log.debug(
        "%s: built %d accounts in %.2f s",
        scenario.name,
        scenario.total_accounts,
        time.perf_counter() - start,
    )
    show = sys.stderr.isatty() if progress is None else progress
    bar = None

    def tick(done: int) -> None:
        nonlocal bar
        if bar is None and show and time.perf_counter() - start > 1.0:
            from tqdm.auto import tqdm

            bar = tqdm(total=scenario.clock.steps, unit="step", desc=scenario.name, leave=False)
        if bar is not None:
            bar.update(done - bar.n)

    try:
        sim.run(tick)
    except KeyboardInterrupt:
        if not keep_partial:
            raise
        log.debug("%s: interrupted; keeping the steps done", scenario.name)
    finally:
        if bar is not None:
            bar.close()
    return Result.from_simulation(
        scenario,
        seed,
        sim,
        time.perf_counter() - start,
        trade_log=trade_log,
        account_states=account_states,
        blocks=spec["blocks"],
    )


def simulate_metrics(scenario: Scenario, seed: int = 0) -> dict[str, float | int]:
    """``simulate(scenario, seed).metrics()`` without building the Result's tables:
    the same numbers, for sweeps of many small runs where the tables would cost
    as much as the run."""
    from deleverage.result import simulation_metrics

    start = time.perf_counter()
    sim, _ = build(scenario, seed)
    sim.run()
    return simulation_metrics(scenario, sim, time.perf_counter() - start)
