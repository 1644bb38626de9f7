"""``validate(scenario, seeds=8)``: does a scenario's market meet its targets?

Each seed is one run of the same world (common random numbers: seed ``k`` is
the same stream in every scenario validated, so two versions of a preset are
compared on the same draws). Every target's figure is measured on every run; a
target passes when its figure lies in its range in at least ``share`` of the
seeds (a NaN figure never lies in a range), and the scenario passes when every
target with a range does.

Each fact of returns is also measured on the fair value's own path, in the same
window at the same horizon (``value_passed``): a window of a few dozen returns
can fail a lag-1 autocorrelation or a kurtosis target even where the price is
its value, and a value without news in clusters has no fat tails for the price
to inherit. A failure the value shares is the window's or the value's as much
as the market's. The verdict is the market's figures' only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deleverage.calibration.drivers import target_drivers
from deleverage.calibration.evaluate import FactsOutput, FactsTask, check_figures
from deleverage.calibration.pass_rate import pass_rate_interval, shortfall_p_value
from deleverage.calibration.runner import run_tasks
from deleverage.calibration.store import EvaluationStore
from deleverage.scenario import Scenario, Target, to_toml_str
from deleverage.scenario.distributions import check_float
from deleverage.scenario.targets import STEP_FACTS
from deleverage.sweeps.progress import Progress
from deleverage.sweeps.seeds import check_seed

__all__ = ["Validation", "in_range", "needed_passes", "seed_list", "validate"]


def seed_list(seeds: int | Sequence[int]) -> tuple[int, ...]:
    """``seeds`` as a tuple: a count n >= 1 means seeds 0..n-1."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if not 1 <= int(seeds) <= 100_000:
            raise ValueError(f"seeds: must be a count in 1..100000 or a list, got {seeds}")
        return tuple(range(int(seeds)))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise TypeError(f"seeds: must be a count or a list of ints, got {type(seeds).__name__}")
    items = tuple(check_seed(f"seeds[{i}]", s) for i, s in enumerate(seeds))
    if not items:
        raise ValueError("seeds: the list must not be empty")
    if len(set(items)) != len(items):
        raise ValueError(f"seeds: must not repeat a seed, got {list(items)}")
    return items


def in_range(values: np.ndarray, targets: Sequence[Target]) -> np.ndarray:
    """targets x seeds: whether each figure of ``values`` (targets x seeds) lies in its
    target's range (False for NaN, and for a target without a range)."""
    out = np.zeros(values.shape, dtype=bool)
    for i, target in enumerate(targets):
        if target.range:
            low, high = target.range
            out[i] = (values[i] >= low) & (values[i] <= high)
    return out


def needed_passes(share: float, seeds: int) -> int:
    """Seeds out of ``seeds`` that must pass for a ``share`` (7 of 8 for 0.875)."""
    return max(1, math.ceil(share * seeds - 1e-9))


@dataclasses.dataclass(frozen=True)
class Validation:
    """The figures of every target on every seed, and the verdicts.

    values: targets x seeds (NaN where a run failed or a window held too few
    returns); errors: one per seed (None, or ``Type: message`` of a failed run).
    value_values: targets x seeds, each market target of a fact of returns
    (``VALUE_FACTS``) measured on the fair value's own path in the same window
    (NaN for the other targets), or None when not measured.
    reused: how many of the seeds' runs came from a store (``validate(out=...,
    resume=True)``) rather than being run now.
    """

    scenario: Scenario
    seeds: tuple[int, ...]
    targets: tuple[Target, ...]
    values: np.ndarray
    errors: tuple[str | None, ...]
    wall_seconds: float
    value_values: np.ndarray | None = None
    reused: int = 0

    def __post_init__(self) -> None:
        want = (len(self.targets), len(self.seeds))
        if self.values.shape != want:
            raise ValueError(f"values: must be targets x seeds {want}, got {self.values.shape}")
        if self.value_values is not None and self.value_values.shape != want:
            raise ValueError(
                f"value_values: must be targets x seeds {want}, got {self.value_values.shape}"
            )

    def passes(self) -> np.ndarray:
        """targets x seeds: whether each figure lies in its target's range."""
        return in_range(self.values, self.targets)

    def value_passed(self) -> list[int | None]:
        """Per target, the seeds whose fair value's own path lies in its range: what the
        window lets a market whose price is its value meet (None for a target without
        a range or without a figure of the value's: not a fact of returns, or not
        measured). A failing target the value itself misses is one the window is too
        short to judge, or a fact the value's own process lacks and the traders did
        not add."""
        if self.value_values is None:
            return [None] * len(self.targets)
        passes = in_range(self.value_values, self.targets)
        return [
            int(passes[i].sum())
            if target.range and not np.all(np.isnan(self.value_values[i]))
            else None
            for i, target in enumerate(self.targets)
        ]

    def value_failures(self) -> list[str]:
        """The labels of the failing targets that the fair value's own path fails too
        (``value_passed`` under the seeds needed)."""
        table = self.table()
        return [
            str(row["target"])
            for row in table.to_dict("records")
            if row["ok"] is False
            and row["value_passed"] is not None
            and row["value_passed"] < row["needed"]
        ]

    def returns(self, target: Target) -> int | None:
        """How many horizon returns a market target's window holds (None for the other
        figures and for spread, depth and mispricing). The sampling noise of a fact
        grows as this shrinks: a lag-1 autocorrelation of n iid returns has a
        standard error of about 1 / sqrt(n), so 144 five-minute returns (twelve
        hours) put an iid series outside +-0.1 in about a quarter of the seeds."""
        if target.kind != "market" or target.fact in STEP_FACTS:
            return None
        dt = self.scenario.clock.dt
        start, end = target.window or self.scenario.quiet_span()
        end = min(end, self.scenario.clock.duration)
        steps = math.ceil(end / dt - 1e-9) - math.ceil(start / dt - 1e-9)
        return max(0, (steps - 1) // round(target.horizon / dt))

    def labels(self) -> list[str]:
        """Each target's label, in order (its instrument the scenario's first if unnamed)."""
        first = self.scenario.instruments[0].name
        return [t.label(t.instrument or first) for t in self.targets]

    def table(self) -> pd.DataFrame:
        """One row per target: label, fact, instrument, horizon, returns (in the window,
        see ``returns``), low, high, one column per seed (``seed 0`` ...), mean, passed
        (seeds), needed (seeds), ok (True, False, or None for a target without a range),
        below and above (the seeds whose figure lies under the range's low bound, and
        over its high one: which side a target misses on; None without a range),
        missing (the seeds without a figure: a failed run, a window with too few
        returns), value_passed (``value_passed``)."""
        first = self.scenario.instruments[0].name
        labels = self.labels()
        passes = self.passes()
        value_passed = self.value_passed()
        rows = []
        for i, target in enumerate(self.targets):
            instrument = target.instrument or first
            low, high = target.range if target.range else (math.nan, math.nan)
            row: dict[str, Any] = {
                "target": labels[i],
                "fact": target.fact,
                "instrument": instrument,
                "horizon": target.horizon if target.kind == "market" else math.nan,
                "returns": self.returns(target),
                "low": low,
                "high": high,
            }
            for k, seed in enumerate(self.seeds):
                row[f"seed {seed}"] = self.values[i, k]
            known = self.values[i][~np.isnan(self.values[i])]
            row["mean"] = float(known.mean()) if len(known) else math.nan
            row["passed"] = int(passes[i].sum())
            row["needed"] = needed_passes(target.share, len(self.seeds))
            row["ok"] = bool(row["passed"] >= row["needed"]) if target.range else None
            below, above = _outside(self.values[i], target)
            row["below"] = below
            row["above"] = above
            row["missing"] = int(np.isnan(self.values[i]).sum())
            rows.append(row)
        out = pd.DataFrame(rows)
        # Counts and None: object columns, not floats with NaN.
        for column in ("below", "above"):
            out[column] = pd.Series([row[column] for row in rows], index=out.index, dtype=object)
        out["value_passed"] = pd.Series(value_passed, index=out.index, dtype=object)
        return out

    @property
    def passed(self) -> bool:
        """Every target with a range passed (and every run finished)."""
        table = self.table()
        return bool(all(ok is not False for ok in table["ok"])) and not any(self.errors)

    def failures(self) -> list[str]:
        """The labels of the targets that failed."""
        table = self.table()
        return [str(t) for t, ok in zip(table["target"], table["ok"], strict=True) if ok is False]

    def pass_rates(self, confidence: float = 0.95) -> pd.DataFrame:
        """How sure each verdict is (``deleverage.calibration.pass_rate``), one row per
        target with a range: target, passed, seeds, share, rate_low and rate_high (the
        exact interval of its pass rate at ``confidence``), p_short (how often a world
        passing in exactly ``share`` of all seeds passes in this few or fewer), ok."""
        rows = [row for row in self._rates(confidence) if row is not None]
        columns = ["target", "passed", "seeds", "share", "rate_low", "rate_high", "p_short", "ok"]
        return pd.DataFrame(rows, columns=columns)

    def _rates(self, confidence: float) -> list[dict[str, Any] | None]:
        """``pass_rates``' rows, one per target (None for a target without a range)."""
        labels = self.labels()
        passes = self.passes().sum(axis=1)
        n = len(self.seeds)
        rows: list[dict[str, Any] | None] = []
        for i, target in enumerate(self.targets):
            if not target.range:
                rows.append(None)
                continue
            passed = int(passes[i])
            low, high = pass_rate_interval(passed, n, confidence)
            rows.append(
                {
                    "target": labels[i],
                    "passed": passed,
                    "seeds": n,
                    "share": target.share,
                    "rate_low": low,
                    "rate_high": high,
                    "p_short": shortfall_p_value(passed, n, target.share),
                    "ok": passed >= needed_passes(target.share, n),
                }
            )
        return rows

    def failures_within_chance(self, level: float = 0.05) -> list[str]:
        """The failing targets whose shortfall could be the seeds' luck: a world passing
        in exactly the share asked for would pass in as few seeds at least ``level`` (in
        (0, 1)) of the time (``pass_rates``' p_short). More seeds decide them."""
        level = check_float("level", level, 0.0, 1.0, lo_open=True, hi_open=True)
        return _within_chance(self._rates(0.95), level)

    def drivers(
        self, target: str | None = None, *, level: float = 0.05, top: int = 3
    ) -> pd.DataFrame:
        """What a target's figures over the seeds move with (``deleverage.calibration.
        drivers``): the other targets whose figures follow it, with Pearson's ``r``, its
        Bonferroni-adjusted ``p`` (under ``level``), the target's line on the driver and
        ``driver_low`` / ``driver_high``, the driver's values at which that line puts the
        target in its range; the ``top`` closest per target. ``target``: a label of the
        table (default: every failing target)."""
        labels = self.labels()
        if target is None:
            failing = set(self.failures())
            which = [i for i, label in enumerate(labels) if label in failing]
        elif target in labels:
            which = [labels.index(target)]
        else:
            raise ValueError(f"target: must be one of {', '.join(labels)}, got {target!r}")
        ranges = [t.range or None for t in self.targets]
        return target_drivers(self.values, labels, ranges, which, level=level, top=top)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: strict JSON, with NaN and +-inf (an open range bound, a
        fair value that never moves) as null."""

        def clean(x: Any) -> Any:
            if isinstance(x, (np.floating, np.integer)):
                return clean(x.item())
            if isinstance(x, float) and not math.isfinite(x):
                return None
            return x

        table = self.table()
        rates = self._rates(0.95)
        targets = []
        for i, row in enumerate(table.to_dict("records")):
            rate = rates[i]
            targets.append(
                {
                    "target": row["target"],
                    "fact": row["fact"],
                    "instrument": row["instrument"],
                    "horizon": clean(row["horizon"]),
                    "returns": self.returns(self.targets[i]),
                    "range": [clean(b) for b in self.targets[i].range] or None,
                    "share": self.targets[i].share,
                    "values": [clean(float(v)) for v in self.values[i]],
                    "mean": clean(row["mean"]),
                    "passed": row["passed"],
                    "needed": row["needed"],
                    "ok": row["ok"],
                    "below": row["below"],
                    "above": row["above"],
                    "missing": row["missing"],
                    "value_values": None
                    if self.value_values is None
                    else [clean(float(v)) for v in self.value_values[i]],
                    "value_passed": row["value_passed"],
                    "pass_rate": None if rate is None else [rate["rate_low"], rate["rate_high"]],
                    "p_short": None if rate is None else rate["p_short"],
                }
            )
        return {
            "scenario": self.scenario.name,
            "accounts": self.scenario.total_accounts,
            "seeds": list(self.seeds),
            "passed": self.passed,
            "failures": self.failures(),
            "value_failures": self.value_failures(),
            "failures_within_chance": _within_chance(rates, 0.05),
            "errors": list(self.errors),
            "targets": targets,
            "wall_seconds": self.wall_seconds,
            "reused": self.reused,
            "drivers": [
                {k: clean(v) for k, v in row.items()} for row in self.drivers().to_dict("records")
            ],
        }


def _outside(values: np.ndarray, target: Target) -> tuple[int | None, int | None]:
    """The seeds whose figure lies under ``target``'s range and over it (NaN is
    neither: it has no side); (None, None) for a target without a range."""
    if not target.range:
        return None, None
    low, high = target.range
    with np.errstate(invalid="ignore"):
        return int((values < low).sum()), int((values > high).sum())


def _within_chance(rates: list[dict[str, Any] | None], level: float) -> list[str]:
    """The failing targets among ``Validation._rates``' rows whose p_short is at least
    ``level``."""
    return [
        str(row["target"])
        for row in rates
        if row is not None and row["ok"] is False and row["p_short"] >= level
    ]


def validate(
    scenario: Scenario,
    seeds: int | Sequence[int] = 8,
    *,
    scale: float | None = None,
    keep_accounts_below: int = 0,
    targets: Sequence[Target] | None = None,
    executor: Any = None,
    workers: int | None = None,
    progress: bool | None = None,
    security: Any = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> Validation:
    """Run ``scenario`` on ``seeds`` (a count n: seeds 0..n-1) and check its targets.

    scale: run ``scenario.scaled(scale)`` instead (a quick check of a big world).
    keep_accounts_below: populations of fewer accounts keep them all when scaled
    (``Scenario.scaled``); only with ``scale``.
    targets: check these instead of the scenario's own. executor, workers, security:
    as for ``sweep`` (threads by default; a process pool; a Dask client or address,
    with its TLS settings).
    out: a folder where each seed's figures are stored as its run finishes
    (``validation-runs.jsonl``, flushed line by line), so a validation stopped at any
    moment loses only the runs still going. resume: reuse the runs ``out`` holds of
    the same validation (the same scenario at the same scale, the same targets, the
    same engine) and run only the seeds it lacks: more seeds for a verdict the seeds
    so far leave open (``failures_within_chance``) cost only the new ones.
    """
    start = time.perf_counter()
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    seed_tuple = seed_list(seeds)
    if scale is not None:
        scale = check_float("scale", scale, 0.0, 1e3, lo_open=True)
        scenario = scenario.scaled(scale, keep_accounts_below=keep_accounts_below)
    elif keep_accounts_below != 0:
        raise ValueError("keep_accounts_below: only applies with scale, which is not given")
    chosen = tuple(scenario.targets if targets is None else targets)
    if not chosen:
        raise ValueError(
            f"targets: scenario {scenario.name!r} declares no [[targets]] and none were given"
        )
    if targets is not None:
        scenario = scenario.replace(targets=chosen)  # checks them against the scenario
    check_figures(scenario, chosen)
    if not isinstance(resume, bool):
        raise TypeError(f"resume: must be a bool, got {type(resume).__name__}")
    if resume and out is None:
        raise ValueError("resume: needs out, the folder of the stored runs")
    values = np.full((len(chosen), len(seed_tuple)), math.nan)
    value_values = np.full_like(values, math.nan)
    errors: list[str | None] = [None] * len(seed_tuple)
    store = None if out is None else EvaluationStore(out, kind="validation")
    stored = {} if store is None else store.open(run_digest(scenario, chosen), resume)
    try:
        wanted = []
        for k, s in enumerate(seed_tuple):
            row = stored.get(("validate", -1, s))
            if row is None:
                wanted.append(k)
                continue
            values[:, k] = row["values"]
            value_values[:, k] = row["value_values"]
            errors[k] = row["error"]
        bar = Progress(len(wanted), 0, progress, desc=f"validate {scenario.name}")

        def done(output: FactsOutput) -> None:
            k = output.key[0]
            values[:, k] = output.values
            if output.value_figures is not None:
                value_values[:, k] = output.value_figures
            errors[k] = output.error
            if store is not None:
                store.append(
                    {
                        "stage": "validate",
                        "trial": -1,
                        "seed": seed_tuple[k],
                        "values": output.values,
                        "value_values": value_values[:, k].tolist(),
                        "error": output.error,
                        "wall_seconds": output.wall_seconds,
                    }
                )
            bar.update(output.error is not None)

        tasks = (
            FactsTask(scenario, seed_tuple[k], chosen, key=(k,), value_figures=True) for k in wanted
        )
        try:
            run_tasks(tasks, done, executor=executor, workers=workers, security=security)
        finally:
            bar.close()
    finally:
        if store is not None:
            store.close()
    wall = time.perf_counter() - start
    reused = len(seed_tuple) - len(wanted)
    return Validation(
        scenario, seed_tuple, chosen, values, tuple(errors), wall, value_values, reused
    )


def _unnoted(item: Any) -> Any:
    """A target or a population change with its note cleared: text no run reads."""
    return dataclasses.replace(item, note="")


def _without_free_text(scenario: Scenario) -> Scenario:
    """The scenario with its description and every note cleared."""
    populations = tuple(
        dataclasses.replace(p, changes=tuple(map(_unnoted, p.changes)))
        for p in scenario.populations
    )
    return scenario.replace(
        description="", targets=tuple(map(_unnoted, scenario.targets)), populations=populations
    )


def run_digest(scenario: Scenario, targets: Sequence[Target]) -> str:
    """What a validation's stored runs must match to be reused: the scenario as run
    (after any scaling) and the contents of the data files it names, its targets, and
    the engine (the package's version and the bytes of its compiled core, so a
    rebuilt engine never reuses an older one's runs). The seeds are not in it: that is
    what a resumed validation adds. Nor is free text (the scenario's description, the
    notes of its targets and of its populations' changes): a world that became a
    preset with a new note resumes the runs it made before."""
    from deleverage import __version__, _core
    from deleverage.data.files import data_files

    scenario = _without_free_text(scenario)
    targets = [_unnoted(t) for t in targets]

    def contents(path: str | os.PathLike[str]) -> str:
        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return "unreadable"  # the run itself says why

    description = {
        "scenario": to_toml_str(scenario),
        "data": {name: contents(name) for name in data_files(scenario)},
        "targets": [repr(t) for t in targets],
        "version": __version__,
        "core": contents(_core.__file__),
    }
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
