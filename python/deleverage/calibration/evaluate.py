"""One run's figures for a list of targets: the work item of ``validate`` and ``calibrate``.

A ``FactsTask`` is picklable (the base scenario, the dotted-path values to
apply, the seed, the targets), so threads, process pools and Dask workers run
the same module-level ``evaluate``; a run that fails comes back with its
``error`` set instead of raising, so one bad candidate never stops a search.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deleverage.scenario import Scenario, Target
from deleverage.scenario.targets import VALUE_FACTS
from deleverage.sweeps.paths import apply_paths
from deleverage.sweeps.task import error_text

if TYPE_CHECKING:
    from deleverage.result import Result

__all__ = [
    "FactsOutput",
    "FactsTask",
    "check_figures",
    "evaluate",
    "evaluate_all",
    "figure_names",
    "target_values",
]


#: The crash figures that are times (``CrashFigures.at`` and ``low_time``).
CRASH_TIMES = ("at", "low_time")


def figure_names(scenario: Scenario, kind: str, instrument: str) -> list[str]:
    """The keys a ``run``, ``episode`` or ``crash`` target may name, without running."""
    from deleverage.analysis.crash_day import CrashFigures
    from deleverage.analysis.episode import episode_metric_names
    from deleverage.sweeps.task import METRICS

    if kind == "run":
        return list(METRICS)
    if kind == "episode":
        return episode_metric_names(scenario, instrument)
    numbers = ("float", "int", float, int)
    # Times are figures too: seconds from the start, or a dated run's date-times,
    # which targets read as seconds from its start.
    return [
        f.name
        for f in dataclasses.fields(CrashFigures)
        if f.type in numbers or f.name in CRASH_TIMES
    ]


def check_figures(scenario: Scenario, targets: Sequence[Target], field: str = "targets") -> None:
    """Raise ValueError (naming ``field[i].fact`` and the valid keys) for a target naming
    a figure its kind does not have: found before any run, not after every run."""
    first = scenario.instruments[0].name
    for i, target in enumerate(targets):
        if target.kind == "market":
            continue
        known = figure_names(scenario, target.kind, target.instrument or first)
        if target.key not in known:
            raise ValueError(
                f"{field}[{i}].fact: {target.fact!r} is not a {target.kind} figure; "
                f"known: {', '.join(known)}"
            )


def _market_value(
    result: Result,
    target: Target,
    instrument: str,
    cache: dict[tuple[Any, ...], dict[str, float]],
    of: str,
) -> float:
    from deleverage.analysis.market_facts import market_facts

    window = target.window or None
    key = (instrument, window, target.horizon)
    if key not in cache:
        frame = market_facts(
            result, instrument=instrument, window=window, horizons=[target.horizon], of=of
        )
        cache[key] = {str(k): float(v) for k, v in frame.iloc[0].items()}
    return float(cache[key][target.fact])


def _figure(figures: dict[str, Any], target: Target, source: str) -> float:
    if target.key not in figures:
        known = ", ".join(k for k, v in figures.items() if isinstance(v, (int, float)))
        raise ValueError(f"fact: {target.fact!r} is not a figure of {source}; known: {known}")
    value = figures[target.key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"fact: {target.fact!r} is not a number ({type(value).__name__})")
    return float(value)


def _seconds_from_start(result: Result, figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` with a dated run's times (Timestamps) as seconds from its start, the
    unit targets are written in."""
    import datetime

    from deleverage.dates import run_start, time_seconds

    start = run_start(result)
    if start is None:
        return figures
    return {
        k: time_seconds(v, start, k) if isinstance(v, datetime.datetime) else v
        for k, v in figures.items()
    }


def target_values(result: Result, targets: Sequence[Target], *, of: str = "price") -> list[float]:
    """The figure of ``result`` each target names, in order (NaN where a window holds
    too few returns); a fact that does not exist raises ValueError naming it. Of this
    run alone: ``evaluate`` takes off a counterfactual's figure (``Target.against``).

    of: ``"price"``, or ``"value"``: each market target of a fact of returns
    (``VALUE_FACTS``) measured on the fair value's own path instead, in its window
    at its horizon; NaN for every other target (the value has no spread, no
    mispricing, no crash of its own to measure)."""
    from deleverage.analysis import crash_figures, episode_metrics
    from deleverage.analysis.market_facts import check_of

    first = result.scenario.instruments[0].name
    cache: dict[tuple[Any, ...], dict[str, float]] = {}
    if check_of(of) == "value":
        return [
            _market_value(result, t, t.instrument or first, cache, of)
            if t.kind == "market" and t.fact in VALUE_FACTS and not t.against
            else math.nan
            for t in targets
        ]
    figures: dict[tuple[Any, ...], dict[str, Any]] = {}
    out: list[float] = []
    for target in targets:
        instrument = target.instrument or first
        kind = target.kind
        if kind == "market":
            out.append(_market_value(result, target, instrument, cache, of))
            continue
        at = target.window[0] if target.window else None
        key = (kind, instrument, at)
        if key not in figures:
            if kind == "run":
                figures[key] = dict(result.metrics(instrument))
                figures[key].pop("wall_seconds", None)  # not a figure of the market
            elif kind == "episode":
                figures[key] = episode_metrics(result, instrument)
            else:
                figures[key] = _seconds_from_start(
                    result, dataclasses.asdict(crash_figures(result, instrument=instrument, at=at))
                )
        out.append(_figure(figures[key], target, f"{kind} ({instrument})"))
    return out


@dataclass(frozen=True)
class FactsTask:
    """One run: ``scenario`` with ``values`` (dotted paths) applied, at ``seed``.

    ``key`` identifies the run to the caller (a trial and a seed, say);
    ``value_figures``: also measure each target on the fair value's own path
    (``target_values(..., of="value")``)."""

    scenario: Scenario
    seed: int
    targets: tuple[Target, ...]
    values: dict[str, Any] = field(default_factory=dict)
    key: tuple[Any, ...] = ()
    value_figures: bool = False


@dataclass(frozen=True)
class FactsOutput:
    """The figures of one run (NaN for all of them if it failed, with ``error`` set);
    ``value_figures``: the same targets on the fair value's own path, when asked for."""

    key: tuple[Any, ...]
    values: list[float]
    error: str | None
    wall_seconds: float
    value_figures: list[float] | None = None


def _figures(
    scenario: Scenario, seed: int, targets: Sequence[Target], value_figures: bool
) -> tuple[list[float], list[float] | None]:
    """The targets' figures of one seed's run (and, with ``value_figures``, of its
    fair value's path). A target measured ``against`` a cause has the same
    figure of the seed's world without that cause taken off: one more world per
    cause, run from a copy of this one where the two part only at a scheduled
    step (``deleverage.shared_steps``)."""
    from deleverage.counterfactuals import FACTORS
    from deleverage.result import Result
    from deleverage.shared_steps import run_worlds

    causes = list(dict.fromkeys(t.against for t in targets if t.against))
    worlds = [scenario, *(FACTORS[cause](scenario) for cause in causes)]
    values: list[float] = []
    of_value: list[float] | None = None
    taken_off: dict[int, float] = {}
    for k, sim, blocks, seconds in run_worlds(worlds, seed):
        result = Result.from_simulation(worlds[k], seed, sim, seconds, blocks=blocks)
        if k == 0:
            values = target_values(result, targets)
            of_value = target_values(result, targets, of="value") if value_figures else None
            continue
        which = [i for i, t in enumerate(targets) if t.against == causes[k - 1]]
        figures = target_values(result, [targets[i] for i in which])
        taken_off |= dict(zip(which, figures, strict=True))
    for i, base in taken_off.items():
        values[i] -= base
    return values, of_value


def evaluate(task: FactsTask) -> FactsOutput:
    """Run one task; a failure of the run (or of a figure) is returned, never raised."""
    start = time.perf_counter()
    nan = [math.nan] * len(task.targets)
    try:
        scenario = apply_paths(task.scenario, task.values)
        values, of_value = _figures(scenario, task.seed, task.targets, task.value_figures)
    except Exception as exc:
        wall = time.perf_counter() - start
        return FactsOutput(
            task.key, nan, error_text(exc), wall, list(nan) if task.value_figures else None
        )
    return FactsOutput(task.key, values, None, time.perf_counter() - start, of_value)


def evaluate_all(tasks: list[FactsTask]) -> list[FactsOutput]:
    """Several tasks in one call (one round trip to a remote worker)."""
    return [evaluate(t) for t in tasks]
