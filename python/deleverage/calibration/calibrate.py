"""``calibrate(spec)``: the simulated method of moments over a scenario's parameters.

The search, step by step:

1. the base scenario (the spec's, unchanged) runs on every seed: the fit
   before, and each target's spread across seeds, which standardises the loss;
2. the optimiser (optuna: TPE by default, CMA-ES or random) proposes
   ``batch`` candidates at a time; every candidate runs on the same seeds
   (common random numbers: candidates differ only by their parameters) at the
   search's scale, in parallel through the sweep executors;
3. a candidate's loss is ``sum w_i (d_i / s_i)^2 / sum w_i`` over the targets,
   with ``d_i`` the distance of the seed-averaged figure from target ``i``
   (from its ``value``, or outside its range) and ``s_i`` the base's spread
   of that figure across seeds (robust to one wild seed; with ``loss = "seeds"``, a range target
   averages each seed's squared distance instead: every seed is pulled into
   the range); a candidate with a failed run gets a loss of ``FAILED_LOSS``
   and a NaN figure a distance of ``NAN_DISTANCE`` spreads;
4. the best few candidates (and the base) run again at the final scale, and
   the best there is the answer. "Best" is the least loss, or with
   ``select = "met"`` the most targets met in their share of the seeds (as
   ``validate`` counts them), or with ``select = "likely"`` the most targets
   the world is likely to meet given its seeds (a count that a lucky 7 of 8
   does not inflate), ties broken by the loss: the loss rewards being near
   every target, ``validate`` asks for each inside its range.

Proposals are made in fixed batches and told back in trial order, so the
trials depend only on the spec (never on the executor, the number of workers
or the order runs finish in): threads, processes and Dask give the same
trials, and ``resume`` replays the optimiser from the stored evaluations,
running only the runs that are missing.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deleverage.calibration.evaluate import FactsOutput, FactsTask
from deleverage.calibration.pass_rate import share_met_probability
from deleverage.calibration.runner import run_tasks
from deleverage.calibration.spec import CalibrationSpec, Parameter, load_calibration
from deleverage.calibration.store import EvaluationStore, Key
from deleverage.calibration.validate import in_range, needed_passes
from deleverage.scenario import Scenario, save_toml
from deleverage.sweeps.executors import make_backend
from deleverage.sweeps.paths import apply_paths
from deleverage.sweeps.progress import Progress
from deleverage.sweeps.task import error_text

__all__ = [
    "FAILED_LOSS",
    "NAN_DISTANCE",
    "Calibration",
    "calibrate",
    "loss_of",
    "targets_likely",
    "targets_met",
]

#: The loss of a candidate one of whose runs failed.
FAILED_LOSS = 1e7
#: The standardised distance of a figure that is NaN on every seed.
NAN_DISTANCE = 1e3
#: The spread used for a target whose base spread is 0 or NaN: this share of
#: its aim's size (or 1e-6 when the aim is 0).
SPREAD_FLOOR = 0.1


#: Median absolute deviation to standard deviation, for a normal sample.
MAD_TO_SD = 1.4826


def spreads_of(values: np.ndarray, spec: CalibrationSpec) -> np.ndarray:
    """Each target's spread across seeds: the standard deviation (ddof=1), or from
    three seeds on the smaller of it and the scaled median absolute deviation, so
    one wild seed of the base does not make every candidate's distance from that
    target look small."""
    out = np.empty(len(spec.targets))
    for i, target in enumerate(spec.targets):
        v = values[i][np.isfinite(values[i])]
        sd = float(np.std(v, ddof=1)) if len(v) >= 2 else math.nan
        if len(v) >= 3:
            mad = MAD_TO_SD * float(np.median(np.abs(v - np.median(v))))
            if mad > 0:
                sd = min(sd, mad)
        if not (sd > 0 and math.isfinite(sd)):
            aim = target.aim
            sd = SPREAD_FLOOR * abs(aim) if math.isfinite(aim) and aim != 0 else 1e-6
        out[i] = sd
    return out


def loss_of(values: np.ndarray, spreads: np.ndarray, spec: CalibrationSpec) -> float:
    """The weighted mean of squared standardised distances from the targets (``values``:
    targets x seeds).

    ``spec.loss == "mean"``: of each target's seed mean. ``"seeds"``: a target with a
    range (and no ``value``) takes the mean over seeds of each seed's squared distance
    (a seed's NaN or infinite figure counting ``NAN_DISTANCE``), so the search is
    rewarded for putting every seed in the range, as ``validate`` asks, not just their
    average; value targets stay on the seed mean.
    """
    total, weights = 0.0, 0.0
    for i, target in enumerate(spec.targets):
        row = values[i]
        finite = row[np.isfinite(row)]
        if spec.loss == "seeds" and target.value is None:
            d = np.array(
                [target.distance(x) / spreads[i] if math.isfinite(x) else NAN_DISTANCE for x in row]
            )
            term = float(np.mean(np.minimum(d, NAN_DISTANCE) ** 2))
        else:
            d_mean = (
                target.distance(float(finite.mean())) / spreads[i] if len(finite) else NAN_DISTANCE
            )
            term = min(d_mean, NAN_DISTANCE) ** 2
        total += target.weight * term
        weights += target.weight
    return total / weights


def targets_met(values: np.ndarray, spec: CalibrationSpec) -> int:
    """How many of the targets with a range a candidate meets (``values``: targets x
    seeds): its figure in the range in at least the target's share of the seeds, as
    ``validate`` counts them (a NaN figure is outside)."""
    inside = in_range(values, spec.targets).sum(axis=1)
    need = [needed_passes(t.share, values.shape[1]) for t in spec.targets]
    return sum(
        bool(t.range) and int(n) >= k for t, n, k in zip(spec.targets, inside, need, strict=True)
    )


def targets_likely(values: np.ndarray, spec: CalibrationSpec) -> float:
    """How many of the targets with a range a candidate is likely to meet (``values``:
    targets x seeds): the sum over them of the probability that the world's pass rate
    is at least the target's share, given the seeds in range (a uniform prior on the
    rate, ``pass_rate.share_met_probability``). 7 of 8 seeds counts 0.31 of a target,
    8 of 8 0.70, 28 of 32 0.40, 32 of 32 0.99 (for a share of 0.875)."""
    inside = in_range(values, spec.targets).sum(axis=1)
    seeds = values.shape[1]
    return float(
        sum(
            share_met_probability(int(n), seeds, t.share)
            for t, n in zip(spec.targets, inside, strict=True)
            if t.range
        )
    )


@dataclass(frozen=True)
class Candidate:
    """A set of free-parameter values and its runs (targets x seeds)."""

    trial: int
    params: dict[str, float]
    values: np.ndarray
    errors: list[str | None]
    wall_seconds: float

    @property
    def failed(self) -> bool:
        return any(e is not None for e in self.errors)


@dataclass(frozen=True)
class Calibration:
    """The outcome of a calibration.

    trials: one row per search trial (trial, each parameter, loss, targets met,
    targets likely met (``targets_likely``), failed runs, wall seconds, the
    seed-mean of every target's figure). The
    ``*_met`` fields count the targets with a range met in their share of the
    seeds, of ``ranged`` (``targets_met``). fit: one row per
    target (its aim and range, and the seed mean and spread of the base and of
    the best at the search's and the final scale). best_scenario: the base
    scenario (at its own size) with the best parameters.
    """

    spec: CalibrationSpec
    trials: pd.DataFrame
    fit: pd.DataFrame
    best_trial: int
    best_params: dict[str, float]
    best_scenario: Scenario
    base_loss: float
    best_loss: float
    base_final_loss: float
    best_final_loss: float
    ranged: int
    base_met: int
    best_met: int
    base_final_met: int
    best_final_met: int
    executed: int
    reused: int
    wall_seconds: float
    out: Path | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (NaN as None)."""

        def clean(x: Any) -> Any:
            if isinstance(x, (float, np.floating)) and not math.isfinite(float(x)):
                return None
            if isinstance(x, (np.floating, np.integer)):
                return x.item()
            return x

        return {
            "scenario": self.spec.scenario.name,
            "trials": len(self.trials),
            "seeds": list(self.spec.seeds),
            "scale": self.spec.scale,
            "final_scale": self.spec.final_scale,
            "best_trial": self.best_trial,
            "best_params": {k: clean(v) for k, v in self.best_params.items()},
            "base_loss": clean(self.base_loss),
            "best_loss": clean(self.best_loss),
            "base_final_loss": clean(self.base_final_loss),
            "best_final_loss": clean(self.best_final_loss),
            "select": self.spec.select,
            "ranged": self.ranged,
            "base_met": self.base_met,
            "best_met": self.best_met,
            "base_final_met": self.base_final_met,
            "best_final_met": self.best_final_met,
            "executed": self.executed,
            "reused": self.reused,
            "wall_seconds": self.wall_seconds,
            "out": None if self.out is None else str(self.out),
            "fit": [{k: clean(v) for k, v in row.items()} for row in self.fit.to_dict("records")],
        }


def _sampler(spec: CalibrationSpec) -> Any:
    import optuna

    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=spec.seed)
    if spec.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=spec.seed, n_startup_trials=spec.batch)
    return optuna.samplers.TPESampler(
        seed=spec.seed, multivariate=True, n_startup_trials=max(10, spec.batch)
    )


def _distribution(p: Parameter) -> Any:
    from optuna.distributions import FloatDistribution, IntDistribution

    if p.integer:
        return IntDistribution(int(p.low), int(p.high), log=p.log)
    return FloatDistribution(p.low, p.high, log=p.log)


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(before)


class _Runner:
    """Runs candidates' missing runs and keeps every run's line in the store."""

    def __init__(
        self,
        spec: CalibrationSpec,
        store: EvaluationStore,
        stored: dict[Key, dict[str, Any]],
        backend: Any,
        bar: Progress,
    ) -> None:
        self.spec = spec
        self.store = store
        self.stored = stored
        self.backend = backend
        self.bar = bar
        self.executed = 0
        self.reused = 0

    def run(
        self, stage: str, params: Mapping[int, dict[str, float]], scenario: Scenario
    ) -> dict[int, Candidate]:
        spec = self.spec
        n = len(spec.targets)
        rows: dict[Key, dict[str, Any]] = {}
        tasks: list[FactsTask] = []
        unrunnable: list[FactsOutput] = []
        for trial, values in params.items():
            error: str | None = None
            paths: dict[str, Any] = {}
            try:
                paths = spec.paths(values) if values else {}
            except ValueError as exc:  # a tied expression fails here: the candidate fails
                error = error_text(exc)
            for seed in spec.seeds:
                key: Key = (stage, trial, seed)
                row = self.stored.get(key)
                if row is not None:
                    if row["params"] != values:
                        raise ValueError(
                            f"out: the stored {stage} trial {trial} has parameters "
                            f"{row['params']}, the optimiser now proposes {values}: the "
                            "store holds a different calibration; use another folder"
                        )
                    rows[key] = row
                    self.reused += 1
                elif error is not None:
                    unrunnable.append(FactsOutput(key, [math.nan] * n, error, 0.0))
                else:
                    tasks.append(FactsTask(scenario, seed, spec.targets, paths, key))

        def done(output: FactsOutput) -> None:
            stage_, trial, seed = output.key
            row = {
                "stage": stage_,
                "trial": trial,
                "seed": seed,
                "params": params[trial],
                "values": output.values,
                "error": output.error,
                "wall_seconds": output.wall_seconds,
            }
            self.store.append(row)
            rows[output.key] = row
            self.executed += 1
            self.bar.update(output.error is not None)

        for output in unrunnable:
            done(output)
        run_tasks(tasks, done, backend=self.backend)
        out: dict[int, Candidate] = {}
        for trial, values in params.items():
            runs = [rows[(stage, trial, s)] for s in spec.seeds]
            matrix = np.array([r["values"] for r in runs], dtype=np.float64).reshape(
                len(spec.seeds), n
            )
            out[trial] = Candidate(
                trial,
                values,
                matrix.T,
                [r["error"] for r in runs],
                float(sum(r["wall_seconds"] for r in runs)),
            )
        return out


def _scaled(scenario: Scenario, scale: float, keep_accounts_below: int) -> Scenario:
    if scale == 1.0:
        return scenario
    return scenario.scaled(scale, keep_accounts_below=keep_accounts_below)


def _candidate_loss(c: Candidate, spreads: np.ndarray, spec: CalibrationSpec) -> float:
    return FAILED_LOSS if c.failed else loss_of(c.values, spreads, spec)


def calibrate(
    spec: CalibrationSpec | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    executor: Any = None,
    workers: int | None = None,
    progress: bool | None = None,
    callback: Callable[[int, float], None] | None = None,
    security: Any = None,
) -> Calibration:
    """Fit ``spec``'s free parameters to its targets (a ``CalibrationSpec`` or a spec file).

    out: the folder of the evaluations and the outputs (default: the spec's
    ``out``; None there too: a temporary folder, removed at the end).
    resume: continue the calibration stored in ``out`` (nothing is run twice).
    executor, workers, security: as for ``sweep``. progress: a bar of runs (None: on a terminal).
    callback: called with (trial, loss) after each search trial is told.
    Writes into ``out``: best.toml, trials.csv, fit.csv, summary.json and
    search.png beside the evaluations.
    """
    start = time.perf_counter()
    if not isinstance(spec, CalibrationSpec):
        spec = load_calibration(spec)
    if out is not None:
        spec = replace(spec, out=Path(out))
    tmp = tempfile.TemporaryDirectory(prefix="deleverage-calibrate-") if spec.out is None else None
    folder = Path(tmp.name) if tmp is not None else Path(spec.out)  # type: ignore[arg-type]
    try:
        store = EvaluationStore(folder)
        stored = store.open(spec.digest(), resume)  # holds the folder until closed
        try:
            result = _search(
                spec, folder, store, stored, executor, workers, security, progress, callback, start
            )
        finally:
            store.close()
    finally:
        if tmp is not None:
            tmp.cleanup()
    return result if tmp is None else replace(result, out=None)


def _search(
    spec: CalibrationSpec,
    folder: Path,
    store: EvaluationStore,
    stored: dict[Key, dict[str, Any]],
    executor: Any,
    workers: int | None,
    security: Any,
    progress: bool | None,
    callback: Callable[[int, float], None] | None,
    start: float,
) -> Calibration:
    import optuna

    rerun_final = spec.final_scale != spec.scale and spec.final_best > 0
    per = len(spec.seeds)
    total = per * (
        1 + spec.trials + ((min(spec.final_best, spec.trials) + 1) if rerun_final else 0)
    )
    done_before = sum(1 for k in stored if k[0] != "search" or k[1] < spec.trials)
    bar = Progress(total, min(done_before, total), progress, desc=f"calibrate {spec.scenario.name}")
    backend = make_backend(executor, workers, security)
    runner = _Runner(spec, store, stored, backend, bar)
    search_world = _scaled(spec.scenario, spec.scale, spec.keep_accounts_below)
    try:
        base = runner.run("base", {-1: {}}, search_world)[-1]
        if base.failed:
            raise ValueError(
                f"scenario: the base scenario fails to run: {next(e for e in base.errors if e)}"
            )
        spreads = spreads_of(base.values, spec)
        base_loss = loss_of(base.values, spreads, spec)

        distributions = {p.name: _distribution(p) for p in spec.parameters}
        candidates: dict[int, Candidate] = {}
        losses: dict[int, float] = {}
        met: dict[int, int] = {}
        likely: dict[int, float] = {}
        with _quiet_optuna():
            study = optuna.create_study(direction="minimize", sampler=_sampler(spec))
            for first in range(0, spec.trials, spec.batch):
                asked = [
                    study.ask(distributions) for _ in range(min(spec.batch, spec.trials - first))
                ]
                params = {t.number: dict(t.params) for t in asked}
                results = runner.run("search", params, search_world)
                for trial in asked:
                    c = results[trial.number]
                    candidates[trial.number] = c
                    losses[trial.number] = _candidate_loss(c, spreads, spec)
                    met[trial.number] = targets_met(c.values, spec)
                    likely[trial.number] = targets_likely(c.values, spec)
                    study.tell(trial, losses[trial.number])
                    if callback is not None:
                        callback(trial.number, losses[trial.number])

        ranked = sorted(
            (t for t in candidates if not candidates[t].failed),
            key=lambda t: _rank(spec, losses[t], met[t], likely[t], t),
        )
        if not ranked:
            raise ValueError("parameters: every candidate failed to run; see the store's errors")
        best_search = ranked[0]
        finals: dict[int, Candidate] = {}
        base_final, final_spreads = base, spreads
        if rerun_final:
            final_world = _scaled(spec.scenario, spec.final_scale, spec.keep_accounts_below)
            base_final = runner.run("base_final", {-1: {}}, final_world)[-1]
            final_spreads = spreads_of(base_final.values, spec)
            chosen = {t: candidates[t].params for t in ranked[: spec.final_best]}
            finals = runner.run("final", chosen, final_world)
            final_losses = {t: _candidate_loss(c, final_spreads, spec) for t, c in finals.items()}
            final_met = {t: targets_met(c.values, spec) for t, c in finals.items()}
            final_likely = {t: targets_likely(c.values, spec) for t, c in finals.items()}
            best = min(
                final_losses,
                key=lambda t: _rank(spec, final_losses[t], final_met[t], final_likely[t], t),
            )
            best_final_loss = final_losses[best]
        else:
            best = best_search
            finals = {best: candidates[best]}
            best_final_loss = losses[best]
        base_final_loss = loss_of(base_final.values, final_spreads, spec)
    finally:
        backend.close()
        bar.close()

    best_params = candidates[best].params
    best_scenario = apply_paths(spec.scenario, spec.paths(best_params))
    trials = _trials_table(spec, candidates, losses, met, likely)
    fit = _fit_table(spec, base, candidates[best], base_final, finals[best], rerun_final)
    result = Calibration(
        spec=spec,
        trials=trials,
        fit=fit,
        best_trial=best,
        best_params=best_params,
        best_scenario=best_scenario,
        base_loss=base_loss,
        best_loss=losses[best],
        base_final_loss=base_final_loss,
        best_final_loss=best_final_loss,
        ranged=sum(1 for t in spec.targets if t.range),
        base_met=targets_met(base.values, spec),
        best_met=met[best],
        base_final_met=targets_met(base_final.values, spec),
        best_final_met=targets_met(finals[best].values, spec),
        executed=runner.executed,
        reused=runner.reused,
        wall_seconds=time.perf_counter() - start,
        out=folder,
    )
    _write_outputs(result, folder)
    return result


def _rank(
    spec: CalibrationSpec, loss: float, met: int, likely: float, trial: int
) -> tuple[float, ...]:
    """Sort key of a candidate: least loss first, or most targets met (or likely met)
    first, ties by loss."""
    if spec.select == "met":
        return (-met, loss, trial)
    if spec.select == "likely":
        return (-likely, loss, trial)
    return (loss, trial)


def _labels(spec: CalibrationSpec) -> list[str]:
    first = spec.scenario.instruments[0].name
    labels = [t.label(t.instrument or first) for t in spec.targets]
    # Two targets may differ only by range or weight: keep every label unique.
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def _means(c: Candidate) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        return np.asarray(np.nanmean(c.values, axis=1))


def _spreads(c: Candidate) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return (
            np.nanstd(c.values, axis=1, ddof=1)
            if c.values.shape[1] > 1
            else np.full(c.values.shape[0], math.nan)
        )


def _trials_table(
    spec: CalibrationSpec,
    candidates: dict[int, Candidate],
    losses: dict[int, float],
    met: dict[int, int],
    likely: dict[int, float],
) -> pd.DataFrame:
    labels = _labels(spec)
    rows = []
    for t in sorted(candidates):
        c = candidates[t]
        row: dict[str, Any] = {"trial": t, **c.params, "loss": losses[t], "met": met[t]}
        row["likely"] = likely[t]
        row["failed_runs"] = sum(e is not None for e in c.errors)
        row["wall_seconds"] = c.wall_seconds
        row.update(zip(labels, _means(c).tolist(), strict=True))
        rows.append(row)
    return pd.DataFrame(rows)


def _fit_table(
    spec: CalibrationSpec,
    base: Candidate,
    best: Candidate,
    base_final: Candidate,
    best_final: Candidate,
    rerun_final: bool,
) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "target": _labels(spec),
            "aim": [t.aim for t in spec.targets],
            "low": [t.range[0] if t.range else math.nan for t in spec.targets],
            "high": [t.range[1] if t.range else math.nan for t in spec.targets],
            "weight": [t.weight for t in spec.targets],
            "base": _means(base),
            "base_spread": _spreads(base),
            "best": _means(best),
            "best_spread": _spreads(best),
        }
    )
    if rerun_final:
        table["base_final"] = _means(base_final)
        table["base_final_spread"] = _spreads(base_final)
        table["best_final"] = _means(best_final)
        table["best_final_spread"] = _spreads(best_final)
    return table


def _write_outputs(result: Calibration, folder: Path) -> None:
    save_toml(result.best_scenario, folder / "best.toml")
    result.trials.to_csv(folder / "trials.csv", index=False)
    result.fit.to_csv(folder / "fit.csv", index=False)
    text = json.dumps(result.to_dict(), indent=2)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")
    from deleverage.calibration.figure import search_figure

    search_figure(result, folder / "search.png")
