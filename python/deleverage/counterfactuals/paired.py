"""``counterfactual(scenario, factors, seeds)``: paired runs on common random numbers.

For each seed the baseline and every counterfactual world run with the same
simulation seed, so they share the accounts' draws, the fair value's diffusion
and the order flow's randomness (see ``factors``); the difference between a
pair is the removed cause and what follows from it. Shares and their
intervals are computed in ``shares``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

from deleverage.counterfactuals.factors import DEFAULT_FACTORS, FactorFunction, resolve_factors
from deleverage.counterfactuals.result import LABELS, CounterfactualResult
from deleverage.counterfactuals.shares import (
    Shares,
    bootstrap_indices,
    quantiles,
    seed_shares,
    shares,
)
from deleverage.scenario import Scenario
from deleverage.sweeps.seeds import SeedPlan, check_seed

__all__ = ["DEFAULT_METRICS", "counterfactual", "run_group_metrics", "run_metrics"]

#: The metrics whose shares ``counterfactual`` reports unless told otherwise.
DEFAULT_METRICS: tuple[str, ...] = ("max_drawdown", "liquidated_notional")

#: One run: (scenario, simulation seed, instrument measured).
RunTask = tuple[Scenario, int, str]

#: Worlds that share steps (``deleverage.shared_steps``), run with one seed: (worlds,
#: simulation seed, instrument measured).
GroupTask = tuple[tuple[Scenario, ...], int, str]


def run_metrics(task: RunTask) -> dict[str, float]:
    """The headline metrics of one run (module level, so process pools and Dask
    workers can call it); the engine releases the GIL while it runs."""
    from deleverage.result import simulation_metrics
    from deleverage.simulate import build

    scenario, seed, instrument = task
    start = time.perf_counter()
    sim, _ = build(scenario, seed)
    sim.run()
    m = simulation_metrics(scenario, sim, time.perf_counter() - start, instrument)
    return {k: float(m[k]) for k in LABELS}


def run_group_metrics(task: GroupTask) -> list[dict[str, float]]:
    """The headline metrics of each world of a group run with one seed, sharing
    the steps they have in common (``deleverage.shared_steps.run_worlds``): the
    same numbers as ``run_metrics`` of each, in the group's order."""
    from deleverage.result import simulation_metrics
    from deleverage.shared_steps import run_worlds

    worlds, seed, instrument = task
    out: dict[int, dict[str, float]] = {}
    for k, sim, _, seconds in run_worlds(worlds, seed):
        m = simulation_metrics(worlds[k], sim, seconds, instrument)
        out[k] = {name: float(m[name]) for name in LABELS}
    return [out[k] for k in range(len(worlds))]


def _check_confidence(confidence: object) -> float | None:
    if confidence is None:
        return None
    if isinstance(confidence, bool) or not isinstance(confidence, Real):
        raise TypeError(
            f"confidence: must be a number in (0, 1) or None, got {type(confidence).__name__}"
        )
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence: must be in (0, 1) or None, got {c}")
    return c


def _check_metrics(metrics: object) -> tuple[str, ...]:
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(f"metrics: must be a list of metric names, got {type(metrics).__name__}")
    out = tuple(metrics)
    if not out:
        raise ValueError(f"metrics: at least one is needed; known: {', '.join(LABELS)}")
    for k, m in enumerate(out):
        if m not in LABELS:
            raise ValueError(f"metrics[{k}]: must be one of {', '.join(LABELS)}, got {m!r}")
        if m in out[:k]:
            raise ValueError(f"metrics[{k}]: {m!r} is listed twice")
    return out


def _collect(
    tasks: list[GroupTask],
    executor: object,
    workers: int | None,
    labels: list[str],
    security: Any = None,
) -> list[list[dict[str, float]]]:
    """Every task's metrics (a list, one per world of its group), in task order,
    whatever runs them."""
    from deleverage.sweeps.executors import make_backend

    backend = make_backend(executor, workers, security)
    futures: list[Any] = []
    try:
        futures = [backend.submit(run_group_metrics, task) for task in tasks]
        out = []
        for task, label, fut in zip(tasks, labels, futures, strict=True):
            try:
                out.append(fut.result())
            except Exception as e:
                raise RuntimeError(
                    f"world {label!r}, seed {task[1]}: {type(e).__name__}: {e}"
                ) from e
        return out
    finally:
        backend.cancel(futures)
        backend.close()


def _world_metrics(
    unique: Sequence[Scenario],
    run_seeds: Sequence[int],
    instrument: str,
    executor: object,
    workers: int | None,
    name_of: Callable[[int], str],
    security: Any = None,
) -> list[dict[str, float]]:
    """Every world's metrics with every seed, world by world (``[j * seeds + k]``).

    Worlds that part from another only at a scheduled step (the news, a
    margin notice) run from a copy of it there (``deleverage.shared_steps``):
    one task a group of them and a seed. ``name_of(j)`` names world ``j`` in errors.
    """
    from deleverage.shared_steps import share_groups

    n = len(run_seeds)
    groups = share_groups(unique, run_seeds[0])
    tasks: list[GroupTask] = [
        (tuple(unique[j] for j in group), s, instrument) for group in groups for s in run_seeds
    ]
    labels = [" / ".join(name_of(j) for j in group) for group in groups for _ in run_seeds]
    by_task = _collect(tasks, executor, workers, labels, security)
    done: list[dict[str, float]] = [{} for _ in range(len(unique) * n)]
    for t, (group, k) in enumerate((g, k) for g in groups for k in range(n)):
        for j, metrics_of in zip(group, by_task[t], strict=True):
            done[j * n + k] = metrics_of
    return done


def counterfactual(
    scenario: Scenario,
    factors: Sequence[str] | Mapping[str, str | FactorFunction] = DEFAULT_FACTORS,
    seeds: int | Sequence[int] = 20,
    seed: int = 0,
    executor: Any = None,
    workers: int | None = None,
    confidence: float | None = 0.95,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    instrument: str | None = None,
    resamples: int = 10_000,
    security: Any = None,
) -> CounterfactualResult:
    """How much of the crash each cause explains: paired runs on common random numbers.

    For every seed, runs ``scenario`` (the baseline) and, with the same seed,
    the world without each factor and the world without all of them (the joint
    world). A factor's share of a metric is ``(baseline - counterfactual) /
    baseline`` as a ratio of the means over seeds, with a paired percentile
    bootstrap interval over seeds (see ``deleverage.counterfactuals.shares``).

    factors: built-in factor names (``leverage``, ``dealers``, ``arbitrage``,
        ``news``, ``margin_hikes``, ``cross_margin``; see
        ``deleverage.counterfactual.FACTORS``), or a mapping from names to
        built-in names or callables ``Scenario -> Scenario``. A factor that
        leaves the scenario as it was is flagged ``changed = False`` and not run.
    seeds: how many seeds (run ``k`` simulates with ``run_seed(seed, k)``, as a
        sweep does), or a list of simulation seeds.
    seed: the seed the runs' seeds are spawned from; it also seeds the bootstrap.
    executor, workers: where runs execute, as for ``sweep``: None for
        ``workers`` threads (default: the usable CPUs), any
        ``concurrent.futures.Executor``, or a Dask client, cluster or address.
    security: the Dask TLS settings for a scheduler address, as for ``sweep``.
    confidence: of the intervals, in (0, 1); None for no intervals (then one
        seed is enough; with intervals at least two are needed).
    metrics: which of ``max_drawdown``, ``liquidated_notional`` and
        ``liquidations`` to attribute (all measured on ``instrument``).
    instrument: the instrument measured (default: the first).
    resamples: bootstrap resamples (1..1e6).

    The tables depend only on the arguments, not on the executor or workers.
    """
    start = time.perf_counter()
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    seed = check_seed("seed", seed)
    conf = _check_confidence(confidence)
    metric_names = _check_metrics(metrics)
    if isinstance(resamples, bool) or not isinstance(resamples, int):
        raise TypeError(f"resamples: must be an integer, got {type(resamples).__name__}")
    if not 1 <= resamples <= 1_000_000:
        raise ValueError(f"resamples: must be in [1, 1000000], got {resamples}")
    if instrument is None:
        instrument = scenario.instruments[0].name
    elif instrument not in [i.name for i in scenario.instruments]:
        known = ", ".join(i.name for i in scenario.instruments)
        raise ValueError(f"instrument: must be one of {known}, got {instrument!r}")
    plan = SeedPlan(seeds, seed)
    n = plan.per_point
    if conf is not None and n < 2:
        raise ValueError(
            f"seeds: an interval needs at least 2 seeds, got {n} (or pass confidence=None)"
        )
    resolved = resolve_factors(factors)
    run_seeds = tuple(plan.seed(k) for k in range(n))

    # The worlds: the baseline, each changed factor's, and the joint one. Equal
    # worlds are run once.
    worlds: dict[str, Scenario] = {"baseline": scenario}
    changed: dict[str, bool] = {}
    joint = scenario
    for factor in resolved:
        world = factor.apply(scenario)
        changed[factor.name] = world != scenario
        if changed[factor.name]:
            worlds[factor.name] = world
        joint = factor.apply(joint)
    any_changed = any(changed.values())
    if any_changed:
        worlds["joint"] = joint
    unique: list[Scenario] = []
    slot: dict[str, int] = {}
    for name, world in worlds.items():
        for j, seen in enumerate(unique):
            if seen == world:
                slot[name] = j
                break
        else:
            slot[name] = len(unique)
            unique.append(world)

    done = _world_metrics(
        unique, run_seeds, instrument, executor, workers, lambda j: _first(slot, j), security
    )
    values = {
        m: np.array([r[m] for r in done], dtype=np.float64).reshape(len(unique), n)
        for m in metric_names
    }

    names = list(worlds)  # baseline first
    cf_names = names[1:]
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    indices = bootstrap_indices(n, resamples, rng) if conf is not None else None
    factor_names = [factor.name for factor in resolved]
    changed_factors = [name for name in factor_names if changed[name]]
    rows: dict[str, dict[str, Any]] = {
        name: {"kind": "factor", "changed": changed[name], "seeds": n} for name in factor_names
    }
    rows["joint"] = {"kind": "joint", "changed": any_changed, "seeds": n}
    rows["interaction"] = {"kind": "interaction", "changed": any_changed, "seeds": n}
    rows["remainder"] = {"kind": "remainder", "changed": any_changed, "seeds": n}
    run_rows: list[dict[str, Any]] = [
        {"world": name, "seed_index": k, "seed": s}
        for name in names
        for k, s in enumerate(run_seeds)
    ]

    for m in metric_names:
        label = LABELS[m]
        per_world = values[m]
        base = per_world[slot["baseline"]]
        cf = np.array([per_world[slot[w]] for w in cf_names]).reshape(len(cf_names), n)
        result = shares(base, cf, indices, conf)
        by_world = dict(zip(cf_names, range(len(cf_names)), strict=True))
        for r, name in enumerate(names):
            metric_row = per_world[slot[name]]
            per_seed = np.full(n, math.nan) if name == "baseline" else seed_shares(base, metric_row)
            for k in range(n):
                run_rows[r * n + k][m] = float(metric_row[k])
                run_rows[r * n + k][f"{label}_share"] = float(per_seed[k])
        for name, row in rows.items():
            if name in by_world:
                j = by_world[name]
                cf_row = cf[j]
                per_seed = seed_shares(base, cf_row)
                finite = per_seed[np.isfinite(per_seed)]
                row |= {
                    f"{label}_share": float(result.share[j]),
                    f"{label}_low": float(result.low[j]),
                    f"{label}_high": float(result.high[j]),
                    f"{label}_seed_share": float(finite.mean()) if finite.size else math.nan,
                    f"{label}_lowered": int(np.sum(cf_row < base)),
                    f"{label}_baseline": float(base.mean()),
                    f"{label}_counterfactual": float(cf_row.mean()),
                }
            else:
                row |= _combined(name, label, changed_factors, by_world, result, conf)

    import pandas as pd

    shares_table = pd.DataFrame.from_dict(rows, orient="index")
    shares_table.index.name = "factor"
    for m in metric_names:
        column = f"{LABELS[m]}_lowered"
        shares_table[column] = shares_table[column].astype("Int64")
    runs = pd.DataFrame(run_rows)
    return CounterfactualResult(
        scenario=scenario.name,
        instrument=instrument,
        metrics=metric_names,
        factors=tuple(factor_names),
        seeds=run_seeds,
        seed=seed,
        confidence=conf,
        resamples=resamples if conf is not None else 0,
        shares=shares_table,
        runs=runs,
        wall_seconds=time.perf_counter() - start,
        worlds=worlds,
    )


def _first(slot: dict[str, int], j: int) -> str:
    """The first world's name run in slot ``j`` (for error messages)."""
    return next(name for name, k in slot.items() if k == j)


def _combined(
    name: str,
    label: str,
    changed_factors: list[str],
    by_world: dict[str, int],
    result: Shares,
    conf: float | None,
) -> dict[str, Any]:
    """A row that is not one factor's: unchanged factors, interaction, remainder."""
    nan = math.nan
    row: dict[str, Any] = {
        f"{label}_share": nan,
        f"{label}_low": nan,
        f"{label}_high": nan,
        f"{label}_seed_share": nan,
        f"{label}_lowered": None,
        f"{label}_baseline": nan,
        f"{label}_counterfactual": nan,
    }
    if name not in ("interaction", "remainder") or not changed_factors:
        return row
    cols = [by_world[f] for f in changed_factors]
    total = float(np.sum(result.share[cols]))
    joint = result.share[by_world["joint"]]
    row[f"{label}_share"] = joint - total if name == "interaction" else 1.0 - total
    if result.resampled is not None and conf is not None:
        sampled_total = result.resampled[:, cols].sum(axis=1)
        sampled = (
            result.resampled[:, by_world["joint"]] - sampled_total
            if name == "interaction"
            else 1.0 - sampled_total
        )
        low, high = quantiles(sampled[:, None], conf)
        row[f"{label}_low"] = float(low[0])
        row[f"{label}_high"] = float(high[0])
    return row
