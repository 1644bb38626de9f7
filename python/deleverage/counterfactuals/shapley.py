"""``shapley(scenario, factors, seeds)``: causes that add up to the whole crash.

``counterfactual`` removes one cause at a time; the shares it reports overlap
(two causes that need each other each explain most of the crash) and do not
sum to the whole. ``shapley`` runs every one of the ``2**k`` worlds, each with a
subset of the ``k`` causes removed, on the same seeds (common random numbers),
and attributes the move from the world with no cause (every factor removed)
to the scenario as it is (every cause present) exactly: the causes' Shapley
values add up to that difference, seed by seed (``shapley_values``). Each
value gets a seed-bootstrap interval, and each pair of causes its Shapley
interaction index (what the two do together beyond the sum of their parts).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from deleverage.counterfactuals.factors import DEFAULT_FACTORS, FactorFunction, resolve_factors
from deleverage.counterfactuals.paired import (
    DEFAULT_METRICS,
    _check_confidence,
    _check_metrics,
    _world_metrics,
)
from deleverage.counterfactuals.result import LABELS
from deleverage.counterfactuals.shapley_values import interaction_indices, shapley_values
from deleverage.counterfactuals.shares import bootstrap_indices, quantiles
from deleverage.scenario import Scenario
from deleverage.sweeps.seeds import SeedPlan, check_seed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MAX_SHAPLEY_FACTORS", "ShapleyResult", "shapley", "world_name"]

#: The most factors ``shapley`` takes unless told otherwise: 2**6 = 64 worlds per seed.
MAX_SHAPLEY_FACTORS = 6
#: The hard limit of ``max_factors``: 2**10 worlds per seed.
LIMIT_SHAPLEY_FACTORS = 10


def world_name(mask: int, factors: Sequence[str]) -> str:
    """The name of the world whose present causes are the bits of ``mask``:
    ``"baseline"`` with every cause, ``"none"`` with none, else ``"no a, b"``."""
    removed = [f for i, f in enumerate(factors) if not mask >> i & 1]
    if not removed:
        return "baseline"
    if len(removed) == len(factors):
        return "none"
    return "no " + ", ".join(removed)


@dataclass(frozen=True)
class ShapleyResult:
    """The exact Shapley attribution of a scenario's crash to its causes.

    values: one row per factor, then ``total`` (baseline minus the world with no
        cause: the sum of the factors' values), ``baseline`` and ``none`` (the
        metric in the world with every cause / with none); columns per metric
        with prefix ``L`` (as in ``CounterfactualResult``): ``L_value`` (mean over
        seeds), ``L_low``, ``L_high`` (seed-bootstrap interval), ``L_share``
        (value over total); ``changed`` is False for a factor that leaves the
        scenario as it was (its value is exactly 0).
    interactions: one row per pair of factors (``factor_a``, ``factor_b``) and
        metric: ``value`` (the Shapley interaction index), ``low``, ``high``.
    worlds: one row per world and seed: ``world`` (its name), ``mask`` (bit i
        set: factor i present), ``seed_index``, ``seed``, then every metric.
    per_seed: metric -> (factors x seeds) Shapley values of each seed.
    """

    scenario: Scenario
    factors: tuple[str, ...]
    metrics: tuple[str, ...]
    seeds: tuple[int, ...]
    instrument: str
    confidence: float | None
    values: pd.DataFrame
    interactions: pd.DataFrame
    worlds: pd.DataFrame
    per_seed: dict[str, np.ndarray] = field(repr=False)
    wall_seconds: float = 0.0
    runs: int = 0

    def table(self) -> str:
        """The values as aligned text: per metric, each cause's value and interval and
        its share of the total, then the total and the two ends."""
        lines = []
        for m in self.metrics:
            label = LABELS[m]
            percent = m == "max_drawdown"
            lines.append(f"{m} (from the world with no cause to the baseline):")

            def fmt(x: float, percent: bool = percent) -> str:
                if not math.isfinite(x):
                    return "-"
                return f"{x:+.2%}" if percent else f"{x:+,.0f}"

            for name, row in self.values.iterrows():
                value = fmt(row[f"{label}_value"])
                interval = (
                    f"[{fmt(row[f'{label}_low'])}, {fmt(row[f'{label}_high'])}]"
                    if self.confidence is not None and name not in ("baseline", "none")
                    else ""
                )
                share = row[f"{label}_share"]
                share_text = f"{share:7.1%}" if math.isfinite(share) else ""
                lines.append(f"  {name:<14} {value:>14} {interval:<32} {share_text}")
            inter = self.interactions[self.interactions["metric"] == m]
            if len(inter):
                lines.append("  pairwise interactions (Shapley interaction index):")
                for _, row in inter.iterrows():
                    pair = f"{row['factor_a']} x {row['factor_b']}"
                    interval = (
                        f"[{fmt(row['low'])}, {fmt(row['high'])}]"
                        if self.confidence is not None
                        else ""
                    )
                    lines.append(f"    {pair:<26} {fmt(row['value']):>14} {interval}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (NaN as None)."""
        from deleverage.run_summary import plain

        return plain(  # type: ignore[no-any-return]
            {
                "scenario": self.scenario.name,
                "factors": list(self.factors),
                "metrics": list(self.metrics),
                "seeds": list(self.seeds),
                "instrument": self.instrument,
                "confidence": self.confidence,
                "wall_seconds": self.wall_seconds,
                "runs": self.runs,
                "values": self.values.reset_index().to_dict(orient="records"),
                "interactions": self.interactions.to_dict(orient="records"),
            }
        )

    def plot(self, metric: str = "max_drawdown") -> Figure:
        """A waterfall from the world with no cause to the baseline: one bar per cause
        (its Shapley value, with its interval), the two ends as full bars."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if metric not in self.metrics:
            raise ValueError(f"metric: must be one of {', '.join(self.metrics)}, got {metric!r}")
        label = LABELS[metric]
        scale = 100.0 if metric == "max_drawdown" else 1.0
        unit = " (%)" if metric == "max_drawdown" else ""
        v = self.values
        start = float(v[f"{label}_value"]["none"]) * scale
        end = float(v[f"{label}_value"]["baseline"]) * scale
        fig, ax = plt.subplots(figsize=(1.6 + 1.3 * (len(self.factors) + 2), 4.6))
        ax.bar(0, start, color="#7f8c8d")
        level = start
        for k, name in enumerate(self.factors, start=1):
            step = float(v[f"{label}_value"][name]) * scale
            colour = "#c0392b" if step >= 0 else "#2471a3"
            ax.bar(k, step, bottom=level, color=colour)
            if self.confidence is not None:
                lo = float(v[f"{label}_low"][name]) * scale
                hi = float(v[f"{label}_high"][name]) * scale
                if math.isfinite(lo) and math.isfinite(hi):
                    ax.errorbar(
                        k,
                        level + step,
                        yerr=[[max(step - lo, 0.0)], [max(hi - step, 0.0)]],
                        color="black",
                        capsize=3,
                        lw=1,
                    )
            ax.plot([k - 1 + 0.4, k - 0.4], [level, level], color="#555", lw=0.8)
            level += step
        last = len(self.factors) + 1
        ax.plot([last - 1 + 0.4, last - 0.4], [level, level], color="#555", lw=0.8)
        ax.bar(last, end, color="#1b2631")
        ax.set_xticks(range(last + 1), ["no cause", *self.factors, "baseline"], rotation=20)
        ax.set_ylabel(f"{metric}{unit}")
        ax.set_title(
            f"{self.scenario.name}: {metric} by cause (Shapley, {len(self.seeds)} seeds, "
            f"{self.instrument})"
        )
        ax.axhline(0.0, color="black", lw=0.6)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        return fig

    def save(self, folder: str | Path) -> list[Path]:
        """Write ``shapley.csv``, ``interactions.csv``, ``worlds.csv``, ``shapley.json`` and
        one waterfall ``shapley_<metric>.png`` per metric into ``folder``."""
        import json

        import matplotlib.pyplot as plt

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = [out / "shapley.csv", out / "interactions.csv", out / "worlds.csv"]
        self.values.to_csv(written[0])
        self.interactions.to_csv(written[1], index=False)
        self.worlds.to_csv(written[2], index=False)
        (out / "shapley.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        written.append(out / "shapley.json")
        for m in self.metrics:
            fig = self.plot(m)
            path = out / f"shapley_{m}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
        return written


def shapley(
    scenario: Scenario,
    factors: Sequence[str] | Mapping[str, str | FactorFunction] = DEFAULT_FACTORS,
    seeds: int | Sequence[int] = 8,
    seed: int = 0,
    executor: Any = None,
    workers: int | None = None,
    confidence: float | None = 0.95,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    instrument: str | None = None,
    resamples: int = 10_000,
    max_factors: int = MAX_SHAPLEY_FACTORS,
    security: Any = None,
) -> ShapleyResult:
    """The exact Shapley attribution of the crash to ``factors`` over paired seeds.

    Runs the ``2**k`` worlds (each subset of the factors removed, in the order
    given) on every seed; equal worlds (a factor that changes nothing) run once.
    Arguments as for ``counterfactual``; ``max_factors`` (1..10, default 6) bounds
    ``k``, since the runs double with each factor.
    """
    start = time.perf_counter()
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    seed = check_seed("seed", seed)
    conf = _check_confidence(confidence)
    metric_names = _check_metrics(metrics)
    if isinstance(max_factors, bool) or not isinstance(max_factors, int):
        raise TypeError(f"max_factors: must be an integer, got {type(max_factors).__name__}")
    if not 1 <= max_factors <= LIMIT_SHAPLEY_FACTORS:
        raise ValueError(f"max_factors: must be in [1, {LIMIT_SHAPLEY_FACTORS}], got {max_factors}")
    if isinstance(resamples, bool) or not isinstance(resamples, int):
        raise TypeError(f"resamples: must be an integer, got {type(resamples).__name__}")
    if not 1 <= resamples <= 1_000_000:
        raise ValueError(f"resamples: must be in [1, 1000000], got {resamples}")
    if instrument is None:
        instrument = scenario.instruments[0].name
    elif instrument not in [i.name for i in scenario.instruments]:
        known = ", ".join(i.name for i in scenario.instruments)
        raise ValueError(f"instrument: must be one of {known}, got {instrument!r}")
    resolved = resolve_factors(factors)
    k = len(resolved)
    if k > max_factors:
        raise ValueError(
            f"factors: {k} factors make {2**k} worlds per seed; at most max_factors = "
            f"{max_factors} (raise it, up to {LIMIT_SHAPLEY_FACTORS}, to run more)"
        )
    plan = SeedPlan(seeds, seed)
    n = plan.per_point
    if conf is not None and n < 2:
        raise ValueError(
            f"seeds: an interval needs at least 2 seeds, got {n} (or pass confidence=None)"
        )
    run_seeds = tuple(plan.seed(j) for j in range(n))
    names = tuple(f.name for f in resolved)
    # A factor that leaves the world as it was has a value of exactly 0; it is flagged.
    changed = {f.name: f.apply(scenario) != scenario for f in resolved}

    # Every world: factors whose bit is clear are removed, in the order given.
    worlds: list[Scenario] = []
    for mask in range(1 << k):
        world = scenario
        for i, factor in enumerate(resolved):
            if not mask >> i & 1:
                world = factor.apply(world)
        worlds.append(world)
    unique: list[Scenario] = []
    slot: list[int] = []
    for world in worlds:
        for j, seen in enumerate(unique):
            if seen == world:
                slot.append(j)
                break
        else:
            slot.append(len(unique))
            unique.append(world)
    done = _world_metrics(
        unique,
        run_seeds,
        instrument,
        executor,
        workers,
        lambda j: world_name(slot.index(j), names),
        security,
    )
    full = (1 << k) - 1

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    indices = bootstrap_indices(n, resamples, rng) if conf is not None else None
    rows: dict[str, dict[str, float]] = {name: {} for name in (*names, "total", "baseline", "none")}
    inter_rows: list[dict[str, Any]] = []
    per_seed: dict[str, np.ndarray] = {}
    world_rows = [
        {"world": world_name(mask, names), "mask": mask, "seed_index": j, "seed": s}
        for mask in range(1 << k)
        for j, s in enumerate(run_seeds)
    ]
    for m in metric_names:
        label = LABELS[m]
        by_slot = np.array([r[m] for r in done], dtype=np.float64).reshape(len(unique), n)
        v = by_slot[slot]  # (2**k, seeds)
        for mask in range(1 << k):
            for j in range(n):
                world_rows[mask * n + j][m] = float(v[mask, j])
        phi = shapley_values(v)  # (k, seeds)
        per_seed[m] = phi
        total = v[full] - v[0]
        mean_phi = phi.mean(axis=1)
        mean_total = float(total.mean())
        if indices is not None and conf is not None:
            boot = phi[:, indices].mean(axis=2).T  # (resamples, k)
            low, high = quantiles(boot, conf)
            t_low, t_high = quantiles(total[indices].mean(axis=1)[:, None], conf)
        else:
            low = high = np.full(k, math.nan)
            t_low = t_high = np.array([math.nan])
        for i, name in enumerate(names):
            rows[name] |= {
                f"{label}_value": float(mean_phi[i]),
                f"{label}_low": float(low[i]),
                f"{label}_high": float(high[i]),
                f"{label}_share": float(mean_phi[i] / mean_total) if mean_total else math.nan,
            }
        rows["total"] |= {
            f"{label}_value": mean_total,
            f"{label}_low": float(t_low[0]),
            f"{label}_high": float(t_high[0]),
            f"{label}_share": 1.0 if mean_total else math.nan,
        }
        for name, mask in (("baseline", full), ("none", 0)):
            rows[name] |= {
                f"{label}_value": float(v[mask].mean()),
                f"{label}_low": math.nan,
                f"{label}_high": math.nan,
                f"{label}_share": math.nan,
            }
        inter = interaction_indices(v)  # (k, k, seeds)
        for a in range(k):
            for b in range(a + 1, k):
                samples = inter[a, b]
                if indices is not None and conf is not None:
                    lo, hi = quantiles(samples[indices].mean(axis=1)[:, None], conf)
                    lo_v, hi_v = float(lo[0]), float(hi[0])
                else:
                    lo_v = hi_v = math.nan
                inter_rows.append(
                    {
                        "metric": m,
                        "factor_a": names[a],
                        "factor_b": names[b],
                        "value": float(samples.mean()),
                        "low": lo_v,
                        "high": hi_v,
                    }
                )
    values = pd.DataFrame.from_dict(rows, orient="index")
    values.insert(0, "changed", [changed.get(name, True) for name in values.index])
    values.index.name = "factor"
    interactions = pd.DataFrame(
        inter_rows, columns=["metric", "factor_a", "factor_b", "value", "low", "high"]
    )
    return ShapleyResult(
        scenario=scenario,
        factors=names,
        metrics=metric_names,
        seeds=run_seeds,
        instrument=instrument,
        confidence=conf,
        values=values,
        interactions=interactions,
        worlds=pd.DataFrame(world_rows),
        per_seed=per_seed,
        wall_seconds=time.perf_counter() - start,
        runs=len(unique) * n,
    )
